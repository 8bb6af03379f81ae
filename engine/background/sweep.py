"""The sweep: fire due timers through the engine, each exactly once, a batch per transaction.

A sweep claims a batch of due pending timers (`engine.timers.rows.claim_due`), reading their enrollments in the same
pass, and handles each: decide (`engine.timers.decision`), then apply the decision — fire the trigger as the system
through the advancer (the same judgement, effects and hash-chained audit entry as any advance), defer it, or skip it —
and settle the row. A quiet trigger (no guard, step or effect) whose choice the machine already made goes the fast way
(`engine.background.quiet_firing`): the advancer's rows, made with less work. The rows each firing writes (timers
cancelled and armed, the move, the audit rows, the settlement) wait in a `BatchWrites` and are written together, one
executemany per statement, inside a savepoint around the batch. If anything in that pass fails, the batch rolls back
to its savepoint and is handled again one timer at a time, each in its own savepoint: a timer whose handling fails
then rolls back alone (its failure is written instead) and the others go on. One commit ends the batch, so the disk
flush is paid once per batch. A crash anywhere before commit leaves the batch's timers pending and their enrollments
untouched, so the next sweep fires them; after commit, they are no longer pending. Either way each fires once. The
batch's enrollments stay locked until that commit (PostgreSQL: their rows; SQLite: the database's write lock), and no
one changes them between read and write. A batch is 250 timers by default: at the 7,000-9,000 expiries a second
measured here on a busy machine (bench/sweep.py), staff acting meanwhile wait about 30 ms at most for it; the bench
passes larger batches.

A timer claimed in a batch that an earlier firing of its enrollment in the same batch cancelled (it left the
timer's state) is not fired: it stays cancelled, and counts as refused.

How a timer ends: `fired` (the trigger moved the enrollment), `refused` (its guards said no, e.g. the invite
limit: the advancer recorded why in the history), `deferred`, `skipped` (both said in the history), `failed`
(an error: retried later with backoff, then left for an operator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from engine.actors import SYSTEM_ACTOR
from engine.audit.entry import about_enrollment
from engine.audit.trail import append_to_enrollment
from engine.background.quiet_firing import QuietFirings
from engine.calendars.store import load_calendar
from engine.clock import Clock
from engine.enrollments.advance import AdvanceEnrollment, Advancer
from engine.errors import Conflict, NotAllowed, Refused
from engine.fsm.batch_writes import BatchWrites
from engine.fsm.rows import ROW_COLUMNS, EnrollmentRow, enrollment_row, read_enrollment
from engine.people.subjects import site_id_of
from engine.storage.direct import DirectSavepoint
from engine.timers import rows
from engine.timers.decision import Defer, Fire, Skip, after_failure, decide, first_line
from engine.versions.catalog import WorkflowCatalog

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


class Sweeper:
    def __init__(self, db: Engine, advancer: Advancer, catalog: WorkflowCatalog, clock: Clock, *,
                 late_after: timedelta = timedelta(minutes=15), max_attempts: int = 5,
                 retry_after: timedelta = timedelta(minutes=5), batch: int = 250, fast: bool = True) -> None:
        self.db, self.advancer, self.catalog, self.clock = db, advancer, catalog, clock
        self.late_after, self.max_attempts, self.retry_after = late_after, max_attempts, retry_after
        self.batch = batch
        self.fast = fast  # quiet transitions through `QuietFirings`; False: every firing through the advancer

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
        """Claim up to `size` due timers and handle them in one transaction; their outcomes, once committed."""
        now = self.clock.now()
        problems: list[str] = []
        with self.db.begin() as conn:
            claims = rows.claim_due(conn, now, size, ROW_COLUMNS)
            outcomes = self._together(conn, claims, now, problems) if claims else []
            if outcomes is None:
                problems.clear()
                outcomes = [self._alone(conn, claim, now, problems) for claim in claims]
        if report is not None:
            for outcome in outcomes:
                report.counts[outcome] += 1
            report.problems += problems
        return outcomes

    def _together(self, conn: Connection, claims: list[rows.Claim], now: datetime,
                  problems: list[str]) -> list[str] | None:
        """Handle the batch with its writes together, in a savepoint; None (and nothing kept) when anything failed
        outside a savepoint of its own, so that the caller handles the batch again one timer at a time."""
        batch = DirectSavepoint(conn, "pf_batch")
        writes = BatchWrites()
        quiet = QuietFirings(self.catalog, self.advancer.choices, now) if self.fast else None
        try:
            found = {claim.enrollment_id: enrollment_row(claim.enrollment) for claim in claims
                     if claim.enrollment is not None}
            seen: set[str] = set()
            outcomes = []
            for claim in claims:
                if claim.enrollment_id in seen:  # a second timer of one enrollment: read it as the first left it
                    writes.flush(conn)
                    if not rows.still_pending(conn, claim.id):  # the first one's firing cancelled it
                        outcomes.append("refused")
                        continue
                    found[claim.enrollment_id] = read_enrollment(conn, claim.enrollment_id)
                seen.add(claim.enrollment_id)
                outcomes.append(self._handle_with(conn, claim, found[claim.enrollment_id], now, writes, quiet,
                                                  problems))
            writes.flush(conn)
        except Exception:  # whatever it was, timer by timer finds which timer fails, and records why
            batch.rollback()
            return None
        batch.release()
        return outcomes

    def _handle_with(self, conn: Connection, claim: rows.Claim, row: EnrollmentRow, now: datetime,
                     writes: BatchWrites, fast: QuietFirings | None, problems: list[str]) -> str:
        decision = self._decide(conn, claim, row, now)
        if isinstance(decision, Defer):
            rows.defer(conn, claim.id, decision.until, decision.why)
            return "deferred"
        if isinstance(decision, Skip):
            self._note(conn, row, claim, decision.why, now)
            writes.settle(row.id, claim.id, "skipped", decision.why, now)
            return "skipped"
        if fast is not None and fast.fire(conn, row, claim.trigger, decision.reason, writes):  # the advancer's rows
            writes.settle(row.id, claim.id, "fired", decision.note, now)
            return "fired"
        command = AdvanceEnrollment(claim.enrollment_id, claim.trigger, SYSTEM_ACTOR, expected_version=row.version,
                                    reason=decision.reason)
        quiet = self.advancer.quiet(row, claim.trigger)
        if not quiet:  # guards read what the batch did so far; the advancer's savepoint then undoes this one alone
            writes.flush(conn)
        try:
            self.advancer.advance_in(conn, command, row=row, writes=writes, at=now)
        except NotAllowed as gone:  # the enrollment left the timer's state without cancelling it
            writes.settle(row.id, claim.id, "cancelled", str(gone), now)
            return "refused"
        except (Refused, Conflict) as refusal:  # the advancer recorded it in the enrollment's history
            writes.settle(row.id, claim.id, "refused", str(refusal), now)
            return "refused"
        except Exception as error:
            if quiet:  # no savepoint of its own: the whole batch goes again, timer by timer
                raise
            self._failed(conn, claim, error, now, problems)  # its savepoint is rolled back; the others go on
            return "failed"
        writes.settle(row.id, claim.id, "fired", decision.note, now)
        return "fired"

    def _alone(self, conn: Connection, claim: rows.Claim, now: datetime, problems: list[str]) -> str:
        """Handle one timer in its own savepoint, its writes at once; a failure rolls back this timer alone."""
        savepoint = DirectSavepoint(conn, "pf_timer")
        try:
            outcome = self._handle(conn, claim, now, savepoint)
        except Exception as error:  # one bad enrollment must not stop the sweep: record it, go on
            savepoint.rollback()
            self._failed(conn, claim, error, now, problems)
            return "failed"
        savepoint.release()
        return outcome

    def _decide(self, conn: Connection, claim: rows.Claim, row: EnrollmentRow, now: datetime) -> Fire | Defer | Skip:
        timer = self.catalog.get(row.workflow_id, row.workflow_version).timer(claim.timer_id)
        return decide(claim, timer, now, self.late_after, lambda: load_calendar(
            conn, site_id_of(conn, row.patient_id, row.household_id)).next_open(now))

    def _handle(self, conn: Connection, claim: rows.Claim, now: datetime, savepoint: DirectSavepoint) -> str:
        if not rows.still_pending(conn, claim.id):  # an earlier timer of its enrollment, in this batch, cancelled it
            return "refused"
        row = read_enrollment(conn, claim.enrollment_id)
        decision = self._decide(conn, claim, row, now)
        if isinstance(decision, Defer):
            rows.defer(conn, claim.id, decision.until, decision.why)
            return "deferred"
        if isinstance(decision, Skip):
            rows.settle(conn, claim.id, "skipped", decision.why, now)
            self._note(conn, row, claim, decision.why, now)
            return "skipped"
        return self._fire(conn, claim, row, decision, now, savepoint)

    def _fire(self, conn: Connection, claim: rows.Claim, row: EnrollmentRow, decision: Fire, now: datetime,
              savepoint: DirectSavepoint) -> str:
        """Fire in the timer's savepoint; a refusal ends it (the advancer undid it and recorded why), and the timer
        is then settled in the batch's transaction."""
        command = AdvanceEnrollment(claim.enrollment_id, claim.trigger, SYSTEM_ACTOR, expected_version=row.version,
                                    reason=decision.reason)
        try:
            self.advancer.advance_in(conn, command, row=row, within=savepoint)
        except NotAllowed as gone:  # the enrollment left the timer's state without cancelling it
            rows.settle(conn, claim.id, "cancelled", str(gone), now)
            return "refused"
        except (Refused, Conflict) as refusal:  # the advancer recorded it in the enrollment's history
            rows.settle(conn, claim.id, "refused", str(refusal), now)
            return "refused"
        rows.settle(conn, claim.id, "fired", decision.note, now)
        return "fired"

    def _note(self, conn: Connection, row: EnrollmentRow, claim: rows.Claim, why: str, now: datetime) -> None:
        append_to_enrollment(conn, row, [about_enrollment(
            row, now, SYSTEM_ACTOR, "timer_skipped", "refused", trigger=claim.trigger,
            detail=f"timer '{claim.timer_id}': {why}")])

    def _failed(self, conn: Connection, claim: rows.Claim, error: Exception, now: datetime,
                problems: list[str]) -> None:
        """After its savepoint rolled back: retry later with backoff, or give up after `max_attempts`."""
        attempts, detail, retry_at = after_failure(claim, error, now, max_attempts=self.max_attempts,
                                                   retry_after=self.retry_after)
        rows.record_failure(conn, claim.id, attempts, detail, retry_at=retry_at, now=now)
        problems.append(f"enrollment {claim.enrollment_id}, timer {claim.timer_id}: {first_line(error)}")
