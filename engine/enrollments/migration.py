"""Move running enrollments onto a newer version of their workflow: a dry run that says what would happen to each,
or the move itself, each enrollment in its own transaction.

Every enrollment of the workflow on an older version, not yet in one of its version's final states, is planned
(`engine.versions.migration_plan`): moves to state T, or blocked and why. Moving one cancels its pending timers,
arms the new state's by the new version's rules (a timer that stays keeps counting from when it was first armed),
puts it on the new version with its optimistic version raised (a page drawn before gets a conflict), and appends
`migrated` to its history: from version/state, to version/state, who, why. Each move commits on its own, so a run
killed half-way leaves every enrollment on one version or the other, and running it again moves the rest: each
enrollment moves exactly once. A blocked one is left as it is, and says what would unblock it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine

from definitions.model import WorkflowDefinition
from engine.actors import ActorRef
from engine.audit.entry import ChainHead, about_enrollment
from engine.audit.trail import prepare, write
from engine.calendars.site_calendar import SiteCalendar
from engine.calendars.store import load_calendar
from engine.clock import Clock
from engine.errors import InvalidInput
from engine.fsm.rows import EnrollmentRow, move_to_version, read_enrollment, running_on_versions, steps_ticked
from engine.people.subjects import enrollment_site_id
from engine.storage.database import reading
from engine.timers.plan import plan as due_of
from engine.timers.rows import arm_timer, cancel_named, pending_of
from engine.versions.catalog import WorkflowCatalog
from engine.versions.migration_plan import Blocked, Move, PendingTimerRef, check_map, plan

OUTCOMES = ("moved", "would move", "blocked", "changed meanwhile")


@dataclass(frozen=True, slots=True)
class MigrateWorkflow:
    """Command: move the running enrollments of `workflow_id` on older versions to version `to_version`."""

    workflow_id: str
    to_version: int
    actor: ActorRef
    mapping: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None
    dry_run: bool = False
    limit: int | None = None  # at most this many (a large practice may move in chunks; run again for the rest)


@dataclass(frozen=True, slots=True)
class MigrationOutcome:
    enrollment_id: str
    from_version: int
    from_state: str
    outcome: str  # one of OUTCOMES
    to_state: str | None
    detail: str  # why blocked; or the timers and notes of a move


@dataclass(frozen=True, slots=True)
class MigrationReport:
    workflow_id: str
    to_version: int
    dry_run: bool
    outcomes: tuple[MigrationOutcome, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name}" for name in OUTCOMES if (n := self.count(name)))
        what = "dry run" if self.dry_run else "migration"
        return (f"{what} of {self.workflow_id} to version {self.to_version}: {counts or 'nothing to move'} "
                f"(of {len(self.outcomes)} running on older versions)")


class Migrator:
    def __init__(self, db: Engine, catalog: WorkflowCatalog, clock: Clock) -> None:
        self.db, self.catalog, self.clock = db, catalog, clock

    def __call__(self, command: MigrateWorkflow) -> MigrationReport:
        new = self.catalog.get(command.workflow_id, command.to_version)
        older = {d.version: d for d in self.catalog.all() if d.id == new.id and d.version < new.version}
        problems = sorted({p for old in older.values() for p in check_map(old, new, command.mapping)})
        if problems:
            raise InvalidInput("map", "; ".join(problems))
        if not command.dry_run and not (command.reason or "").strip():
            raise InvalidInput("reason", "moving enrollments to another version needs a reason for their history")
        finals = {v: [s.id for s in d.states if s.final] for v, d in older.items()}
        with reading(self.db).connect() as conn:
            rows = running_on_versions(conn, new.id, finals, command.limit) if finals else []
        outcomes = [self._one(row.id, older, new, command) for row in rows]
        return MigrationReport(new.id, new.version, command.dry_run, tuple(outcomes))

    def _one(self, enrollment_id: str, older: dict[int, WorkflowDefinition], new: WorkflowDefinition,
             command: MigrateWorkflow) -> MigrationOutcome:
        if command.dry_run:
            with reading(self.db).connect() as conn:
                return self._plan_or_move(conn, enrollment_id, older, new, command)
        try:
            with self.db.begin() as conn:
                return self._plan_or_move(conn, enrollment_id, older, new, command)
        except _ChangedMeanwhile as changed:  # its transaction rolled back: nothing of the move was written
            return MigrationOutcome(enrollment_id, changed.row.workflow_version, changed.row.state,
                                    "changed meanwhile", None, "someone acted on it meanwhile: run the migration again")

    def _plan_or_move(self, conn: Connection, enrollment_id: str, older: dict[int, WorkflowDefinition],
                      new: WorkflowDefinition, command: MigrateWorkflow) -> MigrationOutcome:
        row = read_enrollment(conn, enrollment_id)
        old = older.get(row.workflow_version)
        if old is None or old.state(row.state).final:  # moved or finished since it was listed
            return MigrationOutcome(row.id, row.workflow_version, row.state, "changed meanwhile", None,
                                    "it is no longer running on an older version")
        now = self.clock.now()
        pending = [PendingTimerRef(t.timer_id, t.trigger, t.armed_at, t.due_at) for t in pending_of(conn, row.id)]
        decided = plan(old, new, row.state, command.mapping, pending, steps_ticked(conn, row), now)
        if isinstance(decided, Blocked):
            return MigrationOutcome(row.id, row.workflow_version, row.state, "blocked", None, decided.why)
        detail = self._describe(conn, row, new, decided, now)
        if command.dry_run:
            return MigrationOutcome(row.id, row.workflow_version, row.state, "would move", decided.to_state, detail)
        self._move(conn, row, new, decided, command, detail, now)
        return MigrationOutcome(row.id, row.workflow_version, row.state, "moved", decided.to_state, detail)

    def _describe(self, conn: Connection, row: EnrollmentRow, new: WorkflowDefinition, move: Move,
                  now: datetime) -> str:
        calendar = self._calendar(conn, row)
        parts = []
        for timer in move.timers:
            due, _ = due_of(timer.armed_at, new.timer(timer.timer_id), calendar)
            kept = "kept" if timer.kept else "armed"
            parts.append(f"timer '{timer.timer_id}' {kept}, due {max(due, now):%Y-%m-%d %H:%M} UTC")
        parts += [f"timer '{t}' cancelled" for t in move.cancelled]
        return "; ".join([*parts, *move.notes]) or "no timers"

    def _move(self, conn: Connection, row: EnrollmentRow, new: WorkflowDefinition, move: Move,
              command: MigrateWorkflow, detail: str, now: datetime) -> None:
        for timer_id in {t.timer_id for t in pending_of(conn, row.id)}:
            cancel_named(conn, row.id, timer_id, now)
        calendar = self._calendar(conn, row)
        for timer in move.timers:
            arm_timer(conn, row.id, new.timer(timer.timer_id), timer.armed_at, calendar, earliest=now)
        entry = about_enrollment(row, now, command.actor, "migrated", "ok", to_state=move.to_state,
                                 reason=command.reason,
                                 detail=f"{new.id} v{row.workflow_version} -> v{new.version}: {detail}"[:2000])
        audit_rows, head = prepare([entry], ChainHead(row.audit_seq, row.audit_head))
        if not move_to_version(conn, row, new, move.to_state, head.seq, head.hash, now):
            raise _ChangedMeanwhile(row)
        write(conn, audit_rows)

    def _calendar(self, conn: Connection, row: EnrollmentRow) -> Callable[[], SiteCalendar]:
        site = enrollment_site_id(conn, row.id)
        return lambda: load_calendar(conn, site)


class _ChangedMeanwhile(Exception):
    def __init__(self, row: EnrollmentRow) -> None:
        self.row = row
