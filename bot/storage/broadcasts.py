"""Broadcasts and their outbox, one row per recipient, so a restart resumes the worker."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.storage.base import StorageBase, utc_text

# Who a broadcast goes to: 'all' patients who have not opted out, or those in the daily
# check-in programme (who gave consent).
AUDIENCES = ("all", "checkin")
# What an outbox row's state counts as in a report.
OUTBOX_OUTCOMES = ("sent", "blocked", "failed", "skipped", "cancelled")


@dataclass(frozen=True)
class Broadcast:
    id: int
    staff_id: int
    state: str
    body_html: str | None
    photo_file_id: str | None
    audience: str | None
    recipients: int | None
    progress_message_id: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    # The language of the version staff are writing now ('composing'), else None.
    composing_language: str | None = None
    # (language, body_html) of each version in another language; body_html is for everyone else.
    versions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OutboxItem:
    """One message the worker has to send, with what it needs to know about its patient."""

    broadcast: Broadcast
    user_id: int
    attempts: int
    language: str
    opted_out: bool
    blocked: bool


@dataclass(frozen=True)
class BroadcastReport:
    broadcast: Broadcast
    pending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.blocked + self.failed + self.skipped + self.cancelled




class BroadcastQueries(StorageBase):
    # broadcasts: composing and sending

    async def start_composing(self, staff_id: int, now: datetime) -> tuple[int, bool]:
        """A new broadcast waiting for its message. Returns (its id, whether an unsent
        draft of this staff member was set aside for it)."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET state = 'discarded' WHERE staff_id = ? AND state IN ('composing', 'draft')",
                (staff_id,),
            )
            replaced = cursor.rowcount > 0
            cursor = await db.execute(
                "INSERT INTO broadcasts (staff_id, state, created_at) VALUES (?, 'composing', ?)",
                (staff_id, utc_text(now)),
            )
            broadcast_id = cursor.lastrowid
        self._awaiting[self.AWAITING_BROADCAST].add(staff_id)
        return broadcast_id, replaced

    async def composing_broadcast(self, staff_id: int) -> Broadcast | None:
        return await self._one_broadcast("WHERE staff_id = ? AND state = 'composing'", (staff_id,))

    async def set_broadcast_message(self, broadcast_id: int, body_html: str, photo_file_id: str | None) -> bool:
        """Keep the message of a broadcast being composed; False if it is no longer so."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'draft', body_html = ?, photo_file_id = ?
                WHERE id = ? AND state = 'composing'
                RETURNING staff_id
                """,
                (body_html, photo_file_id, broadcast_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is not None:
            self._awaiting[self.AWAITING_BROADCAST].discard(row[0])
        return row is not None

    # -- versions in other languages ---------------------------------------------------------

    async def start_composing_version(self, broadcast_id: int, language: str) -> bool:
        """A draft waits for its text in `language`; False if it is no longer a draft."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'composing', composing_language = ?
                WHERE id = ? AND state = 'draft'
                RETURNING staff_id
                """,
                (language, broadcast_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is not None:
            self._awaiting[self.AWAITING_BROADCAST].add(row[0])
        return row is not None

    async def set_broadcast_version(self, broadcast_id: int, language: str, body_html: str) -> bool:
        """Keep the version being written (replacing an earlier one); back to a draft."""
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'draft', composing_language = NULL
                WHERE id = ? AND state = 'composing' AND composing_language = ?
                RETURNING staff_id
                """,
                (broadcast_id, language),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return False
            await db.execute(
                "INSERT INTO broadcast_versions (broadcast_id, language, body_html) VALUES (?, ?, ?) "
                "ON CONFLICT (broadcast_id, language) DO UPDATE SET body_html = excluded.body_html",
                (broadcast_id, language, body_html),
            )
        self._awaiting[self.AWAITING_BROADCAST].discard(row[0])
        return True

    async def audience_languages(self, audience: str, staff_ids: frozenset[int]) -> dict[str, int]:
        """How many of an audience have each stored language ('' = not known yet)."""
        where, values = _audience_filter(audience, staff_ids)
        async with self._db.execute(
            f"SELECT p.language, count(*) FROM patients p WHERE {where} GROUP BY p.language", values
        ) as cursor:
            return {language: count for language, count in await cursor.fetchall()}

    async def broadcast_languages_report(self, broadcast_id: int) -> dict[str, dict[str, int]]:
        """For the report: outbox outcomes by the recipients' stored language."""
        async with self._db.execute(
            "SELECT p.language, o.state, count(*) FROM outbox o JOIN patients p ON p.user_id = o.user_id "
            "WHERE o.broadcast_id = ? GROUP BY p.language, o.state",
            (broadcast_id,),
        ) as cursor:
            found: dict[str, dict[str, int]] = {}
            for language, state, count in await cursor.fetchall():
                found.setdefault(language, {})[state] = count
        return found

    async def set_broadcast_audience(self, broadcast_id: int, audience: str) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET audience = ? WHERE id = ? AND state = 'draft'", (audience, broadcast_id)
            )
        return cursor.rowcount == 1

    async def broadcast(self, broadcast_id: int) -> Broadcast | None:
        return await self._one_broadcast("WHERE id = ?", (broadcast_id,))

    async def discard_drafts(self, staff_id: int) -> int:
        """Set aside this staff member's broadcast being composed or waiting for Send."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET state = 'discarded' WHERE staff_id = ? AND state IN ('composing', 'draft')",
                (staff_id,),
            )
        self._awaiting[self.AWAITING_BROADCAST].discard(staff_id)
        return cursor.rowcount

    async def discard_draft(self, broadcast_id: int) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'discarded'
                WHERE id = ? AND state IN ('composing', 'draft')
                RETURNING staff_id
                """,
                (broadcast_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
        if row is not None:
            self._awaiting[self.AWAITING_BROADCAST].discard(row[0])
        return row is not None

    async def audience_size(self, audience: str, staff_ids: frozenset[int]) -> int:
        where, values = _audience_filter(audience, staff_ids)
        async with self._db.execute(f"SELECT count(*) FROM patients p WHERE {where}", values) as cursor:
            (count,) = await cursor.fetchone()
        return count

    async def start_sending(
        self, broadcast_id: int, staff_ids: frozenset[int], progress_message_id: int, now: datetime
    ) -> int | None:
        """Write one outbox row per recipient and hand the broadcast to the worker.

        Returns the number of recipients, or None if the broadcast is no longer a draft
        with an audience (sent or discarded since the button was shown). The rows come
        first: should the state change be lost, Send still finds a draft and the rows are
        not written twice.
        """
        broadcast = await self.broadcast(broadcast_id)
        if broadcast is None or broadcast.state != "draft" or broadcast.audience not in AUDIENCES:
            return None
        where, values = _audience_filter(broadcast.audience, staff_ids)
        async with self.transaction() as db:
            await db.execute(
                f"""
                INSERT OR IGNORE INTO outbox (broadcast_id, user_id)
                SELECT ?, p.user_id FROM patients p WHERE {where}
                """,
                (broadcast_id, *values),
            )
            async with db.execute("SELECT count(*) FROM outbox WHERE broadcast_id = ?", (broadcast_id,)) as cursor:
                (recipients,) = await cursor.fetchone()
            cursor = await db.execute(
                """
                UPDATE broadcasts SET state = 'sending', recipients = ?, progress_message_id = ?, started_at = ?
                WHERE id = ? AND state = 'draft'
                """,
                (recipients, progress_message_id, utc_text(now), broadcast_id),
            )
            if cursor.rowcount != 1:
                return None
            await self._audit(db, now, broadcast.staff_id, "broadcast_sent", broadcast_id, recipients)
        return recipients

    async def cancel_broadcast(self, broadcast_id: int, staff_id: int, now: datetime) -> bool:
        """Stop a broadcast being sent; the worker sends its report. False if not sending."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE broadcasts SET state = 'cancelled' WHERE id = ? AND state = 'sending'", (broadcast_id,)
            )
            if cursor.rowcount != 1:
                return False
            await self._audit(db, now, staff_id, "broadcast_cancelled", broadcast_id, None)
        return True

    async def sending_broadcasts(self) -> list[Broadcast]:
        return await self._broadcasts("WHERE state = 'sending' ORDER BY id", ())

    # broadcasts: the worker

    async def next_outbox_item(self) -> OutboxItem | None:
        """The next message to send: oldest broadcast first, then by patient."""
        items = await self.next_outbox_items(1)
        return items[0] if items else None

    async def next_outbox_items(self, limit: int, leave_out: Iterable[tuple[int, int]] = ()) -> list[OutboxItem]:
        """The next pending messages in sending order (oldest broadcast, then by patient),
        leaving out those already being sent, given as (broadcast id, user id) pairs."""
        async with self._db.execute(
            """
            SELECT o.broadcast_id, o.user_id, o.attempts, p.language, p.opted_out, p.blocked
            FROM outbox o
            JOIN broadcasts b ON b.id = o.broadcast_id
            JOIN patients p ON p.user_id = o.user_id
            WHERE o.state = 'pending' AND b.state = 'sending'
              AND o.broadcast_id || ':' || o.user_id NOT IN (SELECT value FROM json_each(?))
            ORDER BY o.broadcast_id, o.user_id
            LIMIT ?
            """,
            (json.dumps([f"{b}:{u}" for b, u in leave_out]), limit),
        ) as cursor:
            rows = await cursor.fetchall()
        broadcasts: dict[int, Broadcast | None] = {}
        items = []
        for row in rows:
            broadcast_id = row["broadcast_id"]
            if broadcast_id not in broadcasts:
                broadcasts[broadcast_id] = await self.broadcast(broadcast_id)
            items.append(OutboxItem(
                broadcast=broadcasts[broadcast_id],
                user_id=row["user_id"],
                attempts=row["attempts"],
                language=row["language"],
                opted_out=bool(row["opted_out"]),
                blocked=bool(row["blocked"]),
            ))
        return items

    async def broadcast_is_sending(self, broadcast_id: int) -> bool:
        """Still to be sent (not cancelled, not finished): asked before each send starts."""
        async with self._db.execute("SELECT state FROM broadcasts WHERE id = ?", (broadcast_id,)) as cursor:
            row = await cursor.fetchone()
        return row is not None and row[0] == "sending"

    async def record_outcome(self, broadcast_id: int, user_id: int, outcome: str, now: datetime) -> None:
        """What became of one outbox row: 'sent', 'blocked', 'failed' or 'skipped'.

        'blocked' also marks the patient, so no later broadcast or reminder tries again.
        """
        if outcome not in OUTBOX_OUTCOMES:
            raise ValueError(f"unknown outbox outcome {outcome!r}")
        async with self.transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = ?, done_at = ? WHERE broadcast_id = ? AND user_id = ?",
                (outcome, utc_text(now), broadcast_id, user_id),
            )
            if outcome == "blocked":
                await db.execute("UPDATE patients SET blocked = 1 WHERE user_id = ?", (user_id,))
                self._recently_recorded.pop(user_id, None)  # their next message unblocks

    async def record_failed_attempt(self, broadcast_id: int, user_id: int) -> int:
        """Count one try that failed for a passing reason; returns the tries so far."""
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE outbox SET attempts = attempts + 1 WHERE broadcast_id = ? AND user_id = ? RETURNING attempts",
                (broadcast_id, user_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return row[0] if row else 0

    async def broadcast_report(self, broadcast_id: int) -> BroadcastReport | None:
        broadcast = await self.broadcast(broadcast_id)
        if broadcast is None:
            return None
        async with self._db.execute(
            "SELECT state, count(*) FROM outbox WHERE broadcast_id = ? GROUP BY state", (broadcast_id,)
        ) as cursor:
            counts = {state: count for state, count in await cursor.fetchall()}
        return BroadcastReport(broadcast, **counts)

    async def broadcasts_to_finish(self) -> list[Broadcast]:
        """Broadcasts whose report is due: cancelled ones, and sent ones with nothing left."""
        return await self._broadcasts(
            """
            WHERE finished_at IS NULL AND (
                state = 'cancelled'
                OR (state = 'sending' AND NOT EXISTS (
                    SELECT 1 FROM outbox o WHERE o.broadcast_id = broadcasts.id AND o.state = 'pending'))
            )
            ORDER BY id
            """,
            (),
        )

    async def finish_broadcast(self, broadcast_id: int, now: datetime) -> None:
        """After the report: a cancelled broadcast's unsent rows say so; a sent one is done."""
        async with self.transaction() as db:
            await db.execute(
                """
                UPDATE outbox SET state = 'cancelled', done_at = ?
                WHERE broadcast_id = ? AND state = 'pending'
                  AND (SELECT state FROM broadcasts WHERE id = ?) = 'cancelled'
                """,
                (utc_text(now), broadcast_id, broadcast_id),
            )
            await db.execute(
                """
                UPDATE broadcasts SET finished_at = ?,
                    state = CASE state WHEN 'sending' THEN 'done' ELSE state END
                WHERE id = ?
                """,
                (utc_text(now), broadcast_id),
            )

    async def recent_broadcast_reports(self, limit: int = 5) -> list[BroadcastReport]:
        broadcasts = await self._broadcasts(
            "WHERE state IN ('sending', 'done', 'cancelled') ORDER BY id DESC LIMIT ?", (limit,)
        )
        reports = [await self.broadcast_report(broadcast.id) for broadcast in broadcasts]
        return [report for report in reports if report is not None]

    async def _one_broadcast(self, where: str, values: tuple) -> Broadcast | None:
        found = await self._broadcasts(f"{where} LIMIT 1", values)
        return found[0] if found else None

    async def _broadcasts(self, where: str, values: tuple) -> list[Broadcast]:
        async with self._db.execute(f"SELECT * FROM broadcasts {where}", values) as cursor:
            rows = await cursor.fetchall()
        versions: dict[int, list[tuple[str, str]]] = {}
        if rows:
            ids = json.dumps([row["id"] for row in rows])
            async with self._db.execute(
                "SELECT broadcast_id, language, body_html FROM broadcast_versions "
                "WHERE broadcast_id IN (SELECT value FROM json_each(?)) ORDER BY language",
                (ids,),
            ) as cursor:
                for broadcast_id, language, body_html in await cursor.fetchall():
                    versions.setdefault(broadcast_id, []).append((language, body_html))
        return [Broadcast(**dict(row), versions=tuple(versions.get(row["id"], ()))) for row in rows]


def _audience_filter(audience: str, staff_ids: frozenset[int]) -> tuple[str, tuple]:
    """SQL over `patients p` for who a broadcast reaches: private chats of patients (user
    ids are positive; groups are never in `patients`) who did not opt out or block the
    bot, not the clinic's own staff, and for 'checkin' only those who gave consent."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    where = (
        "p.user_id > 0 AND p.opted_out = 0 AND p.blocked = 0"
        " AND p.user_id NOT IN (SELECT value FROM json_each(?))"
    )
    if audience == "checkin":
        where += " AND EXISTS (SELECT 1 FROM consents k WHERE k.user_id = p.user_id)"
    return where, (json.dumps(sorted(staff_ids)),)
