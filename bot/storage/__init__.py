"""SQLite storage, one module per feature, sharing one connection, one write lock and one
list of migrations (bot/storage/migrations.py).

`Storage` is the one object the bot opens: it gathers each feature's queries, so a feature's
queries sit beside each other in its own module while handlers keep a single `storage`.
Every table that names a patient calls the column `user_id`: that convention is what lets
/delete find every row of the patient (bot/storage/patients.py).
"""

from __future__ import annotations

from bot.storage.awaiting import AwaitingQueries
from bot.storage.base import StorageBase, from_utc_text, prepare_file, utc_text
from bot.storage.broadcasts import AUDIENCES, OUTBOX_OUTCOMES, Broadcast, BroadcastQueries, BroadcastReport, OutboxItem
from bot.storage.callbacks import CallbackRequest, CallbackRequestQueries
from bot.storage.inbox import InboxQueries, PendingUpdate
from bot.storage.checkins import CHECKIN_ITEMS, Checkin, CheckinQueries
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.storage.patients import Patient, PatientQueries
from bot.storage.peg import PEG_ITEMS, PegAnswer, PegQueries
from bot.storage.reminders import Reminder, ReminderQueries
from bot.storage.reports import ReportQueries
from bot.storage.sessions import SESSION_KINDS, SessionQueries, TreatmentSession
from bot.storage.staff_reports import AuditEntry, ExportedCheckin, ExportedPatient, StaffReportQueries, StaffStats


class Storage(
    PatientQueries,
    CheckinQueries,
    ReminderQueries,
    AwaitingQueries,
    BroadcastQueries,
    CallbackRequestQueries,
    StaffReportQueries,
    InboxQueries,
    SessionQueries,
    PegQueries,
    ReportQueries,
    StorageBase,
):
    """The bot's storage: every feature's queries over the one shared connection."""


__all__ = [
    "AUDIENCES", "CHECKIN_ITEMS", "MIGRATIONS", "OUTBOX_OUTCOMES", "SCHEMA_VERSION",
    "AuditEntry", "Broadcast", "BroadcastReport", "CallbackRequest", "Checkin", "ExportedCheckin",
    "ExportedPatient", "OutboxItem", "Patient", "PendingUpdate", "Reminder", "StaffStats", "Storage",
    "from_utc_text", "prepare_file", "utc_text",
    "PEG_ITEMS", "SESSION_KINDS", "PegAnswer", "TreatmentSession",
]
