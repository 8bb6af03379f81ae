"""The outbox worker: sends queued messages through channel adapters, each at most once.

At most once, with three transactions around the hand-over:
1. claim (PostgreSQL: `FOR UPDATE SKIP LOCKED`): the row becomes `sending`, with the time, and that is committed
   before anything leaves PortalFlow;
2. hand the message to its channel (SMTP, a folder, a vendor adapter) outside any transaction, secrets filled in
   from the sealed copy only now;
3. record what happened: `sent` (and the sealed secrets are destroyed), `queued` again with a next attempt time
   for a temporary failure (backoff), `failed` for a permanent one or after the last attempt, `review` when the
   channel cannot tell whether the message went (the connection dropped after the final dot).
A worker that dies between 1 and 3 leaves the row `sending`; the next run finds it after `stale_after` and flags it
`review` instead of sending it again: a human checks the mail server (its detail names the message) and decides.
Every outcome is appended to the enrollment's history. Opening-hours messages found while the site is closed
(a closure added after they were queued) wait for the next opening moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from engine.actors import SYSTEM_ACTOR
from engine.audit.entry import Outcome, about_enrollment
from engine.audit.trail import note
from engine.calendars.store import load_calendar
from engine.clock import Clock, as_utc
from engine.messaging.channels import (
    ChannelAdapter,
    OutgoingMessage,
    PermanentFailure,
    TemporaryFailure,
    UnknownOutcome,
)
from engine.messaging.sealing import Sealer, filled
from engine.people.subjects import enrollment_site_id
from engine.storage.tables import outbox, sites

BACKOFF: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                                  timedelta(hours=2), timedelta(hours=12))
OUTCOMES = ("sent", "retry", "failed", "review", "deferred")


@dataclass
class DeliveryReport:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    flagged_stale: int = 0

    @property
    def handled(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        parts = [f"{n} {name}" for name, n in self.counts.items() if n]
        if self.flagged_stale:
            parts.append(f"{self.flagged_stale} left sending by a stopped worker, flagged for review")
        return ", ".join(parts) or "nothing to send"


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    enrollment_id: str
    channel: str
    recipient: str | None
    subject: str | None
    body: str
    html: str | None
    sealed: str | None
    attempts: int
    sender: str


class DeliveryWorker:
    def __init__(self, db: Engine, clock: Clock, sealer: Sealer, adapters: Mapping[str, ChannelAdapter], *,
                 default_sender: str, backoff: Sequence[timedelta] = BACKOFF,
                 stale_after: timedelta = timedelta(minutes=10)) -> None:
        self.db, self.clock, self.sealer, self.adapters = db, clock, sealer, adapters
        self.default_sender, self.backoff, self.stale_after = default_sender, tuple(backoff), stale_after

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1

    def deliver(self, limit: int | None = None) -> DeliveryReport:
        report = DeliveryReport(flagged_stale=self.flag_stale())
        while limit is None or report.handled < limit:
            outcome = self.deliver_next()
            if outcome is None:
                break
            report.counts[outcome] += 1
        return report

    def flag_stale(self) -> int:
        """Rows left `sending` longer than `stale_after`: a worker died mid-conversation. Never re-sent blindly."""
        now = self.clock.now()
        count = 0
        with self.db.begin() as conn:
            stale = conn.execute(select(outbox.c.id, outbox.c.enrollment_id, outbox.c.message_id, outbox.c.sending_at)
                                 .where((outbox.c.status == "sending")
                                        & (outbox.c.sending_at < now - self.stale_after))).all()
            for row in stale:
                detail = (f"the worker stopped while handing outbox-{row.id} to its channel at "
                          f"{as_utc(row.sending_at):%Y-%m-%d %H:%M} UTC: it may or may not have gone; check the "
                          f"channel (mail server log: Message-ID starting outbox-{row.id}.) before sending it again")
                flagged = conn.execute(update(outbox).where(
                    (outbox.c.id == row.id) & (outbox.c.status == "sending")).values(status="review", detail=detail))
                if flagged.rowcount != 1:  # a slow worker recorded its outcome meanwhile: nothing to flag
                    continue
                self._note(conn, row.enrollment_id, "message_review", "failed", f"{row.message_id}: {detail}")
                count += 1
        return count

    def deliver_next(self) -> str | None:
        now = self.clock.now()
        with self.db.begin() as conn:
            claim = self._claim(conn, now)
            if isinstance(claim, str) or claim is None:
                return claim
        return self._send(claim)

    # ----- the three steps -------------------------------------------------------------------------------

    def _claim(self, conn: Connection, now: datetime) -> _Claim | str | None:
        query = (select(outbox).where(
            (outbox.c.status == "queued")
            & or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now)
            & or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.id).limit(1))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        site_id = enrollment_site_id(conn, row.enrollment_id)
        if row.opening_hours:
            opening = load_calendar(conn, site_id).next_open(now)
            if opening.deferred:
                why = f"waits for opening hours: next send {opening.explain()}"
                conn.execute(update(outbox).where(outbox.c.id == row.id).values(not_before=opening.at, detail=why))
                self._note(conn, row.enrollment_id, "message_deferred", "ok", f"outbox-{row.id} ({row.channel}): {why}")
                return "deferred"
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(
            status="sending", sending_at=now, attempts=row.attempts + 1))
        sender = conn.execute(select(sites.c.from_address).where(sites.c.id == site_id)).scalar_one_or_none()
        return _Claim(row.id, row.enrollment_id, row.channel, row.recipient, row.subject, row.body, row.html,
                      row.sealed, row.attempts + 1, sender or self.default_sender)

    def _send(self, claim: _Claim) -> str:
        try:
            secrets = self.sealer.open(claim.sealed) if claim.sealed else {}
            adapter = self.adapters[claim.channel]
            ref = adapter.send(OutgoingMessage(
                f"outbox-{claim.id}", claim.channel, claim.recipient, claim.subject, filled(claim.body, secrets),
                claim.sender, html=None if claim.html is None else filled(claim.html, secrets, escape=True)))
        except TemporaryFailure as failure:
            if claim.attempts >= self.max_attempts:
                return self._finish(claim, "failed", f"gave up after {claim.attempts} attempts: {failure.detail}")
            retry_at = self.clock.now() + self.backoff[claim.attempts - 1]
            return self._finish(claim, "retry", f"attempt {claim.attempts} failed: {failure.detail}; "
                                                f"next attempt {retry_at:%Y-%m-%d %H:%M} UTC", retry_at=retry_at)
        except PermanentFailure as failure:
            return self._finish(claim, "failed", failure.detail)
        except UnknownOutcome as failure:
            return self._finish(claim, "review", f"{failure.detail}; check the channel before sending it again")
        except Exception as error:  # a bug after the claim: whether anything left is unknown, so a human decides
            return self._finish(claim, "review", f"delivery stopped by {type(error).__name__}; "
                                                 "check the channel before sending it again")
        return self._finish(claim, "sent", None, ref=ref)

    def _finish(self, claim: _Claim, outcome: str, detail: str | None, *, retry_at: datetime | None = None,
                ref: str | None = None) -> str:
        now = self.clock.now()
        values: dict[str, Any] = {"detail": detail}
        if outcome == "retry":
            values.update(status="queued", next_attempt_at=retry_at)
        else:
            values.update(status=outcome)
        if outcome == "sent":
            values.update(sent_at=now, delivery_ref=ref)
        if outcome in ("sent", "failed"):
            values.update(sealed=None)  # the secrets have no further use: destroy the only copy
        action = {"sent": "message_sent", "retry": "message_retry", "failed": "message_failed",
                  "review": "message_review"}[outcome]
        text = f"outbox-{claim.id} ({claim.channel})" + (f": {detail}" if detail else "")
        with self.db.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id == claim.id).values(**values))
            self._note(conn, claim.enrollment_id, action, "ok" if outcome == "sent" else "failed", text)
        return outcome

    def _note(self, conn: Connection, enrollment_id: str, action: str, outcome: Outcome, detail: str) -> None:
        at = self.clock.now()
        note(conn, enrollment_id, lambda tip: about_enrollment(tip, at, SYSTEM_ACTOR, action, outcome, detail=detail))
