"""/export's files: check-ins as CSV, with a pseudonymous id per patient. Pure: no I/O.

A patient's id in the export is an HMAC of their Telegram id with a random key kept in the
database (`secrets`): the same patient has the same id in every export from this database,
and nobody without the database can turn it back into a Telegram account (a plain hash of
an id could be reversed by trying every id).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable, Sequence

PSEUDONYM_PREFIX = "P-"
PSEUDONYM_HEX_DIGITS = 12  # 48 bits: no collision in any clinic's number of patients

# A cell starting with one of these is a formula to spreadsheet programs; names come from
# Telegram accounts, so a name like "=HYPERLINK(...)" must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def pseudonym(key: bytes, user_id: int) -> str:
    digest = hmac.new(key, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_DIGITS]


def text_cell(value: str) -> str:
    """A text that a spreadsheet shows as text, never runs as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def number_cell(value: float | int | None, decimals: int | None = None) -> str:
    if value is None:
        return ""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return str(value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs read accented names right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")
