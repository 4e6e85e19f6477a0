"""What each chat looks like, as JSON for the page, read from the Bot API stand-in.

The page shows whatever the bot did through the Bot API, in any chat and of any message
kind, so features built later (broadcasts, call-back requests, charts, exports) appear
without changes here. What the persona sent is kept by the server (the stand-in records
only the bot's side) and merged in by message id: Telegram numbers a chat's messages in
one sequence for both sides.

Only data goes to the page; it decides the words and the look.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.preview.settings import Persona
from bot.standin import MESSAGE_KINDS, BotApiStandIn, SentMessage


@dataclass(frozen=True)
class Chat:
    """A chat on the page: a persona's private chat with the bot, or the staff group."""

    id: int
    title: str
    kind: str  # "private" or "group"
    user: Persona | None  # who types in it; None for a group no persona can write in
    staff: bool = False

    def summary(self, standin: BotApiStandIn, user_messages: list[dict]) -> dict:
        """For the chat list: how many bot messages (the page counts unread ones) and the last."""
        bot = [sent for sent in standin.chat_log(self.id) if not sent.deleted]
        newest = max(
            [(sent.message_id, _short(sent.message)) for sent in bot]
            + [(message["message_id"], _short(message)) for message in user_messages],
            key=lambda item: item[0],
            default=None,
        )
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "staff": self.staff,
            "bot_messages": len(bot),
            "last": newest[1] if newest else None,
        }

    def view(self, standin: BotApiStandIn, user_messages: list[dict]) -> dict:
        log = standin.chat_log(self.id)
        messages = [bot_message(self.id, sent) for sent in log if not sent.deleted]
        messages += [user_message(message) for message in user_messages]
        messages.sort(key=lambda message: message["id"])
        descriptions = standin.descriptions
        language = next((code for code in _language_codes(self) if code in descriptions), "")
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "staff": self.staff,
            "user": {"id": self.user.id, "name": self.user.name} if self.user else None,
            "messages": messages,
            "keyboard": reply_keyboard(log, user_messages),
            "commands": commands_for_chat(standin, self),
            # What Telegram shows in an empty chat, above the Start button.
            "description": descriptions.get(language, descriptions.get("", "")),
        }


def bot_message(chat_id: int, sent: SentMessage) -> dict:
    message = sent.message  # its current state: edits applied
    view = _content(message)
    view.update(
        id=sent.message_id,
        out=False,
        edited=sent.edit_count > 0,
        inline_keyboard=[[_inline_button(button) for button in row] for row in sent.inline_keyboard],
    )
    if sent.kind in ("photo", "document", "audio", "video", "animation", "voice", "video_note", "sticker"):
        view["file"] = {
            # Only files the bot uploaded have bytes; one sent by URL or file_id may not.
            "url": f"/api/file/{chat_id}/{sent.message_id}" if sent.file else None,
            "name": sent.filename,
            "mime": sent.mime_type,
            "size": len(sent.file) if sent.file else None,
        }
    return view


def user_message(message: dict) -> dict:
    view = _content(message)
    view.update(id=message["message_id"], out=True, edited="edit_date" in message, inline_keyboard=[])
    return view


def _content(message: dict) -> dict:
    kind = next((kind for kind in MESSAGE_KINDS if kind in message), "other")
    view: dict = {
        "kind": kind,
        "date": message.get("date"),
        "sender": message.get("from", {}).get("first_name", ""),
        "text": message.get("text") or message.get("caption") or "",
        "entities": message.get("entities") or message.get("caption_entities") or [],
    }
    if "reply_to_message" in message:
        view["reply_to"] = message["reply_to_message"]["message_id"]
    if kind == "photo":
        largest = message["photo"][-1]
        view["photo"] = {"width": largest.get("width"), "height": largest.get("height")}
    elif kind == "contact":
        view["contact"] = message["contact"]
    elif kind == "location":
        view["location"] = message["location"]
    elif kind == "sticker":
        view["emoji"] = message["sticker"].get("emoji", "")
    elif kind in ("document", "audio", "video", "animation", "voice", "video_note"):
        view["file_name"] = message[kind].get("file_name")
    return view


def _short(message: dict) -> dict:
    """The last message of a chat, for its line in the chat list."""
    kind = next((kind for kind in MESSAGE_KINDS if kind in message), "other")
    text = message.get("text") or message.get("caption") or ""
    return {"kind": kind, "text": text[:120]}


def _inline_button(button: dict) -> dict:
    """An inline button and what tapping it does; kinds the preview cannot play are "other"."""
    for kind in ("callback_data", "url", "copy_text"):
        if kind in button:
            value = button[kind]["text"] if kind == "copy_text" else button[kind]
            return {"text": button["text"], "kind": kind, "value": value}
    return {"text": button["text"], "kind": "other", "value": next((k for k in button if k != "text"), "")}


def reply_keyboard(log: list[SentMessage], user_messages: list[dict]) -> dict | None:
    """The reply keyboard the persona sees now: the newest one sent, until one removes it.

    A one-time keyboard folds away once the persona has sent something after it (Telegram
    hides it; the keyboard button brings it back).
    """
    current: SentMessage | None = None
    for sent in sorted(log, key=lambda sent: sent.message_id):
        markup = sent.reply_markup or {}
        if "keyboard" in markup:
            current = sent
        elif "remove_keyboard" in markup:
            current = None
    if current is None:
        return None
    markup = current.reply_markup
    rows = []
    for row in markup["keyboard"]:
        buttons = []
        for button in row:
            button = {"text": button} if isinstance(button, str) else button
            if button.get("request_contact"):
                kind = "contact"
            elif button.get("request_location"):
                kind = "location"
            elif len(button) == 1:
                kind = "text"
            else:
                kind = "other"  # request_users, request_poll, web_app...: not played here
            buttons.append({"text": button["text"], "kind": kind})
        rows.append(buttons)
    answered = any(message["message_id"] > current.message_id for message in user_messages)
    return {
        "rows": rows,
        "placeholder": markup.get("input_field_placeholder", ""),
        "folded": bool(markup.get("one_time_keyboard")) and answered,
    }


def commands_for_chat(standin: BotApiStandIn, chat: Chat) -> list[dict]:
    """The command menu of a chat, found as Telegram finds it: the narrowest scope first,
    and in each scope the persona's language before the one for all languages."""
    broad = "all_private_chats" if chat.kind == "private" else "all_group_chats"
    for scope in ({"type": "chat", "chat_id": chat.id}, {"type": broad}, None):
        for code in (*_language_codes(chat), ""):
            commands = standin.commands_for(scope, code)
            if commands is not None:
                return commands
    return []


def _language_codes(chat: Chat) -> tuple[str, ...]:
    """The persona's language as Telegram matches it to what the bot registered: "es-MX",
    then its language alone, "es" (the bot registers menus per language, not per region)."""
    code = chat.user.language if chat.user else ""
    base = code.split("-")[0]
    return tuple(dict.fromkeys(part for part in (code, base) if part))
