"""/report: a PDF of the patient's check-ins to bring to the clinic visit (bot/report.py
draws it). The last 30 or 90 days, from buttons; the notes only if the patient includes
them (off by default). Staff get the same report for one patient with
`/report <pseudonymous id>` (the id from /export), without the notes, recorded in /audit.

The PDF is drawn in a worker thread (asyncio.to_thread), so the bot keeps answering
everyone else meanwhile. Private chats only: the report is health data.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler

from bot import callbacks, export
from bot.chart import chart_labels
from bot.chat_filters import PRIVATE, in_private_chat
from bot.content import Language
from bot.menu import back_to_menu_row
from bot.painlog import Score, course_change
from bot.report import ReportCheckin, ReportData, ReportPeg, render_report, report_period
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language, services
from bot.staff import Guarded, staff_filter, staff_language

log = logging.getLogger(__name__)

REPORT_DAYS = (30, 90)
STAFF_DEFAULT_DAYS = 90


def choose_screen(lang: Language, notes: bool, intro: str | None = None) -> Screen:
    toggle = Button(lang.label("report.notes_on" if notes else "report.notes_off"), callbacks.report_options(not notes))
    periods = tuple(Button(lang.label(f"report.days_{days}"), callbacks.report(days, notes)) for days in REPORT_DAYS)
    text = lang.text("report.choose")
    if intro:
        text = f"{intro}\n\n{text}"
    return Screen(text, (periods, (toggle,), back_to_menu_row(lang)))


def screens(lang: Language):
    yield choose_screen(lang, False)
    yield choose_screen(lang, True, lang.text("report.others_are_staff_only"))
    yield Screen(lang.text("report.nothing", days=90), (back_to_menu_row(lang),))
    yield Screen(lang.text("report.consent_needed"), (back_to_menu_row(lang),))
    yield Screen(lang.text("report.staff_unknown", id="P-0123456789ab"))
    yield Screen(lang.text("report.staff_caption", id="P-0123456789ab", days=90))
    yield Screen(lang.text("report.staff_nothing", id="P-0123456789ab", days=90))
    yield Screen(lang.text("report.caption_notes", days=90))
    yield Screen(lang.text("report.caption", days=90))


def pdf_texts(lang: Language) -> dict[str, str]:
    return {key.removeprefix("report_pdf."): value for key, value in lang.ui.items() if key.startswith("report_pdf.")}


# -- making one ---------------------------------------------------------------------------------


async def gather(used: Services, user_id: int, days: int, include_notes: bool, lang: Language) -> ReportData | None:
    """What the report of the patient's last `days` days shows; None without check-ins in them."""
    storage = used.db()
    now = used.clock()
    reminder = await storage.reminder(user_id)
    zone = ZoneInfo(reminder.timezone if reminder else used.settings.clinic.timezone)
    first, last = report_period(now.astimezone(zone).date(), days)
    # From a week earlier: the 7-day average on the first days shown needs them; and for the
    # comparison, the week before the first session, whenever it was.
    sessions = await storage.sessions(user_id)
    since = now - timedelta(days=days + 8)
    if sessions:
        since = min(since, now - timedelta(days=(now.astimezone(zone).date() - sessions[0].day).days + 9))
    checkins = await storage.checkins(user_id, since=since)
    if not any(first <= checkin.created_at.astimezone(zone).date() <= last for checkin in checkins):
        return None
    scores = [Score(checkin.created_at, checkin.pain) for checkin in checkins]
    pegs = [answer for answer in await storage.peg_answers(user_id, since=now - timedelta(days=days + 1)) if answer.complete]
    patient = await storage.patient(user_id)
    return ReportData(
        first_name=patient.first_name if patient else "",
        first=first, last=last, zone=zone,
        checkins=[
            ReportCheckin(c.created_at, c.pain, c.interference, c.sleep, c.mood, c.note if include_notes else None)
            for c in checkins
        ],
        sessions=[(session.day, session.kind) for session in sessions],
        pegs=[ReportPeg(answer.created_at, answer.pain, answer.enjoyment, answer.activity) for answer in pegs],
        change=course_change(scores, sessions[0].day if sessions else None, zone, now),
        include_notes=include_notes,
        locale=lang.code,
    )


async def _make_pdf(data: ReportData, lang: Language, days: int) -> bytes:
    # Drawing two pages takes most of a second: in a thread, never on the event loop.
    return await asyncio.to_thread(render_report, data, pdf_texts(lang), chart_labels(lang, days))


# -- the patient's own --------------------------------------------------------------------------


async def report_command(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    if not await services(context).db().consent(update.effective_user.id):
        await send(update, Screen(lang.text("report.consent_needed"), (back_to_menu_row(lang),)))
        return
    # Someone who is not staff typed an id: their own report only, said plainly.
    intro = lang.text("report.others_are_staff_only") if context.args else None
    await send(update, choose_screen(lang, False, intro))


async def options_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await answer_query(update)
    await show(update, choose_screen(lang, context.match.group(1) == "1"))


async def report_tapped(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = language(context, update.effective_user)
    user_id = update.effective_user.id
    days, notes = int(context.match.group(1)), context.match.group(2) == "1"
    if not await used.db().consent(user_id):
        await answer_query(update)
        await show(update, Screen(lang.text("report.consent_needed"), (back_to_menu_row(lang),)))
        return
    await answer_query(update, lang.label("report.making"))
    data = await gather(used, user_id, days, notes, lang)
    if data is None:
        await send(update, Screen(lang.text("report.nothing", days=days), (back_to_menu_row(lang),)))
        return
    await update.effective_chat.send_chat_action(ChatAction.UPLOAD_DOCUMENT)
    pdf = await _make_pdf(data, lang, days)
    caption = lang.text("report.caption_notes" if notes else "report.caption", days=days)
    await update.effective_chat.send_document(
        InputFile(pdf, filename=lang.label("report.filename", date=data.last.isoformat())),
        caption=caption, parse_mode=ParseMode.HTML,
    )
    log.info("a patient made a %s-day report", days)  # no Telegram id in the log


# -- staff: one patient's -----------------------------------------------------------------------


async def staff_report_command(update: Update, context: CallbackContext) -> None:
    """/report P-1a2b3c4d5e6f [30|90]: the report of the patient /export names so."""
    used, lang = services(context), staff_language(context)
    wanted = context.args[0].strip()
    days = int(context.args[1]) if len(context.args) > 1 and context.args[1] in ("30", "90") else STAFF_DEFAULT_DAYS
    key = await used.db().pseudonym_key()
    user_id = next(
        (candidate for candidate in await used.db().consenting_patient_ids() if export.pseudonym(key, candidate) == wanted),
        None,
    )
    if user_id is None:
        await send(update, Screen(lang.text("report.staff_unknown", id=wanted[:40])))
        return
    await used.db().record_staff_report(update.effective_user.id, wanted, days, used.clock())
    data = await gather(used, user_id, days, False, lang)
    if data is None:
        await send(update, Screen(lang.text("report.staff_nothing", id=wanted, days=days)))
        return
    await update.effective_chat.send_chat_action(ChatAction.UPLOAD_DOCUMENT)
    pdf = await _make_pdf(data, lang, days)
    await update.effective_chat.send_document(
        InputFile(pdf, filename=lang.label("report.filename", date=data.last.isoformat())),
        caption=lang.text("report.staff_caption", id=wanted, days=days), parse_mode=ParseMode.HTML,
    )
    log.info("staff %s made a %s-day report of %s", update.effective_user.id, days, wanted)


def handlers(used: Services) -> list:
    return [
        # Staff with an id first; anyone else's /report (with or without one) is the patient's.
        CommandHandler("report", staff_report_command, filters=PRIVATE & staff_filter(used), has_args=True),
        CommandHandler("report", report_command, filters=PRIVATE),
        Guarded(CallbackQueryHandler(options_tapped, pattern=callbacks.REPORT_OPTIONS_PATTERN), in_private_chat),
        Guarded(CallbackQueryHandler(report_tapped, pattern=callbacks.REPORT_PATTERN), in_private_chat),
    ]
