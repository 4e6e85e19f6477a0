"""Call-back requests: a patient asks the clinic to call them; staff mark it handled.

From *Contact the clinic* (flows/handoff.py) a patient taps *Ask the clinic to call me*.
The bot says what the clinic will get, asks for the phone number with a reply-keyboard
button that shares the patient's own contact (`request_contact`; a contact card of anyone
else is refused), then an optional good time to call (typed, or *Skip*). The request goes
to `staff_chat_id`, or to each staff member when there is none, with a *Mark handled*
button that records who handled it. One request per patient is open at a time.

Where the patient is lives in SQLite (`callback_requests.stage`), so after a restart their
next message still continues the request. A request left unfinished for longer than
`UNFINISHED_TTL` is dropped when they come back, with a word saying so, rather than
taking a later unrelated message for a time to call. The safety net runs before all of
this: a crisis message at any step gets the crisis answer and the request waits.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import (
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.chat_filters import PRIVATE, AwaitingInput
from bot.content import Language
from bot.menu import back_to_menu_row, main_menu
from bot.safety import answered_by_safety_net
from bot.screens import Button, Screen, answer_query, send
from bot.services import Services, language, services
from bot.staff import Guarded, clinic_time, from_staff
from bot.storage import CallbackRequest, Storage, from_utc_text, utc_text

log = logging.getLogger(__name__)

# A good time to call is a few words; more is probably not an answer to the question.
PREFERRED_TIME_MAX = 100
UNFINISHED_TTL = timedelta(hours=6)


# -- screens ----------------------------------------------------------------------------------


def _text(lang: Language, key: str, **values: object) -> Screen:
    return Screen(lang.text(key, **values), origin=lang.text_origins.get(key, ""))


def phone_keyboard(lang: Language) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(lang.label("callback.share_button"), request_contact=True)],
            [KeyboardButton(lang.label("callback.cancel_button"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def time_keyboard(lang: Language) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(lang.label("callback.skip_button")), KeyboardButton(lang.label("callback.cancel_button"))]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def display_phone(phone: str) -> str:
    """Telegram sends a shared number without its "+" at times: put it back for staff."""
    return f"+{phone}" if re.fullmatch(r"\d{6,15}", phone) else phone


def staff_notice(lang: Language, used: Services, request: CallbackRequest, handled_by: str | None = None) -> Screen:
    text = lang.text(
        "callback.staff_notice",
        id=request.id, user_id=request.user_id, first_name=request.first_name,
        phone=display_phone(request.phone or ""), time=request.preferred_time or lang.label("callback.no_time"),
        when=clinic_time(request.submitted_at, used),
    )
    if handled_by is not None:
        handled = lang.text("callback.handled", staff_name=handled_by, when=clinic_time(request.handled_at, used))
        return Screen(f"{text}\n\n{handled}")
    button = Button(lang.label("callback.mark_handled_button"), callbacks.callback_handled(request.id))
    return Screen(text, ((button,),), origin=lang.text_origins.get("callback.staff_notice", ""))


def screens(lang: Language):
    """Every screen this flow shows (reply keyboards aside), for `python -m bot check`."""
    for key in (
        "callback.explain", "callback.not_own_contact", "callback.phone_please", "callback.time_question",
        "callback.time_please", "callback.cancelled", "callback.not_delivered", "callback.stray_contact",
        "callback.expired", "callback.confirmed",
    ):
        yield _text(lang, key, first_name="Alexandria-Marie", phone="+1 555 010 0000")
    yield _text(lang, "callback.confirmed_with_time", first_name="Alexandria-Marie", phone="+1 555 010 0000", time="x" * PREFERRED_TIME_MAX)
    yield _text(lang, "callback.already_open", phone="+1 555 010 0000", when="2026-01-01 09:00")
    yield _text(lang, "callback.time_too_long", limit=PREFERRED_TIME_MAX)


# -- the patient's side -------------------------------------------------------------------------


async def ask_tapped(update: Update, context: CallbackContext) -> None:
    """*Ask the clinic to call me*: start a request, or go on with the one under way."""
    used, lang = services(context), language(context, update.effective_user)
    await answer_query(update)
    request = await _live_request(update, context)
    if request is not None and request.stage == "open":
        screen = _text(lang, "callback.already_open", phone=display_phone(request.phone or ""), when=lang.day_time(from_utc_text(request.submitted_at).astimezone(ZoneInfo(used.settings.clinic.timezone))))
        await send(update, Screen(screen.text, (back_to_menu_row(lang),)))
        return
    if request is None:
        request = await used.db().start_callback_request(update.effective_user.id, used.clock())
    if request.stage == "time":
        await _reply(update, lang.text("callback.time_question"), time_keyboard(lang))
    else:
        await _reply(update, lang.text("callback.explain"), phone_keyboard(lang))


async def contact_shared(update: Update, context: CallbackContext) -> None:
    used, lang = services(context), language(context, update.effective_user)
    contact = update.effective_message.contact
    request = await _live_request(update, context, tell_if_expired=True)
    if request is None or request.stage == "open":
        # A contact card nobody asked for: it is not kept.
        await _reply(update, lang.text("callback.stray_contact"), ReplyKeyboardRemove())
        return
    if contact.user_id != update.effective_user.id:
        # Someone else's card (the attachment menu can send any contact): the clinic must
        # call the person who asked. Only the request_contact button carries their own id.
        await _reply(update, lang.text("callback.not_own_contact"), phone_keyboard(lang))
        return
    await used.db().set_callback_phone(request.id, contact.phone_number)
    await _reply(update, lang.text("callback.time_question"), time_keyboard(lang))


async def typed_while_asked(update: Update, context: CallbackContext) -> None:
    """Any other message of a patient the request is waiting for: Cancel, Skip, a time."""
    used, lang = services(context), language(context, update.effective_user)
    if answered_by_safety_net(update, context):
        return  # a crisis message is not a time to call; the request keeps waiting
    if await used.db().live_callback_request(update.effective_user.id) is None:
        # Dropped meanwhile (the patient's data erased, say): nothing is waited for, and the
        # stale entry must not catch their next messages too.
        used.db().forget_awaiting(Storage.AWAITING_CALLBACK, update.effective_user.id)
        await send(update, main_menu(lang))
        return
    request = await _live_request(update, context, tell_if_expired=True)
    if request is None:
        return  # it had expired, and the patient was told
    if request.stage == "open":  # submitted meanwhile; nothing is waited for any more
        await send(update, main_menu(lang))
        return
    text = (update.effective_message.text or "").strip()
    if text == lang.label("callback.cancel_button"):
        await used.db().drop_callback_request(request.id)
        await _reply(update, lang.text("callback.cancelled"), ReplyKeyboardRemove())
        await send(update, main_menu(lang))
        return
    if request.stage == "phone":
        # A typed number is not taken: only the button proves it is the patient's own.
        await _reply(update, lang.text("callback.phone_please"), phone_keyboard(lang))
        return
    if not text:
        await _reply(update, lang.text("callback.time_please"), time_keyboard(lang))
        return
    if len(text) > PREFERRED_TIME_MAX:
        await _reply(update, lang.text("callback.time_too_long", limit=PREFERRED_TIME_MAX), time_keyboard(lang))
        return
    preferred_time = None if text == lang.label("callback.skip_button") else text
    await _submit(update, context, request, preferred_time)


async def _submit(update: Update, context: CallbackContext, request: CallbackRequest, preferred_time: str | None) -> None:
    used, lang = services(context), language(context, update.effective_user)
    # Staff are told first: if nobody can be reached, the patient is told to call instead
    # of waiting for a call that will not come.
    submitted = CallbackRequest(**{**request.__dict__, "preferred_time": preferred_time, "submitted_at": utc_text(used.clock())})
    if not await _tell_staff(context, submitted):
        await used.db().drop_callback_request(request.id)
        await _reply(update, lang.text("callback.not_delivered"), ReplyKeyboardRemove())
        await send(update, main_menu(lang))
        return
    await used.db().submit_callback_request(request.id, preferred_time, used.clock())
    log.info("call-back request %s sent to staff", request.id)
    phone = display_phone(request.phone or "")
    first_name = update.effective_user.first_name
    if preferred_time:
        confirmation = lang.text("callback.confirmed_with_time", first_name=first_name, phone=phone, time=preferred_time)
    else:
        confirmation = lang.text("callback.confirmed", first_name=first_name, phone=phone)
    await _reply(update, confirmation, ReplyKeyboardRemove())
    await send(update, main_menu(lang))


async def _tell_staff(context: CallbackContext, request: CallbackRequest) -> bool:
    """Send the request to the staff chat, or to each staff member; True if anyone got it."""
    used = services(context)
    lang = used.content.language(None)  # staff read the clinic's default language
    settings = used.settings
    targets = [settings.staff_chat_id] if settings.staff_chat_id is not None else sorted(settings.staff_ids)
    notice = staff_notice(lang, used, request)
    delivered = False
    for chat_id in targets:
        try:
            message = await context.bot.send_message(chat_id, notice.text, parse_mode=ParseMode.HTML, reply_markup=notice.markup())
        except (BadRequest, Forbidden) as error:
            # A staff member who never started the bot, or a group the bot left.
            log.warning("call-back request %s could not reach chat %s (%s)", request.id, chat_id, error)
            continue
        await used.db().add_callback_notice(request.id, chat_id, message.message_id)
        delivered = True
    if not targets:
        log.warning("call-back request %s: no staff_chat_id and no staff_ids configured", request.id)
    return delivered


async def _live_request(update: Update, context: CallbackContext, tell_if_expired: bool = False) -> CallbackRequest | None:
    """The patient's request under way or open; an unfinished one left too long is dropped
    (and, if asked, the patient told so)."""
    used = services(context)
    request = await used.db().live_callback_request(update.effective_user.id)
    if request is None or request.stage == "open":
        return request
    started = from_utc_text(request.started_at)
    if used.clock() - started <= UNFINISHED_TTL:
        return request
    await used.db().drop_callback_request(request.id)
    if tell_if_expired:
        lang = language(context, update.effective_user)
        await _reply(update, lang.text("callback.expired"), ReplyKeyboardRemove())
        await send(update, main_menu(lang))
    return None


async def _reply(update: Update, html: str, keyboard: ReplyKeyboardMarkup | ReplyKeyboardRemove) -> None:
    await update.effective_chat.send_message(html, parse_mode=ParseMode.HTML, reply_markup=keyboard)


# -- the staff side ----------------------------------------------------------------------------


async def handled_tapped(update: Update, context: CallbackContext) -> None:
    used = services(context)
    lang = used.content.language(None)
    request_id = int(context.match.group(1))
    staff = update.effective_user
    storage = used.db()
    if await storage.mark_callback_handled(request_id, staff.id, used.clock()):
        await answer_query(update, lang.label("toast.callback_marked"))
        log.info("call-back request %s handled by staff %s", request_id, staff.id)
        request = await storage.callback_request(request_id)
        handled = staff_notice(lang, used, request, handled_by=staff.first_name)
        for chat_id, message_id in await storage.callback_notices(request_id):
            try:
                await context.bot.edit_message_text(handled.text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML)
            except (BadRequest, Forbidden) as error:
                # A copy deleted, or a chat the bot left: the others are still updated.
                log.warning("call-back request %s: could not update its message in chat %s (%s)", request_id, chat_id, error)
        return
    request = await storage.callback_request(request_id)
    if request is None or request.stage != "handled":
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    who = await storage.patient(request.handled_by)
    name = who.first_name if who and who.first_name else str(request.handled_by)
    await answer_query(update, lang.label("toast.callback_already_handled", staff_name=name), alert=True)


async def handled_tapped_by_outsider(update: Update, context: CallbackContext) -> None:
    # A member of the staff group who is not in `staff_ids`: the audit log needs a staff id.
    lang = services(context).content.language(None)
    await answer_query(update, lang.label("toast.callback_staff_only"), alert=True)


# -- wiring -------------------------------------------------------------------------------------


def handlers(used: Services) -> list:
    asked = PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL & AwaitingInput(used, Storage.AWAITING_CALLBACK)

    def in_a_group(update: Update) -> bool:
        return update.effective_chat is not None and update.effective_chat.type != "private"

    return [
        CallbackQueryHandler(ask_tapped, pattern=callbacks.CALLBACK_REQUEST_PATTERN),
        MessageHandler(PRIVATE & filters.CONTACT, contact_shared),
        MessageHandler(asked, typed_while_asked),
        Guarded(CallbackQueryHandler(handled_tapped, pattern=callbacks.CALLBACK_HANDLED_PATTERN), from_staff(used)),
        # Anyone else's tap in a group is told why; in a private chat it is a forged or
        # stale button, left to the fallback like any other.
        Guarded(CallbackQueryHandler(handled_tapped_by_outsider, pattern=callbacks.CALLBACK_HANDLED_PATTERN), in_a_group),
    ]


async def on_start(application: Application) -> None:
    # Who was being asked for a phone or a time when the bot last stopped.
    await application.bot_data["services"].db().load_awaiting()
