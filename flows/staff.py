"""Clinic staff: /broadcast, /stats, /export and /audit, for the user ids in `staff_ids` only.

Every handler here matches staff only (bot/staff.py); anyone else's /broadcast falls to the
fallback and is answered like any unknown command, a forged staff button like any stale one.
Staff commands work in a private chat with the bot, never in a group.

A broadcast goes: /broadcast → the message (a text, or a photo with a caption) → the
audience → a preview exactly as patients get it, with the recipients counted → Send or
Cancel. Its state lives in SQLite (`broadcasts`), so every button checks it: a Send tapped
twice, or on a discarded draft, is answered plainly and sends nothing. Send writes the
outbox and wakes the worker (bot/outbox.py), which this module starts and stops, and for
which it draws the progress message and the report.
"""

from __future__ import annotations

import logging
import re

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import callbacks, export
from bot.chat_filters import PRIVATE, AwaitingInput
from bot.content import Html, Language
from bot.outbox import BroadcastMessage, OutboxWorker, body_for_language, send_broadcast_message
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, services
from bot.staff import (
    Guarded,
    clinic_time,
    from_staff,
    staff_filter,
    staff_language,
)
from bot.storage import AUDIENCES, Broadcast, BroadcastReport, OutboxItem, Storage
from bot.telegram_html import MAX_CAPTION, MAX_MESSAGE, parse_html, telegram_length

log = logging.getLogger(__name__)

STAFF_COMMANDS = ["broadcast", "stats", "export", "audit"]
WORKER = "outbox_worker"  # its key in bot_data
AUDIT_ENTRIES_SHOWN = 20
BROADCASTS_IN_STATS = 5


# -- screens ------------------------------------------------------------------------------------


def _screen(lang: Language, key: str, buttons: tuple = (), **values: object) -> Screen:
    return Screen(lang.text(key, **values), buttons, origin=lang.text_origins.get(key, ""))


def audience_name(lang: Language, audience: str | None) -> str:
    return lang.label(f"broadcast.audience_{audience if audience in AUDIENCES else 'all'}")


def prompt_screen(lang: Language, broadcast_id: int, replaced: bool) -> Screen:
    text = lang.text("broadcast.prompt")
    if replaced:
        text = f"{lang.text('broadcast.replaced')}\n\n{text}"
    cancel = (Button(lang.label("broadcast.cancel_button"), callbacks.broadcast_discard(broadcast_id)),)
    return Screen(text, (cancel,), origin=lang.text_origins.get("broadcast.prompt", ""))


def audience_screen(
    lang: Language,
    broadcast_id: int,
    sizes: dict[str, int],
    languages: dict[str, Language] | None = None,
    versions: tuple[tuple[str, str], ...] = (),
) -> Screen:
    """Who gets it; with more than one language, a button to write each one's version.
    `languages`: the content's languages other than the default one, by code;
    `versions`: the broadcast's versions written so far."""
    written = dict(versions)
    version_rows = tuple(
        (Button(lang.label(_version_button_key(code in written), language=other.label("language.name")), callbacks.broadcast_version(broadcast_id, code)),)
        for code, other in (languages or {}).items()
    )
    rows = (
        (Button(lang.label("broadcast.audience_all_button", count=sizes["all"]), callbacks.broadcast_audience(broadcast_id, "all")),),
        (Button(lang.label("broadcast.audience_checkin_button", count=sizes["checkin"]), callbacks.broadcast_audience(broadcast_id, "checkin")),),
        *version_rows,
        (Button(lang.label("broadcast.cancel_button"), callbacks.broadcast_discard(broadcast_id)),),
    )
    screen = _screen(lang, "broadcast.audience_question", rows, all=sizes["all"], checkin=sizes["checkin"])
    if written:
        names = ", ".join(languages[code].label("language.name") for code in written if code in (languages or {}))
        line = lang.text("broadcast.versions", default=lang.label("language.name"), versions=names)
        screen = Screen(f"{line}\n\n{screen.text}", screen.buttons, origin=screen.origin)
    return screen


def _version_button_key(written: bool) -> str:
    return "broadcast.version_replace_button" if written else "broadcast.version_button"


def confirm_screen(lang: Language, broadcast_id: int, count: int, audience: str, paid: bool = False) -> Screen:
    rows = (
        (Button(lang.label("broadcast.send_button", count=count), callbacks.broadcast_send(broadcast_id)),),
        (Button(lang.label("broadcast.cancel_button"), callbacks.broadcast_discard(broadcast_id)),),
    )
    screen = _screen(lang, "broadcast.confirm", rows, count=count, audience=audience_name(lang, audience))
    if paid:  # broadcasts.paid: say what it costs before Send
        screen = Screen(f"{lang.text('broadcast.paid_cost')}\n\n{screen.text}", rows, origin=screen.origin)
    return screen


def progress_screen(lang: Language, report: BroadcastReport) -> Screen:
    broadcast = report.broadcast
    stop = (Button(lang.label("broadcast.stop_button"), callbacks.broadcast_stop(broadcast.id)),)
    return _screen(
        lang, "broadcast.progress", (stop,),
        id=broadcast.id, total=report.total, audience=audience_name(lang, broadcast.audience),
        sent=report.sent, blocked=report.blocked, failed=report.failed, pending=report.pending,
    )


def report_screen(lang: Language, report: BroadcastReport, by_language: dict[str, dict[str, int]] | None = None) -> Screen:
    """How it ended; with recipients in more than one language, a line for each."""
    broadcast = report.broadcast
    key = "broadcast.report_cancelled" if broadcast.state == "cancelled" else "broadcast.report_done"
    screen = _screen(
        lang, key, id=broadcast.id, audience=audience_name(lang, broadcast.audience),
        sent=report.sent, blocked=report.blocked, failed=report.failed,
        not_sent=report.skipped + report.cancelled + report.pending,
    )
    if by_language and len(by_language) > 1:
        lines = [
            lang.text("broadcast.report_language", language=name, sent=counts.get("sent", 0), total=sum(counts.values()))
            for name, counts in by_language.items()
        ]
        screen = Screen("\n".join([screen.text, "", *lines]), screen.buttons, origin=screen.origin)
    return screen


def broadcast_message(lang: Language, body_html: str, photo_file_id: str | None) -> BroadcastMessage:
    """What a patient gets: the staff member's message and, below it, how to stop updates.
    (A photo may come without a caption: then the footer is the whole caption.)"""
    parts = [part for part in (body_html.strip(), lang.text("broadcast.footer")) if part]
    return BroadcastMessage("\n\n".join(parts), photo_file_id)


def stats_screen(lang: Language, used: Services, stats, reports: list[BroadcastReport]) -> Screen:
    lines = [
        lang.text(
            "stats.broadcast_line",
            id=report.broadcast.id, when=clinic_time(report.broadcast.started_at, used),
            audience=audience_name(lang, report.broadcast.audience),
            state=lang.label(f"stats.state_{report.broadcast.state}"),
            sent=report.sent, blocked=report.blocked, failed=report.failed, total=report.total,
        )
        for report in reports
    ]
    return _screen(
        lang, "stats.text",
        patients=stats.patients, active_7=stats.active_7_days, active_30=stats.active_30_days,
        opted_out=stats.opted_out, blocked=stats.blocked, reminders_on=stats.reminders_on,
        checkins_7=stats.checkins_7_days, checkins_30=stats.checkins_30_days,
        open_callbacks=stats.open_callback_requests,
        broadcasts=Html("\n".join(lines) if lines else lang.text("stats.no_broadcasts")),
    )


def audit_screen(lang: Language, used: Services, entries) -> Screen:
    if not entries:
        return _screen(lang, "audit.empty")
    lines = [lang.text("audit.heading", count=len(entries))]
    for entry in entries:
        what = lang.text(f"audit.{entry.action}", subject=entry.subject, amount=entry.amount, pseudonym=entry.pseudonym or "")
        key = "audit.line" if entry.staff_name else "audit.line_unnamed"
        lines.append(
            lang.text(key, when=clinic_time(entry.at, used), staff_name=entry.staff_name, staff_id=entry.staff_id, what=Html(what))
        )
    return Screen("\n".join(lines), origin=lang.text_origins.get("audit.line", ""))


def screens(lang: Language):
    """Every kind of screen this flow shows, with long example values, for `bot check`."""
    example = Broadcast(
        id=999999, staff_id=1, state="cancelled", body_html="", photo_file_id=None, audience="checkin",
        recipients=100000, progress_message_id=1, created_at="2026-01-01T00:00:00Z",
        started_at="2026-01-01T00:00:00Z", finished_at=None,
    )
    report = BroadcastReport(example, pending=99999, sent=99999, blocked=99999, failed=99999, cancelled=99999)
    yield prompt_screen(lang, 999999, replaced=True)
    yield audience_screen(lang, 999999, {"all": 100000, "checkin": 100000})
    yield audience_screen(lang, 999999, {"all": 100000, "checkin": 100000}, {"zz": lang}, (("zz", "Hola"),))
    yield Screen(lang.text("broadcast.version_prompt", language=lang.label("language.name")))
    yield report_screen(lang, report, {"Alexandria-Marie": {"sent": 99999}, "Español": {"sent": 99999, "failed": 1}})
    yield confirm_screen(lang, 999999, 100000, "checkin")
    yield confirm_screen(lang, 999999, 100000, "checkin", paid=True)
    yield progress_screen(lang, report)
    yield report_screen(lang, report)
    yield report_screen(lang, BroadcastReport(Broadcast(**{**example.__dict__, "state": "done"}), sent=1))
    yield Screen(broadcast_message(lang, "", None).html, origin=lang.text_origins.get("broadcast.footer", ""))


# -- /broadcast: composing ---------------------------------------------------------------------


async def broadcast_command(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), staff_language(context)
    staff_id = update.effective_user.id
    message = update.effective_message
    if [word.lower() for word in context.args] == ["cancel"]:
        await _cancel_everything(update, context)
        return
    broadcast_id, replaced = await used.db().start_composing(staff_id, used.clock())
    # "/broadcast Our phones are down today": the rest of the message is the broadcast.
    written = re.sub(r"^/\w+(@\w+)?\s*", "", message.text_html or "", count=1)
    if written.strip():
        if replaced:
            await send(update, Screen(lang.text("broadcast.replaced")))
        await _take_message(update, context, broadcast_id, written, None)
        return
    await send(update, prompt_screen(lang, broadcast_id, replaced))


async def broadcast_message_received(update: Update, context: CallbackContext) -> None:
    """The staff member's next message after /broadcast: what patients will get."""
    used, lang = services(context), staff_language(context)
    message = update.effective_message
    broadcast = await used.db().composing_broadcast(update.effective_user.id)
    if broadcast is None:
        # Set aside meanwhile (another /broadcast, a Cancel): nothing waits for a message.
        await send(update, Screen(lang.text("broadcast.cancel_nothing")))
        return
    if broadcast.composing_language and (message.text or message.caption):
        await _take_version(update, context, broadcast, message.text_html if message.text else message.caption_html)
        return
    if message.photo and not broadcast.composing_language:
        await _take_message(update, context, broadcast.id, message.caption_html or "", message.photo[-1].file_id)
    elif message.text:
        await _take_message(update, context, broadcast.id, message.text_html, None)
    else:
        cancel = (Button(lang.label("broadcast.cancel_button"), callbacks.broadcast_discard(broadcast.id)),)
        await send(update, _screen(lang, "broadcast.unsupported", (cancel,)))


async def _take_message(update: Update, context: CallbackContext, broadcast_id: int, body_html: str, photo_file_id: str | None) -> None:
    used, lang = services(context), staff_language(context)
    # The longest footer of any language decides whether the message fits for everyone.
    length = max(
        telegram_length(parse_html(broadcast_message(language, body_html, photo_file_id).html)[0])
        for language in used.content.languages.values()
    )
    limit = MAX_CAPTION if photo_file_id else MAX_MESSAGE
    if length > limit:
        key = "broadcast.too_long_caption" if photo_file_id else "broadcast.too_long_text"
        cancel = (Button(lang.label("broadcast.cancel_button"), callbacks.broadcast_discard(broadcast_id)),)
        await send(update, _screen(lang, key, (cancel,), length=length, limit=limit))
        return
    if not await used.db().set_broadcast_message(broadcast_id, body_html, photo_file_id):
        await send(update, Screen(lang.text("broadcast.cancel_nothing")))
        return
    await _send_audience_screen(update, context, broadcast_id)


async def _send_audience_screen(update: Update, context: CallbackContext, broadcast_id: int) -> None:
    used, lang = services(context), staff_language(context)
    sizes = {audience: await used.db().audience_size(audience, used.settings.staff_ids) for audience in AUDIENCES}
    broadcast = await used.db().broadcast(broadcast_id)
    others = {code: other for code, other in used.content.languages.items() if code != used.content.default}
    await send(update, audience_screen(lang, broadcast_id, sizes, others, broadcast.versions if broadcast else ()))


# -- /broadcast: a version in another language ---------------------------------------------------


async def version_tapped(update: Update, context: CallbackContext) -> None:
    """Staff want to write the broadcast's text in another language (or write it again)."""
    used, lang = services(context), staff_language(context)
    broadcast_id, code = int(context.match.group(1)), context.match.group(2)
    broadcast = await _own_draft(update, context, broadcast_id)
    if broadcast is None:
        return
    if code not in used.content.languages or code == used.content.default:
        await answer_query(update, lang.label("toast.broadcast_version_unknown"), alert=True)
        return
    if not await used.db().start_composing_version(broadcast_id, code):
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    name = used.content.languages[code].label("language.name")
    cancel = (Button(lang.label("broadcast.cancel_button"), callbacks.broadcast_discard(broadcast_id)),)
    await send(update, _screen(lang, "broadcast.version_prompt", (cancel,), language=name))


async def _take_version(update: Update, context: CallbackContext, broadcast: Broadcast, body_html: str) -> None:
    used, lang = services(context), staff_language(context)
    code = broadcast.composing_language
    version_lang = used.content.language(code)
    length = telegram_length(parse_html(broadcast_message(version_lang, body_html, broadcast.photo_file_id).html)[0])
    limit = MAX_CAPTION if broadcast.photo_file_id else MAX_MESSAGE
    if length > limit:
        key = "broadcast.too_long_caption" if broadcast.photo_file_id else "broadcast.too_long_text"
        cancel = (Button(lang.label("broadcast.cancel_button"), callbacks.broadcast_discard(broadcast.id)),)
        await send(update, _screen(lang, key, (cancel,), length=length, limit=limit))
        return
    if not await used.db().set_broadcast_version(broadcast.id, code, body_html):
        await send(update, Screen(lang.text("broadcast.cancel_nothing")))
        return
    await _send_audience_screen(update, context, broadcast.id)


# -- /broadcast: buttons -------------------------------------------------------------------------


async def _own_draft(update: Update, context: CallbackContext, broadcast_id: int) -> Broadcast | None:
    """The tapper's own broadcast if it is still a draft; otherwise the tap is answered
    with what became of it, and None is returned."""
    lang = staff_language(context)
    broadcast = await services(context).db().broadcast(broadcast_id)
    if broadcast is None or broadcast.staff_id != update.effective_user.id:
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return None
    if broadcast.state != "draft":
        await answer_query(update, _state_toast(lang, broadcast), alert=True)
        return None
    return broadcast


def _state_toast(lang: Language, broadcast: Broadcast) -> str:
    """What became of a broadcast whose button was tapped too late."""
    if broadcast.state in ("sending", "done", "cancelled", "discarded"):
        return lang.label(f"toast.broadcast_already_{broadcast.state}")
    return lang.label("toast.out_of_date")  # a button that never belonged to this state


async def audience_tapped(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), staff_language(context)
    broadcast_id, audience = int(context.match.group(1)), context.match.group(2)
    broadcast = await _own_draft(update, context, broadcast_id)
    if broadcast is None:
        return
    count = await used.db().audience_size(audience, used.settings.staff_ids)
    if count == 0:
        await answer_query(update, lang.label("toast.broadcast_no_recipients"), alert=True)
        return
    await used.db().set_broadcast_audience(broadcast_id, audience)
    await answer_query(update)
    await show(update, _screen(lang, "broadcast.audience_chosen", audience=audience_name(lang, audience)))
    # Each version's preview goes through the very function the worker uses for patients;
    # with versions, each is headed by its language and how many patients get it.
    versions = dict(broadcast.versions)
    per_version: dict[str, int] = {}
    for stored, number in (await used.db().audience_languages(audience, used.settings.staff_ids)).items():
        code = used.content.language_code(stored)
        key = code if code in versions else used.content.default
        per_version[key] = per_version.get(key, 0) + number
    for code in [used.content.default, *versions]:
        version_lang = used.content.languages.get(code, lang)
        if versions:
            heading = "broadcast.version_heading_default" if code == used.content.default else "broadcast.version_heading"
            await send(update, _screen(lang, heading, language=version_lang.label("language.name"), count=per_version.get(code, 0)))
        await send_broadcast_message(
            context.bot, update.effective_chat.id,
            broadcast_message(version_lang, body_for_language(broadcast, code), broadcast.photo_file_id),
        )
    await send(update, confirm_screen(lang, broadcast_id, count, audience, paid=used.settings.broadcast_paid))


async def send_tapped(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), staff_language(context)
    broadcast = await _own_draft(update, context, int(context.match.group(1)))
    if broadcast is None:
        return
    message = update.callback_query.message
    recipients = await used.db().start_sending(broadcast.id, used.settings.staff_ids, message.message_id, used.clock())
    if recipients is None:
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update, lang.label("toast.broadcast_sending"))
    log.info("broadcast %s started by staff %s to %s patients", broadcast.id, broadcast.staff_id, recipients)
    # This message becomes the progress message the worker keeps up to date.
    report = await used.db().broadcast_report(broadcast.id)
    await show(update, progress_screen(lang, report))
    _worker(context).wake()


async def discard_tapped(update: Update, context: CallbackContext) -> None:
    lang = staff_language(context)
    broadcast_id = int(context.match.group(1))
    broadcast = await services(context).db().broadcast(broadcast_id)
    if broadcast is None or broadcast.staff_id != update.effective_user.id:
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    if not await services(context).db().discard_draft(broadcast_id):
        await answer_query(update, _state_toast(lang, broadcast), alert=True)
        return
    await answer_query(update)
    await show(update, _screen(lang, "broadcast.discarded"))


async def stop_tapped(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), staff_language(context)
    broadcast_id = int(context.match.group(1))
    if not await used.db().cancel_broadcast(broadcast_id, update.effective_user.id, used.clock()):
        await answer_query(update, lang.label("toast.broadcast_already_finished"), alert=True)
        return
    await answer_query(update, lang.label("toast.broadcast_stopping"))
    log.info("broadcast %s stopped by staff %s", broadcast_id, update.effective_user.id)
    await show(update, _screen(lang, "broadcast.stopping", id=broadcast_id))
    _worker(context).wake()


async def _cancel_everything(update: Update, context: CallbackContext) -> None:
    """`/broadcast cancel`: the sender's unsent draft, and every broadcast being sent (a
    colleague may stop a broadcast that should not go out; the audit log says who did)."""
    used, lang = services(context), staff_language(context)
    staff_id = update.effective_user.id
    lines = []
    if await used.db().discard_drafts(staff_id):
        lines.append(lang.text("broadcast.cancel_draft"))
    for broadcast in await used.db().sending_broadcasts():
        if await used.db().cancel_broadcast(broadcast.id, staff_id, used.clock()):
            log.info("broadcast %s stopped by staff %s", broadcast.id, staff_id)
            lines.append(lang.text("broadcast.cancel_sending", id=broadcast.id))
    if not lines:
        lines.append(lang.text("broadcast.cancel_nothing"))
    await send(update, Screen("\n".join(lines)))
    _worker(context).wake()


def _worker(context: CallbackContext) -> OutboxWorker:
    return context.bot_data[WORKER]


class StaffBroadcastScreens:
    """How the worker's broadcasts look: to patients, and to the staff member who sent it."""

    def __init__(self, used: Services) -> None:
        self.services = used

    def message_for(self, item: OutboxItem) -> BroadcastMessage:
        lang = self.services.content.language(item.language)
        return broadcast_message(lang, body_for_language(item.broadcast, lang.code), item.broadcast.photo_file_id)

    async def show_progress(self, bot, report: BroadcastReport) -> None:
        await self._edit_progress(bot, report, progress_screen(self._lang(), report))

    async def show_report(self, bot, report: BroadcastReport) -> None:
        lang = self._lang()
        finished = _screen(lang, "broadcast.finished", id=report.broadcast.id)
        try:
            await self._edit_progress(bot, report, finished)
        except TelegramError as error:
            # The progress message is gone (deleted, say): the report below must still go.
            log.warning("broadcast %s: could not update the progress message (%s)", report.broadcast.id, type(error).__name__)
        # A new message, so the sender is notified when a long broadcast is over.
        screen = report_screen(lang, report, await self._by_language(report))
        await bot.send_message(report.broadcast.staff_id, screen.text, parse_mode=ParseMode.HTML)

    def _lang(self) -> Language:
        return self.services.content.language(None)

    async def _by_language(self, report: BroadcastReport) -> dict[str, dict[str, int]]:
        """Outcomes by the language each recipient reads (named in itself), for the report."""
        content = self.services.content
        found: dict[str, dict[str, int]] = {}
        for stored, counts in (await self.services.db().broadcast_languages_report(report.broadcast.id)).items():
            name = content.language(stored).label("language.name")
            for state, number in counts.items():
                found.setdefault(name, {})[state] = found.get(name, {}).get(state, 0) + number
        return found

    async def _edit_progress(self, bot, report: BroadcastReport, screen: Screen) -> None:
        broadcast = report.broadcast
        if broadcast.progress_message_id is None:
            return
        try:
            await bot.edit_message_text(
                screen.text, chat_id=broadcast.staff_id, message_id=broadcast.progress_message_id,
                parse_mode=ParseMode.HTML, reply_markup=screen.markup(),
            )
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise


# -- /stats, /export, /audit -----------------------------------------------------------------------


async def stats_command(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), staff_language(context)
    stats = await used.db().staff_stats(used.clock(), used.settings.staff_ids)
    reports = await used.db().recent_broadcast_reports(BROADCASTS_IN_STATS)
    await send(update, stats_screen(lang, used, stats, reports))


async def export_command(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), staff_language(context)
    storage = used.db()
    checkins = await storage.exported_checkins()
    if not checkins:
        await storage.record_export(update.effective_user.id, 0, used.clock())
        await send(update, _screen(lang, "export.nothing"))
        return
    patients = await storage.exported_patients()
    key = await storage.pseudonym_key()
    with_names = used.settings.export_includes_names
    today = used.clock().date().isoformat()

    def columns(*names: str) -> list[str]:
        return [lang.label(f"export.column_{name}") for name in names if name != "first_name" or with_names]

    def who(user_id: int, first_name: str) -> list[str]:
        return [export.pseudonym(key, user_id)] + ([export.text_cell(first_name)] if with_names else [])

    checkins_file = export.csv_bytes(
        columns("patient", "first_name", "time", "pain", "interference", "sleep", "mood"),
        (
            who(row.user_id, row.first_name)
            + [row.created_at, *(export.number_cell(value) for value in (row.pain, row.interference, row.sleep, row.mood))]
            for row in checkins
        ),
    )
    summary_file = export.csv_bytes(
        columns("patient", "first_name", "consented", "checkins", "first", "last", "pain_mean", "pain_min", "pain_max", "interference_mean"),
        (
            who(row.user_id, row.first_name)
            + [row.consented_at, str(row.checkins), row.first_checkin, row.last_checkin,
               export.number_cell(row.pain_mean, 1), str(row.pain_min), str(row.pain_max),
               export.number_cell(row.interference_mean, 1)]
            for row in patients
        ),
    )
    caption_key = "export.checkins_caption_named" if with_names else "export.checkins_caption"
    chat = update.effective_chat
    await chat.send_document(
        checkins_file, filename=lang.label("export.checkins_file", date=today),
        caption=lang.text(caption_key, rows=len(checkins), patients=len(patients)), parse_mode=ParseMode.HTML,
    )
    await chat.send_document(
        summary_file, filename=lang.label("export.summary_file", date=today),
        caption=lang.text("export.summary_caption"), parse_mode=ParseMode.HTML,
    )
    # Treatment sessions the patients noted (issue 12), one row each.
    if sessions := await storage.exported_sessions():
        names = {row.user_id: row.first_name for row in patients}
        await chat.send_document(
            export.csv_bytes(
                columns("patient", "first_name", "session_kind", "session_day"),
                (who(user_id, names.get(user_id, "")) + [kind, day] for user_id, kind, day in sessions),
            ),
            filename=lang.label("export.sessions_file", date=today),
            caption=lang.text("export.sessions_caption", rows=len(sessions)), parse_mode=ParseMode.HTML,
        )
    await storage.record_export(update.effective_user.id, len(checkins), used.clock())
    log.info("export of %s check-ins sent to staff %s", len(checkins), update.effective_user.id)


async def audit_command(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), staff_language(context)
    entries = await used.db().audit_entries(AUDIT_ENTRIES_SHOWN)
    await send(update, audit_screen(lang, used, entries))


# -- wiring -------------------------------------------------------------------------------------


def handlers(used: Services) -> list:
    staff_private = PRIVATE & staff_filter(used)
    composing = staff_private & ~filters.COMMAND & ~filters.StatusUpdate.ALL & AwaitingInput(used, Storage.AWAITING_BROADCAST)
    staff_only = from_staff(used)
    return [
        CommandHandler("broadcast", broadcast_command, filters=staff_private),
        CommandHandler("stats", stats_command, filters=staff_private),
        CommandHandler("export", export_command, filters=staff_private),
        CommandHandler("audit", audit_command, filters=staff_private),
        MessageHandler(composing, broadcast_message_received),
        Guarded(CallbackQueryHandler(audience_tapped, pattern=callbacks.BROADCAST_AUDIENCE_PATTERN), staff_only),
        Guarded(CallbackQueryHandler(send_tapped, pattern=callbacks.BROADCAST_SEND_PATTERN), staff_only),
        Guarded(CallbackQueryHandler(version_tapped, pattern=callbacks.BROADCAST_VERSION_PATTERN), staff_only),
        Guarded(CallbackQueryHandler(discard_tapped, pattern=callbacks.BROADCAST_DISCARD_PATTERN), staff_only),
        Guarded(CallbackQueryHandler(stop_tapped, pattern=callbacks.BROADCAST_STOP_PATTERN), staff_only),
    ]


async def on_start(application: Application) -> None:
    used: Services = application.bot_data["services"]
    await used.db().load_awaiting()
    await register_staff_commands(application, used)
    worker = OutboxWorker(
        application.bot, used.db(), StaffBroadcastScreens(used),
        per_second=used.settings.broadcast_rate, clock=used.clock, paid=used.settings.broadcast_paid,
    )
    application.bot_data[WORKER] = worker
    worker.start()


async def on_stop(application: Application) -> None:
    worker: OutboxWorker | None = application.bot_data.pop(WORKER, None)
    if worker is not None:
        await worker.stop()


async def register_staff_commands(application: Application, used: Services) -> None:
    """Each staff member's command menu: the patients' commands plus the staff ones.

    Telegram keeps a menu per chat (BotCommandScopeChat). A staff member who never started
    the bot has no chat yet, and Telegram answers "chat not found": the bot says so in the
    log and starts anyway; their menu appears after a restart once they have written.
    """
    if not used.settings.staff_ids:
        return
    lang = used.content.language(None)
    patients_menu = list(await application.bot.get_my_commands())
    commands = patients_menu + [BotCommand(name, lang.label(f"commands.{name}")) for name in STAFF_COMMANDS]
    for staff_id in sorted(used.settings.staff_ids):
        try:
            await application.bot.set_my_commands(commands, scope=BotCommandScopeChat(staff_id))
        except (BadRequest, Forbidden) as error:
            log.warning(
                "staff member %s gets no staff command menu (%s): they must start the bot, then restart it",
                staff_id, error,
            )

