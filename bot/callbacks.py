"""Every kind of callback data the bot puts on its buttons, in one place.

State lives in the data itself (`p:tms:how:0` is "page `how` of topic `tms`, first
screen"), not in memory, so buttons keep working after a restart and on old messages.
Telegram allows at most 64 bytes; `python -m bot check` measures every button.
Patterns are anchored with ^...$ so a forged or truncated value never half-matches.
"""

from __future__ import annotations

ID = r"[a-z0-9_]{1,20}"

MAIN_MENU = "menu"
MAIN_MENU_PATTERN = r"^menu$"


def topic(topic_id: str) -> str:
    return f"t:{topic_id}"


TOPIC_PATTERN = rf"^t:({ID})$"


def page(topic_id: str, page_id: str, part: int = 0) -> str:
    return f"p:{topic_id}:{page_id}:{part}"


PAGE_PATTERN = rf"^p:({ID}):({ID}):(\d{{1,2}})$"


def sources(topic_id: str, page_id: str) -> str:
    return f"src:{topic_id}:{page_id}"


SOURCES_PATTERN = rf"^src:({ID}):({ID})$"


def topic_sources(topic_id: str) -> str:
    """Every source of a topic, from the topic's own screen."""
    return f"srt:{topic_id}"


TOPIC_SOURCES_PATTERN = rf"^srt:({ID})$"

# The screening questionnaire keeps its answers so far in the data: "sc:yn" means the
# first answer was yes, the second no, and the third question is next. "sc" is its intro.
SCREENING_INTRO = "sc"
SCREENING_INTRO_PATTERN = r"^sc$"


def screening(answers: str) -> str:
    return f"sc:{answers}"


SCREENING_PATTERN = r"^sc:([ynu]{0,20})$"

CONTACT = "contact"
CONTACT_PATTERN = r"^contact$"

# 🆘 I need help now: the crisis reply without any detection (bot/safety.py).
SOS = "sos"
SOS_PATTERN = r"^sos$"

# Daily check-in. The check-in's id rides in the data of its later steps, so a half-done
# check-in can be finished after a restart; the server checks that it is the tapper's own.
CHECKIN = "ci"
CHECKIN_PATTERN = r"^ci$"
CONSENT = "ci:yes"
CONSENT_PATTERN = r"^ci:yes$"


def score(pain: int) -> str:
    return f"ci:p:{pain}"


SCORE_PATTERN = r"^ci:p:(10|[0-9])$"


def checkin_item(step: str, checkin_id: int, value: str) -> str:
    """An answer to an optional step: i(nterference), s(leep), m(ood), n(ote); value "x" skips."""
    return f"ci:{step}:{checkin_id}:{value}"


# Each step takes only its own values: 0-10 for interference, 1-3 for sleep and mood, and
# t(ype a note) for the note; x skips any. A forged value never reaches the database.
CHECKIN_ITEM_PATTERN = r"^ci:(?:(i):(\d{1,12}):(10|[0-9]|x)|([sm]):(\d{1,12}):([1-3]|x)|(n):(\d{1,12}):(t|x))$"
CHECKIN_DONE_PATTERN = r"^ci:done:(\d{1,12})$"


def checkin_done(checkin_id: int) -> str:
    return f"ci:done:{checkin_id}"


HISTORY = "hist"
HISTORY_PATTERN = r"^hist$"

# Reminders: the daily prompt's own buttons, and the settings screen.
REMINDERS = "rm"
REMINDERS_PATTERN = r"^rm$"
# "I agree" on the notice shown by /reminders: join, then set the reminder asked for.
CONSENT_THEN_REMINDERS = "rm:yes"
CONSENT_THEN_REMINDERS_PATTERN = r"^rm:yes$"
SNOOZE = "rm:snooze"
SKIP_TODAY = "rm:skip"


def reminder_time(hhmm: str) -> str:
    return f"rm:t:{hhmm}"


REMINDER_TIME_PATTERN = r"^rm:t:((?:[01][0-9]|2[0-3])[0-5][0-9]|type)$"


def reminder_zone(zone: str) -> str:
    return f"rm:z:{zone}"


REMINDER_ZONE_PATTERN = r"^rm:z:([A-Za-z_]+(?:/[A-Za-z0-9_+-]+){0,2}|menu|type)$"
REMINDER_ACTION_PATTERN = r"^rm:(snooze|skip|pause|resume|off|time)$"
RESUME_MESSAGES = "stop:undo"
RESUME_MESSAGES_PATTERN = r"^stop:undo$"

# Data rights.
DELETE_CONFIRM = "del:yes"
DELETE_CANCEL = "del:no"
DELETE_PATTERN = r"^del:(yes|no)$"

# Staff ---------------------------------------------------------------------------------------
# Broadcasts carry their id; what a button may do is decided by the broadcast's state in
# SQLite, so a stale Send (already sent, discarded) is answered plainly and sends nothing.

BROADCAST_ID = r"\d{1,12}"


def broadcast_audience(broadcast_id: int, audience: str) -> str:
    return f"bc:aud:{broadcast_id}:{audience}"


BROADCAST_AUDIENCE_PATTERN = rf"^bc:aud:({BROADCAST_ID}):(all|checkin)$"


def broadcast_version(broadcast_id: int, language: str) -> str:
    """Write (or rewrite) the broadcast's version in another language."""
    return f"bc:ver:{broadcast_id}:{language}"


BROADCAST_VERSION_PATTERN = rf"^bc:ver:({BROADCAST_ID}):([a-z]{{2,3}}(?:_[A-Za-z0-9]{{2,8}})?)$"


def broadcast_send(broadcast_id: int) -> str:
    return f"bc:send:{broadcast_id}"


BROADCAST_SEND_PATTERN = rf"^bc:send:({BROADCAST_ID})$"


def broadcast_discard(broadcast_id: int) -> str:
    return f"bc:drop:{broadcast_id}"


BROADCAST_DISCARD_PATTERN = rf"^bc:drop:({BROADCAST_ID})$"


def broadcast_stop(broadcast_id: int) -> str:
    return f"bc:stop:{broadcast_id}"


BROADCAST_STOP_PATTERN = rf"^bc:stop:({BROADCAST_ID})$"

# A patient asks to be called (on the contact screen); staff mark the request handled.
CALLBACK_REQUEST = "cbr:ask"
CALLBACK_REQUEST_PATTERN = r"^cbr:ask$"


def callback_handled(request_id: int) -> str:
    return f"cbr:done:{request_id}"


CALLBACK_HANDLED_PATTERN = r"^cbr:done:(\d{1,12})$"

# /language: the choice screen, and the choice of one content folder ("lang:es").
LANGUAGES = "lang"
LANGUAGES_PATTERN = r"^lang$"


def language_chosen(code: str) -> str:
    return f"lang:{code}"


LANGUAGE_CHOSEN_PATTERN = r"^lang:([a-z]{2,3}(?:_[A-Za-z0-9]{2,8})?)$"

# Pain report, chart periods, treatment sessions, weekly PEG (issue 12) ----------------------

CHART_PERIODS = (7, 30, 90)


def history_period(days: int) -> str:
    return f"hist:{days}"


HISTORY_PERIOD_PATTERN = r"^hist:(7|30|90)$"

# Sessions: "ses" opens the choice of treatment; "ses:k:tms" asks the day; "ses:d:tms:20261201"
# notes it on that date (the date rides in the data, so an old button never means a new
# day); "ses:d:tms:type" waits for a typed date; "ses:rm:12" removes a mistaken one.
SESSIONS = "ses"
SESSIONS_PATTERN = r"^ses$"


def session_kind(kind: str) -> str:
    return f"ses:k:{kind}"


SESSION_KIND_PATTERN = r"^ses:k:(tms|ketamine)$"


def session_day(kind: str, day: str) -> str:
    """`day` is YYYYMMDD, or "type" to type a date."""
    return f"ses:d:{kind}:{day}"


SESSION_DAY_PATTERN = r"^ses:d:(tms|ketamine):(\d{8}|type)$"


def session_remove(session_id: int) -> str:
    return f"ses:rm:{session_id}"


SESSION_REMOVE_PATTERN = r"^ses:rm:(\d{1,12})$"

# Weekly PEG: the setting ("peg", "peg:on", "peg:off", "peg:now"), then the three answers.
# The first answer is keyed by its message (like a check-in score); the later ones carry
# the answer's id, checked to be the tapper's own.
PEG = "peg"
PEG_SETTING_PATTERN = r"^peg(?::(on|off|now))?$"


def peg_first(value: int) -> str:
    return f"peg:1:{value}"


PEG_FIRST_PATTERN = r"^peg:1:(10|[0-9])$"


def peg_next(step: int, answer_id: int, value: int) -> str:
    return f"peg:{step}:{answer_id}:{value}"


PEG_NEXT_PATTERN = r"^peg:([23]):(\d{1,12}):(10|[0-9])$"

# /report: "rep:30:0" makes the 30-day report without notes; "rep:o:1" shows the choice
# again with the notes switched on (nothing is made until a period is tapped).


def report(days: int, notes: bool) -> str:
    return f"rep:{days}:{int(notes)}"


REPORT_PATTERN = r"^rep:(30|90):([01])$"


def report_options(notes: bool) -> str:
    return f"rep:o:{int(notes)}"


REPORT_OPTIONS_PATTERN = r"^rep:o:([01])$"
