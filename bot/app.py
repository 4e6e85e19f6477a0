"""The composition root: build the Application, in the order updates flow through it.

An update enters here, the safety net sees it first, a gatekeeper stops whatever comes
from a group (bot/private_only.py), then the first flow whose handler matches answers it,
and the fallback answers anything left. Telegram-side setup (the
command menu, the description) happens in `post_init`, when the bot starts.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from bot import errors, logs, pipeline, private_only, safety, typed_text
from bot.config import DEFAULT_BROADCAST_RATE
from bot.rate_limiter import BotRateLimiter
from bot.services import Services
from bot.storage import Storage
from flows import (
    callback_request,
    checkin,
    education,
    fallback,
    handoff,
    history,
    home,
    language,
    membership,
    peg,
    privacy,
    reminders,
    report,
    screening,
    sessions,
    staff,
)

log = logging.getLogger(__name__)

# The update types the bot handles; Telegram sends no others.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]

# The flows in the order their handlers are tried. Deep links (`/start tms`) must come
# before the plain /start in `home`. The handlers for a message someone was asked for
# (`callback_request`, `staff`) match only those people. `fallback` comes after them all.
# `report`'s staff handler (/report with an id) matches staff only; anyone else's /report
# is answered with their own report.
FLOWS = [
    membership, education, screening, handoff, callback_request, checkin, history, sessions, peg, report,
    reminders, privacy, language, staff, home,
]
# Every flow, for `python -m bot check` to build all the screens they can show.
SCREEN_FLOWS = [safety, *FLOWS, fallback]
# Flows that ask the patient to type something, and what for.
TYPED_TEXT_ROUTES = {**checkin.typed_text_routes(), **reminders.typed_text_routes(), **sessions.typed_text_routes()}

# Commands shown in Telegram's menu, with their description's key in content/<lang>/ui/.
PATIENT_COMMANDS = [
    "start", "menu", "sos", "checkin", "history", "report", "reminders", "contact", "help", "privacy", "mydata",
    "delete", "stop", "language",
]


def build_application(services: Services) -> Application:
    # Every Bot API request tells one ApiWatch how it went: one log line when the API
    # becomes unreachable, one when it is back (bot/logs.py). Pool sizes as PTB's defaults.
    api_watch = logs.ApiWatch()
    application = (
        ApplicationBuilder()
        .token(services.settings.require_token())
        .base_url(services.settings.base_url)
        .request(logs.WatchedRequest(api_watch, connection_pool_size=256))
        .get_updates_request(logs.WatchedRequest(api_watch, connection_pool_size=1))
        # One budget of about 30 messages a second, answers to patients first, then the
        # broadcast worker and the daily prompts at their rate (see bot/rate_limiter.py).
        .rate_limiter(BotRateLimiter(max_retries=3, bulk_per_second=bulk_rate(services)))
        # The update pipeline (bot/pipeline.py): each update is stored before Telegram is
        # told it arrived, and updates of different chats are handled at once, each chat's
        # in order.
        .update_queue(pipeline.DurableUpdateQueue())
        .concurrent_updates(pipeline.ChatOrderedProcessor())
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data["services"] = services
    application.bot_data["api_watch"] = api_watch

    # Group -3: remember who writes to us; a command or a tap ends any wait for typed text.
    # Never answers, never stops the update.
    application.add_handler(membership.recorder(), group=-3)
    application.add_handler(TypeHandler(Update, typed_text.stop_waiting_on_other_action), group=-2)
    # Group -1: the safety net sees every message before any flow and answers a crisis at
    # once. It lets the update go on, so a note typed in a check-in is still kept.
    application.add_handlers(safety.handlers(services), group=-1)
    # Group 0: first the gatekeeper: a message or tap from a group stops there (a toast, the
    # "private chats only" line once per group), so no flow can show private data in a
    # group. Then the flows; the first handler that matches wins. Then typed answers a flow
    # asked for, then the fallback for everything else.
    application.add_handler(private_only.handler(services))
    application.add_handler(fallback.TapWithoutData())  # would match every button pattern
    application.add_handlers(safety.button_handlers())
    for flow in FLOWS:
        application.add_handlers(flow.handlers(services))
    application.add_handler(typed_text.handler(services, TYPED_TEXT_ROUTES))
    application.add_handlers(fallback.handlers(services))
    application.add_error_handler(errors.on_error)

    # One periodic job sends the daily prompts that are due (read from SQLite).
    reminders.schedule(application, services)
    # ...and one the weekly PEG checks that are due.
    peg.schedule(application, services)
    return application


def bulk_rate(services: Services) -> float:
    """The free budget's rate for broadcasts and daily prompts; a paid broadcast has its own."""
    settings = services.settings
    return DEFAULT_BROADCAST_RATE if settings.broadcast_paid else settings.broadcast_rate


async def post_init(application: Application) -> None:
    services: Services = application.bot_data["services"]
    services.storage = await Storage.open(services.settings.database)
    await pipeline.start(application, services.storage, services.clock, say_stale=lambda update: _say_tap_again(update, services))
    await register_commands(application, services)
    # Flows with something to set up once storage is open (a flow's `on_start`): the staff
    # flow registers staff commands and starts the broadcast worker.
    for flow in FLOWS:
        if hasattr(flow, "on_start"):
            await flow.on_start(application)
    application.bot_data["api_watch"].live = True  # from now on an outage is logged, once
    log.info("bot started as @%s", application.bot.username)


async def _say_tap_again(update: Update, services: Services) -> None:
    """In the patient's stored language (their /language choice), else Telegram's."""
    user = update.effective_user
    patient = await services.db().patient(user.id) if user is not None else None
    lang = services.content.language((patient.language if patient else None) or getattr(user, "language_code", None))
    await pipeline.say_tap_again(update, lang.text("error.stale_update"))


async def post_stop(application: Application) -> None:
    # Before the HTTP client and storage close: the broadcast worker finishes its send.
    for flow in reversed(FLOWS):
        if hasattr(flow, "on_stop"):
            await flow.on_stop(application)


async def post_shutdown(application: Application) -> None:
    services: Services = application.bot_data["services"]
    if services.storage is not None:
        await services.storage.close()
        services.storage = None


async def register_commands(application: Application, services: Services) -> None:
    """The command menu and the texts Telegram shows before a patient's first /start."""
    for code, lang in services.content.languages.items():
        language_code = None if code == services.content.default else code
        commands = [BotCommand(name, lang.label(f"commands.{name}")) for name in PATIENT_COMMANDS]
        await application.bot.set_my_commands(commands, language_code=language_code)
        await application.bot.set_my_description(lang.label("bot.description"), language_code=language_code)
        await application.bot.set_my_short_description(lang.label("bot.short_description"), language_code=language_code)


@contextlib.asynccontextmanager
async def running(application: Application) -> AsyncIterator[Application]:
    """Run the application the way `run_polling` does, inside an existing event loop.

    `python -m bot` uses `run_polling` (it owns the loop and the signals); tests and the
    preview use this, so both go through the same start and stop steps.
    """
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    # As run_polling does: a failed poll goes to the error handler (bot/errors.py), not to
    # the Updater's default callback, which logs a traceback per failed poll.
    await application.updater.start_polling(
        allowed_updates=ALLOWED_UPDATES, poll_interval=0, timeout=10,
        error_callback=lambda error: application.create_task(application.process_error(update=None, error=error)),
    )
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
