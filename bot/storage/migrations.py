"""The schema, as forward-only migrations shared by every storage module."""

from __future__ import annotations

# Forward-only migrations: entry N brings the schema from version N to N+1. Never edit a
# migration that has shipped; add a new one. PRAGMA user_version holds the current version.
MIGRATIONS: list[str] = [
    # 1: who the bot talks to. Only what the bot needs: the Telegram id to reply, the first
    # name to greet and to tell staff who asked, the language to pick content, and flags
    # that keep the bot from messaging people who said no or blocked it.
    """
    CREATE TABLE patients (
        user_id     INTEGER PRIMARY KEY,          -- Telegram user id (= private chat id)
        first_name  TEXT NOT NULL DEFAULT '',
        language    TEXT NOT NULL DEFAULT 'en',
        first_seen  TEXT NOT NULL,
        last_seen   TEXT NOT NULL,
        opted_out   INTEGER NOT NULL DEFAULT 0,   -- /stop: no messages the bot starts
        blocked     INTEGER NOT NULL DEFAULT 0    -- the patient blocked the bot
    ) STRICT;
    CREATE TABLE group_chats (
        chat_id     INTEGER PRIMARY KEY,          -- a group the bot was added to
        notified_at TEXT NOT NULL                 -- when it said it works in private only
    ) STRICT;
    """,
    # 2: daily pain check-ins, only for patients who opted in. Health data: nothing here
    # is kept without a consent row, and /delete removes every row of a patient.
    """
    CREATE TABLE consents (
        user_id        INTEGER PRIMARY KEY REFERENCES patients (user_id) ON DELETE CASCADE,
        notice_version TEXT NOT NULL,             -- the privacy notice the patient agreed to
        consented_at   TEXT NOT NULL
    ) STRICT;
    CREATE TABLE checkins (
        id           INTEGER PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        created_at   TEXT NOT NULL,               -- UTC; shown in the patient's time zone
        pain         INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10),
        interference INTEGER CHECK (interference BETWEEN 0 AND 10),
        sleep        INTEGER CHECK (sleep BETWEEN 1 AND 3),   -- poor, fair, good
        mood         INTEGER CHECK (mood BETWEEN 1 AND 3),    -- low, okay, good
        note         TEXT,
        -- The message whose score button made this check-in: a second tap on the same
        -- message updates it instead of saving twice.
        message_id   INTEGER NOT NULL,
        UNIQUE (user_id, message_id)
    ) STRICT;
    CREATE INDEX checkins_by_patient_time ON checkins (user_id, created_at);
    CREATE TABLE reminders (
        user_id        INTEGER PRIMARY KEY REFERENCES patients (user_id) ON DELETE CASCADE,
        local_time     TEXT NOT NULL,             -- "HH:MM" in the patient's time zone
        timezone       TEXT NOT NULL,             -- IANA name
        paused         INTEGER NOT NULL DEFAULT 0,
        next_due       TEXT NOT NULL,             -- UTC time of the next prompt
        last_sent_day  TEXT,                      -- local date of the last daily prompt
        snoozed        INTEGER NOT NULL DEFAULT 0 -- next_due is a "remind me in 1 hour"
    ) STRICT;
    CREATE INDEX reminders_due ON reminders (next_due) WHERE paused = 0;
    -- What a patient's next typed message is for (a check-in note, a reminder time...),
    -- kept here so a restart does not lose it.
    CREATE TABLE awaiting_text (
        user_id    INTEGER PRIMARY KEY REFERENCES patients (user_id) ON DELETE CASCADE,
        purpose    TEXT NOT NULL,                 -- 'note', 'time', 'timezone'
        checkin_id INTEGER,                       -- for a note: the check-in it belongs to
        since      TEXT NOT NULL
    ) STRICT;
    """,
    # 3: clinic staff. A broadcast and its outbox, one row per recipient, so a restart
    # resumes where the worker was; call-back requests and where staff were told of them;
    # an audit log of what staff did; and the key that makes export ids pseudonymous.
    """
    CREATE TABLE broadcasts (
        id                  INTEGER PRIMARY KEY,
        staff_id            INTEGER NOT NULL,     -- who wrote it; progress and report go there
        state               TEXT NOT NULL CHECK (state IN
                                ('composing', 'draft', 'sending', 'done', 'cancelled', 'discarded')),
        body_html           TEXT,                 -- the text, or a photo's caption (Telegram HTML)
        photo_file_id       TEXT,                 -- NULL for a text broadcast
        audience            TEXT CHECK (audience IN ('all', 'checkin')),
        recipients          INTEGER,              -- outbox rows written when Send was tapped
        progress_message_id INTEGER,              -- the message the worker keeps up to date
        created_at          TEXT NOT NULL,
        started_at          TEXT,
        finished_at         TEXT                  -- set once the report has been sent
    ) STRICT;
    CREATE INDEX broadcasts_by_state ON broadcasts (state);
    CREATE TABLE outbox (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id),
        -- A patient who erases their data leaves no trace here either.
        user_id      INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                         ('pending', 'sent', 'blocked', 'failed', 'skipped', 'cancelled')),
        attempts     INTEGER NOT NULL DEFAULT 0,  -- tries that failed for a passing reason
        done_at      TEXT,
        PRIMARY KEY (broadcast_id, user_id)
    ) STRICT, WITHOUT ROWID;
    -- The worker's "what next": the first pending row, without walking the sent ones.
    CREATE INDEX outbox_pending ON outbox (broadcast_id, user_id) WHERE state = 'pending';
    -- /delete and the cascade from patients look a patient's rows up by user_id.
    CREATE INDEX outbox_by_patient ON outbox (user_id);
    CREATE TABLE callback_requests (
        id             INTEGER PRIMARY KEY,
        user_id        INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        -- 'phone' and 'time': the patient is being asked; 'open': staff were told.
        stage          TEXT NOT NULL CHECK (stage IN ('phone', 'time', 'open', 'handled')),
        phone          TEXT,                      -- the patient's own, from request_contact
        preferred_time TEXT,                      -- as typed; NULL when skipped
        started_at     TEXT NOT NULL,
        submitted_at   TEXT,
        handled_by     INTEGER,                   -- the staff member's user id
        handled_at     TEXT
    ) STRICT;
    -- One request per patient being asked for or waiting for a call.
    CREATE UNIQUE INDEX callback_requests_one_live ON callback_requests (user_id)
        WHERE stage IN ('phone', 'time', 'open');
    -- Every message that told staff of a request, so "handled" updates each copy.
    CREATE TABLE callback_notices (
        request_id INTEGER NOT NULL REFERENCES callback_requests (id) ON DELETE CASCADE,
        chat_id    INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (request_id, chat_id)
    ) STRICT;
    -- Who did what and when. Ids and counts only: never a message, phone or score.
    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        staff_id INTEGER NOT NULL,
        action   TEXT NOT NULL CHECK (action IN
                     ('broadcast_sent', 'broadcast_cancelled', 'export', 'callback_handled')),
        subject  INTEGER,                         -- the broadcast or call-back request
        amount   INTEGER                          -- recipients of a broadcast, rows of an export
    ) STRICT;
    CREATE TABLE secrets (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;
    -- Export ids are an HMAC of the Telegram id with this key: stable within this
    -- database, meaningless outside it.
    INSERT INTO secrets (name, value) VALUES ('export_pseudonym_key', randomblob(32));
    """,
    # 4: the durable inbox. An update is written here before Telegram is told it arrived
    # (the next getUpdates confirms it) and finished after its handlers ran, so a crash
    # loses nothing. A finished row keeps only its id and time (no text, no chat), so an
    # update Telegram delivers twice is recognised; finished rows are pruned after a day.
    """
    CREATE TABLE inbox (
        update_id   INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,                -- by the bot's clock
        chat_id     INTEGER,                      -- where to say sorry; NULL once finished
        payload     TEXT,                         -- the update as JSON; NULL once finished
        finished_at TEXT
    ) STRICT;
    CREATE INDEX inbox_unfinished ON inbox (update_id) WHERE finished_at IS NULL;
    """,
    # 5: languages. patients.language is now the patient's own: taken from Telegram the
    # first time, then changed only by /language. Rows written before knew only English,
    # so they are taken from Telegram once more ('' = not known yet). A broadcast may have
    # a version per language; the broadcast's own body is the one for everyone else.
    """
    UPDATE patients SET language = '';
    -- While staff write a version in another language, which one ('es'); NULL otherwise.
    ALTER TABLE broadcasts ADD COLUMN composing_language TEXT;
    CREATE TABLE broadcast_versions (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
        language     TEXT NOT NULL,               -- a content folder: 'es'
        body_html    TEXT NOT NULL,               -- the text, or the photo's caption, in it
        PRIMARY KEY (broadcast_id, language)
    ) STRICT, WITHOUT ROWID;
    """,
    # 6: treatment sessions a patient notes (TMS, ketamine), the weekly PEG check (its
    # opt-in and its answers), and /report in the audit log. SQLite cannot change a CHECK,
    # so audit_log is rebuilt with 'report' among its actions and a `pseudonym` column (the
    # export id of the patient a staff report was about: never the Telegram id, so the
    # audit says nothing about a patient who later erased their data).
    """
    CREATE TABLE treatment_sessions (
        id        INTEGER PRIMARY KEY,
        user_id   INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        kind      TEXT NOT NULL CHECK (kind IN ('tms', 'ketamine')),
        day       TEXT NOT NULL,                  -- the patient's local date, YYYY-MM-DD
        noted_at  TEXT NOT NULL,                  -- UTC, when the patient noted it
        UNIQUE (user_id, kind, day)               -- a double tap notes it once
    ) STRICT;
    CREATE TABLE peg_settings (
        user_id   INTEGER PRIMARY KEY REFERENCES patients (user_id) ON DELETE CASCADE,
        next_due  TEXT NOT NULL                   -- UTC time of the next weekly PEG
    ) STRICT;
    CREATE INDEX peg_due ON peg_settings (next_due);
    CREATE TABLE peg_answers (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES patients (user_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,                 -- UTC, the first answer
        pain       INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10),
        enjoyment  INTEGER CHECK (enjoyment BETWEEN 0 AND 10),
        activity   INTEGER CHECK (activity BETWEEN 0 AND 10),
        message_id INTEGER NOT NULL,              -- a second tap on one message updates
        UNIQUE (user_id, message_id)
    ) STRICT;
    CREATE INDEX peg_answers_by_patient ON peg_answers (user_id, created_at);
    CREATE TABLE audit_log_new (
        id        INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        staff_id  INTEGER NOT NULL,
        action    TEXT NOT NULL CHECK (action IN
                      ('broadcast_sent', 'broadcast_cancelled', 'export', 'callback_handled', 'report')),
        subject   INTEGER,
        amount    INTEGER,                        -- ...or the days a report covers
        pseudonym TEXT                            -- a report's patient, as /export names them
    ) STRICT;
    INSERT INTO audit_log_new (id, at, staff_id, action, subject, amount)
        SELECT id, at, staff_id, action, subject, amount FROM audit_log;
    DROP TABLE audit_log;
    ALTER TABLE audit_log_new RENAME TO audit_log;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
