"""A Telegram bot for chronic-pain clinics that offer TMS and ketamine therapy.

`bot` holds the program's wiring and infrastructure; the conversations live in `flows`,
and every word a patient reads lives in `content/`.
"""

import os

# python-telegram-bot 22 warns on every 429 unless durations are datetime.timedelta, which
# this setting opts into (it becomes the default in version 23).
os.environ.setdefault("PTB_TIMEDELTA", "true")
