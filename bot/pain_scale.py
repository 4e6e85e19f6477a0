"""The 0-10 pain buttons, shared by the check-in and the daily prompt: wherever they appear,
one tap on them is a whole check-in."""

from __future__ import annotations

from bot import callbacks
from bot.screens import Button


def score_rows() -> tuple[tuple[Button, ...], ...]:
    """0-10 as two rows that fit a phone's width: 0-5 and 6-10."""
    return (
        tuple(Button(str(pain), callbacks.score(pain)) for pain in range(0, 6)),
        tuple(Button(str(pain), callbacks.score(pain)) for pain in range(6, 11)),
    )
