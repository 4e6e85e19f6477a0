"""Filters shared by the flows."""

from telegram.ext import filters

# A new message in a private chat. Edited messages are left to the safety net alone:
# re-answering an edit as if it were a new message would only confuse.
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
