"""Filters shared by the flows."""

from telegram.ext import filters

# A new message in a private chat. Edited messages are left to the safety net alone:
# re-answering an edit as if it were a new message would only confuse.
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


class AwaitingInput(filters.MessageFilter):
    """Messages from a person a flow expects to type something for `purpose` (see
    `Storage.is_awaiting`). False until storage is open. A handler with this filter sees
    only those people's messages; everyone else's go on to the flows after it."""

    def __init__(self, services, purpose: str) -> None:
        super().__init__(name=f"AwaitingInput({purpose})")
        self.services = services
        self.purpose = purpose

    def filter(self, message) -> bool:
        storage = self.services.storage
        user = message.from_user
        return storage is not None and user is not None and storage.is_awaiting(self.purpose, user.id)


def in_private_chat(update) -> bool:
    """For button handlers (CallbackQueryHandler has no filters; see bot.staff.Guarded): a
    tap on health data is answered only in a private chat, never in a group."""
    chat = getattr(update, "effective_chat", None)
    return chat is not None and chat.type == "private"
