"""The patient's data rights: read the notice, get a copy of their data, erase it."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date

from telegram import InputFile, Update
from telegram.error import TelegramError
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.content import Language
from bot.logs import pseudonymous
from bot.menu import back_to_menu_row
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language, patient_zone, services
from bot.storage import from_utc_text

log = logging.getLogger(__name__)


def privacy_screen(lang: Language, consented_on: str | None) -> Screen:
    """`consented_on`: the day the patient joined the check-in program, as `lang.date` writes it."""
    status = lang.text("privacy.status_in", since=consented_on) if consented_on else lang.text("privacy.status_out")
    return Screen(f"{lang.text('privacy.notice')}\n\n{status}\n\n{lang.text('privacy.rights')}", (back_to_menu_row(lang),))


def delete_screen(lang: Language) -> Screen:
    rows = ((Button(lang.label("privacy.delete_yes"), callbacks.DELETE_CONFIRM),), (Button(lang.label("privacy.delete_no"), callbacks.DELETE_CANCEL),))
    return Screen(lang.text("privacy.delete_ask"), rows)


def screens(lang: Language):
    yield privacy_screen(lang, lang.date(date(2026, 11, 21)))
    yield privacy_screen(lang, None)
    yield delete_screen(lang)


def export_csv(rows: dict[str, list[dict]], zone, lang: Language | None = None) -> bytes:
    """Everything stored about one patient as CSV: one block per table, a blank line between.

    Each block starts with a line naming the table, then its columns, headed in the
    patient's language (`mydata.*` texts); times stay in UTC (as stored) and check-ins get
    a local-time column too, for reading.
    """

    def heading(kind: str, name: str) -> str:
        return lang.ui.get(f"mydata.{kind}.{name}", name) if lang else name

    out = io.StringIO()
    writer = csv.writer(out)
    for table in sorted(rows, key=lambda name: (name != "patients", name)):
        records = rows[table]
        writer.writerow([f"# {heading('tables', table)}"])
        if not records:
            writer.writerow([])
            continue
        columns = list(records[0])
        if table == "checkins":
            columns.insert(columns.index("created_at") + 1, "created_at_local")
        writer.writerow([heading("columns", column) for column in columns])
        for record in records:
            if table == "checkins":
                record = dict(record, created_at_local=from_utc_text(record["created_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M"))
            writer.writerow(["" if record[column] is None else record[column] for column in columns])
        writer.writerow([])
    return out.getvalue().encode("utf-8")


async def privacy_command(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    consent = await services(context).db().consent(update.effective_user.id)
    since = None
    if consent:
        since = lang.date(from_utc_text(consent[1]).astimezone(await patient_zone(context, update.effective_user.id)).date())
    await send(update, privacy_screen(lang, since))


async def mydata_command(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    rows = await used.db().rows_of_patient(user_id)
    data = export_csv(rows, await patient_zone(context, user_id), lang)
    await update.effective_chat.send_document(
        InputFile(data, filename=lang.label("privacy.export_filename")), caption=lang.label("privacy.export_caption")
    )
    log.info("patient %s downloaded their data", await pseudonymous(used.db(), user_id))


async def delete_command(update: Update, context: CallbackContext) -> None:
    await send(update, delete_screen(language(context, update.effective_user)))


async def delete_answered(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    await answer_query(update)
    if context.match.group(1) == "no":
        await show(update, Screen(lang.text("privacy.delete_kept"), (back_to_menu_row(lang),)))
        return
    # The staff chat's messages about this patient's call-back requests hold their name and
    # phone: withdraw them first (the rows that find them go with the erasure).
    staff_lang = used.content.language(None)
    for chat_id, message_id in await used.db().callback_notices_of_patient(update.effective_user.id):
        try:
            await context.bot.edit_message_text(staff_lang.text("callback.withdrawn"), chat_id=chat_id, message_id=message_id)
        except TelegramError as error:
            log.warning("could not withdraw a call-back notice (%s)", type(error).__name__)
    who = await pseudonymous(used.db(), update.effective_user.id)
    deleted = await used.db().delete_patient(update.effective_user.id)
    log.info("patient %s erased their data (%s rows)", who, deleted)
    await show(update, Screen(lang.text("privacy.delete_done")))


def handlers(services: Services) -> list:
    return [
        CommandHandler("privacy", privacy_command, filters=PRIVATE),
        CommandHandler("mydata", mydata_command, filters=PRIVATE),
        CommandHandler("delete", delete_command, filters=PRIVATE),
        CallbackQueryHandler(delete_answered, pattern=callbacks.DELETE_PATTERN),
    ]
