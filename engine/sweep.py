"""The sweep: fire due timers through the engine, each exactly once, each enrollment in its own savepoint.

A sweep claims a batch of due pending timers (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several processes
sweeping one database each take different rows; SQLite: the transaction's `BEGIN IMMEDIATE` already admits one
writer at a time) and locks their enrollments. Each timer is then handled in its own savepoint: mark it settled
and fire its trigger as the system. A timer that fails rolls back to its savepoint alone (its failure is written
instead) and the others go on; one commit ends the batch, so the disk flush is paid once per batch, not per timer.
A crash anywhere before commit leaves the batch's timers pending and their enrollments untouched, so the next
sweep fires them; after commit, they are no longer pending. Either way each fires once. A batch is small (100 by
default, a few tens of milliseconds), so staff acting on one of its enrollments wait at most that long.

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
from engine.errors import Conflict, NotAllowed, Refused
from engine.storage.direct import DirectSavepoint
from engine.storage.tables import enrollments, timers
from engine.subjects import site_id_of
from engine.timing import SETTLE
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
                 retry_after: timedelta = timedelta(minutes=5), batch: int = 100) -> None:
        self.db, self.advancer, self.catalog, self.clock = db, advancer, catalog, clock
        self.late_after, self.max_attempts, self.retry_after = late_after, max_attempts, retry_after
        self.batch = batch

    def sweep(self, limit: int | None = None) -> SweepReport:
        """Fire due timers, a batch per transaction, until none is due (or `limit` were handled)."""
        report = SweepReport()
        while limit is None or report.handled < limit:
            size = self.batch if limit is None else min(self.batch, limit - report.handled)
            if not self.fire_batch(size, report):
                break
        return report

    def fire_next(self, report: SweepReport | None = None) -> str | None:
        """Handle the next due timer alone in one transaction; None when nothing is due."""
        outcomes = self.fire_batch(1, report)
        return outcomes[0] if outcomes else None

    def fire_batch(self, size: int, report: SweepReport | None = None) -> list[str]:
        """Claim up to `size` due timers and handle each in its own savepoint, in one transaction; their outcomes."""
        now = self.clock.now()
        outcomes: list[str] = []
        with self.db.begin() as conn:
            for claim in self._claim(conn, now, size):
                savepoint = DirectSavepoint(conn, "pf_timer")
                try:
                    outcome = self._handle(conn, claim, now)
                except (Refused, Conflict, NotAllowed) as refusal:  # the enrollment said no: settle and record it
                    savepoint.rollback()
                    outcome = self._refused(conn, claim, refusal, now)
                except Exception as error:  # one bad enrollment must not stop the sweep: record it, go on
                    savepoint.rollback()
                    self._record_failure(conn, claim, error, now)
                    if report is not None:
                        report.problems.append(f"enrollment {claim.enrollment_id}, timer {claim.timer_id}: "
                                               f"{_first_line(error)}")
                    outcome = "failed"
                else:
                    savepoint.release()
                outcomes.append(outcome)
        if report is not None:
            for outcome in outcomes:
                report.counts[outcome] += 1
        return outcomes

    # ----- one timer ---------------------------------------------------------------------------------------

    def _claim(self, conn: Connection, now: datetime, size: int) -> list[_Claim]:
        query = (select(timers.c.id, timers.c.enrollment_id, timers.c.timer_id, timers.c.trigger, timers.c.due_at,
                        timers.c.attempts)
                 .where((timers.c.status == "pending") & (timers.c.due_at <= now))
                 .order_by(timers.c.due_at, timers.c.id).limit(size))
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if postgres and rows:  # wait for staff acting on these enrollments, then go first (in id order: no deadlock)
            conn.execute(select(enrollments.c.id).where(enrollments.c.id.in_({r.enrollment_id for r in rows}))
                         .order_by(enrollments.c.id).with_for_update())
        return [_Claim(r.id, r.enrollment_id, r.timer_id, r.trigger, as_utc(r.due_at), r.attempts) for r in rows]

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
        self._settle(conn, claim, "fired", f"fired {_duration(lateness)} late" if late else None, now)
        # The savepoint around this timer is fire_batch's: a refusal rolls it back and `_refused` records it.
        self.advancer.advance_in(conn, self._command(claim, now, row.version), savepoint=False, row=row)
        return "fired"

    def _command(self, claim: _Claim, now: datetime, version: int | None) -> AdvanceEnrollment:
        when = f"timer '{claim.timer_id}' due {claim.due_at:%Y-%m-%d %H:%M} UTC"
        lateness = now - claim.due_at
        return AdvanceEnrollment(claim.enrollment_id, claim.trigger, SYSTEM, expected_version=version,
                                 reason=f"{when}, fired {_duration(lateness)} late" if lateness > self.late_after
                                 else when)

    def _refused(self, conn: Connection, claim: _Claim, refusal: Exception, now: datetime) -> str:
        """After the timer's savepoint rolled back: settle it and, for a refusal, record it in the history."""
        if isinstance(refusal, NotAllowed):  # the enrollment left the timer's state without cancelling it
            self._settle(conn, claim, "cancelled", str(refusal), now)
        else:
            self._settle(conn, claim, "refused", str(refusal), now)
            self.advancer.record_refusal_in(conn, self._command(claim, now, None), refusal)
        return "refused"

    def _settle(self, conn: Connection, claim: _Claim, status: str, detail: str | None, now: datetime) -> None:
        SETTLE.execute(conn, {"b_id": claim.id, "b_status": status, "b_detail": detail, "b_now": now})

    def _note(self, conn: Connection, row: EnrollmentRow, claim: _Claim, action: str, outcome: audit.Outcome,
              detail: str, now: datetime) -> None:
        subject_type, subject_id = subject_of(row)
        append_to_enrollment(conn, row, audit.AuditEntry(
            chain=row.id, at=now, actor_id=SYSTEM.id, actor_role=SYSTEM.role, action=action, outcome=outcome,
            subject_type=subject_type, subject_id=subject_id, enrollment_id=row.id, from_state=row.state,
            trigger=claim.trigger, detail=f"timer '{claim.timer_id}': {detail}"))

    def _record_failure(self, conn: Connection, claim: _Claim, error: Exception, now: datetime) -> None:
        """After its savepoint rolled back: retry later with backoff, or give up after `max_attempts`."""
        attempts = claim.attempts + 1
        detail = f"attempt {attempts} failed: {_first_line(error)}"
        values: dict[str, Any] = {"attempts": attempts, "detail": detail}
        if attempts >= self.max_attempts:
            values.update(status="failed", settled_at=now)
        else:
            values.update(due_at=now + self.retry_after * 2 ** (attempts - 1))
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

