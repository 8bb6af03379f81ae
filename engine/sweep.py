"""The sweep: fire due timers through the engine, each exactly once, one enrollment per transaction.

Each firing is one transaction: claim the next due pending timer (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
several processes sweeping one database each take different rows; SQLite: the transaction's `BEGIN IMMEDIATE`
already admits one writer at a time), lock its enrollment, mark the timer settled and fire its trigger as the
system, in that one transaction. A crash anywhere before commit leaves the timer pending and the enrollment
untouched, so the next sweep fires it; after commit, the timer is no longer pending. Either way it fires once.

What a firing can turn into:
- `fired`: the trigger moved the enrollment (late firings say so in the history);
- `refused`: the trigger's guards said no (e.g. the invite limit); the refusal is in the enrollment's history;
- `deferred`: an `opening_hours` timer found the site closed (a closure added since it was armed, or a late
  firing at night): it waits for the next opening moment and says so;
- `skipped`: it came late (more than `late_after` after it fell due, i.e. nothing was running) and its
  declared late policy is `skip`: dropped, with the reason recorded;
- `failed`: an error (a bug, a broken template): that enrollment's transaction rolls back, the timer is retried
  later with backoff and, after `max_attempts`, marked failed for an operator. The sweep goes on with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from definitions.model import LatePolicy
from engine import audit
from engine.advance import AdvanceEnrollment, Advancer, read_enrollment
from engine.calendar_store import load_calendar
from engine.chains import append_to_enrollment, subject_of
from engine.clock import Clock, as_utc
from engine.context import SYSTEM_ACTOR, EnrollmentRow
from engine.errors import NotAllowed, Refused
from engine.storage.tables import enrollments, timers
from engine.subjects import site_id_of
from engine.workflows import WorkflowCatalog

SYSTEM = SYSTEM_ACTOR
OUTCOMES = ("fired", "refused", "deferred", "skipped", "failed")


@dataclass
class SweepReport:
    """Counts per outcome, and one line per timer that failed (its enrollment and the error's first line)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    problems: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        return ", ".join(f"{n} {name}" for name, n in self.counts.items() if n) or "nothing due"


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    enrollment_id: str
    timer_id: str
    trigger: str
    due_at: datetime
    attempts: int


class Sweeper:
    def __init__(self, db: Engine, advancer: Advancer, catalog: WorkflowCatalog, clock: Clock, *,
                 late_after: timedelta = timedelta(minutes=15), max_attempts: int = 5,
                 retry_after: timedelta = timedelta(minutes=5)) -> None:
        self.db, self.advancer, self.catalog, self.clock = db, advancer, catalog, clock
        self.late_after, self.max_attempts, self.retry_after = late_after, max_attempts, retry_after

    def sweep(self, limit: int | None = None) -> SweepReport:
        """Fire due timers until none is due (or `limit` were handled)."""
        report = SweepReport()
        while limit is None or report.handled < limit:
            outcome = self.fire_next(report)
            if outcome is None:
                break
            report.counts[outcome] += 1
        return report

    def fire_next(self, report: SweepReport | None = None) -> str | None:
        """Handle the next due timer in its own transaction; None when nothing is due."""
        now = self.clock.now()
        claim: _Claim | None = None
        try:
            with self.db.begin() as conn:
                claim = self._claim(conn, now)
                if claim is None:
                    return None
                return self._handle(conn, claim, now)
        except Exception as error:  # one bad enrollment must not stop the sweep: record it, go on
            if claim is None:
                raise
            self._record_failure(claim, error, now)
            if report is not None:
                report.problems.append(f"enrollment {claim.enrollment_id}, timer {claim.timer_id}: "
                                       f"{_first_line(error)}")
            return "failed"

    # ----- one timer ---------------------------------------------------------------------------------------

    def _claim(self, conn: Connection, now: datetime) -> _Claim | None:
        query = (select(timers.c.id, timers.c.enrollment_id, timers.c.timer_id, timers.c.trigger, timers.c.due_at,
                        timers.c.attempts)
                 .where((timers.c.status == "pending") & (timers.c.due_at <= now))
                 .order_by(timers.c.due_at, timers.c.id).limit(1))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        if conn.dialect.name == "postgresql":  # wait for staff acting on the same enrollment, then go first
            conn.execute(select(enrollments.c.id).where(enrollments.c.id == row.enrollment_id).with_for_update())
        return _Claim(row.id, row.enrollment_id, row.timer_id, row.trigger, as_utc(row.due_at), row.attempts)

    def _handle(self, conn: Connection, claim: _Claim, now: datetime) -> str:
        row = read_enrollment(conn, claim.enrollment_id)
        definition = self.catalog.get(row.workflow_id, row.workflow_version)
        timer = definition.timer(claim.timer_id)
        if timer.opening_hours:
            opening = load_calendar(conn, site_id_of(conn, row.patient_id, row.household_id)).next_open(now)
            if opening.deferred:
                conn.execute(update(timers).where(timers.c.id == claim.id).values(
                    due_at=opening.at, detail=f"waits for opening hours: next firing {opening.explain()}"))
                return "deferred"
        lateness = now - claim.due_at
        late = lateness > self.late_after
        if late and timer.late is LatePolicy.SKIP:
            why = (f"due {claim.due_at:%Y-%m-%d %H:%M} UTC, found {_duration(lateness)} late; "
                   f"late policy: skip")
            self._settle(conn, claim, "skipped", why, now)
            self._note(conn, row, claim, "timer_skipped", "refused", why, now)
            return "skipped"
        when = f"timer '{timer.id}' due {claim.due_at:%Y-%m-%d %H:%M} UTC"
        self._settle(conn, claim, "fired", f"fired {_duration(lateness)} late" if late else None, now)
        command = AdvanceEnrollment(row.id, claim.trigger, SYSTEM, expected_version=row.version,
                                    reason=f"{when}, fired {_duration(lateness)} late" if late else when)
        try:
            self.advancer.advance_in(conn, command)
        except Refused as refusal:
            self._settle(conn, claim, "refused", str(refusal), now)
            return "refused"
        except NotAllowed as gone:  # the enrollment left the timer's state without cancelling it
            self._settle(conn, claim, "cancelled", str(gone), now)
            return "refused"
        return "fired"

    def _settle(self, conn: Connection, claim: _Claim, status: str, detail: str | None, now: datetime) -> None:
        conn.execute(update(timers).where(timers.c.id == claim.id).values(
            status=status, detail=detail, settled_at=now))

    def _note(self, conn: Connection, row: EnrollmentRow, claim: _Claim, action: str, outcome: audit.Outcome,
              detail: str, now: datetime) -> None:
        subject_type, subject_id = subject_of(row)
        append_to_enrollment(conn, row, audit.AuditEntry(
            chain=row.id, at=now, actor_id=SYSTEM.id, actor_role=SYSTEM.role, action=action, outcome=outcome,
            subject_type=subject_type, subject_id=subject_id, enrollment_id=row.id, from_state=row.state,
            trigger=claim.trigger, detail=f"timer '{claim.timer_id}': {detail}"))

    def _record_failure(self, claim: _Claim, error: Exception, now: datetime) -> None:
        """In a fresh transaction: retry later with backoff, or give up after `max_attempts`."""
        attempts = claim.attempts + 1
        detail = f"attempt {attempts} failed: {_first_line(error)}"
        values: dict[str, Any] = {"attempts": attempts, "detail": detail}
        if attempts >= self.max_attempts:
            values.update(status="failed", settled_at=now)
        else:
            values.update(due_at=now + self.retry_after * 2 ** (attempts - 1))
        with self.db.begin() as conn:
            conn.execute(update(timers).where((timers.c.id == claim.id) & (timers.c.status == "pending"))
                         .values(**values))




def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days {hours % 24} h"


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}"

