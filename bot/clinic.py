"""Sending the clinic's phone as a contact card: used by the contact flow and the safety net."""

from __future__ import annotations

from telegram import Update

from bot.config import Settings


async def send_contact_card(update: Update, settings: Settings) -> None:
    # A contact card puts "Call" one tap away; inline buttons cannot open tel: links.
    await update.effective_chat.send_contact(
        phone_number=settings.clinic.phone,
        first_name=settings.clinic.name[:64],
    )
