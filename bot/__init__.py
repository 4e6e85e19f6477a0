"""A Telegram bot for chronic-pain clinics that offer TMS and ketamine therapy.

`bot` holds the program's wiring and infrastructure; the conversations live in `flows`,
and every word a patient reads lives in `content/`.
"""
