"""Advance an enrollment: one command, one database transaction, all or nothing.

Order inside the transaction: read the enrollment; check the expected version; pick the candidate transitions;
fire the trigger on the cached machine (steps, inputs and guards are evaluated per candidate, effects run on the
chosen one); cancel the old state's timers and arm the new state's; compute the audit rows; move the enrollment
with an optimistic `UPDATE ... WHERE version = ?` (a concurrent change gets a conflict, never a lost update);
write the audit rows. Any error rolls everything back. A refusal or conflict is then recorded in its own small
transaction, so refused attempts are in the history too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from definitions.model import ReasonPolicy, Transition, WorkflowDefinition
from engine import audit
from engine.chains import ChainMoved, append_to_enrollment, subject_of
from engine.context import ActorRef, Document, EnrollmentRow, Services, ShownSecret, TransitionContext
from engine.errors import Conflict, NotAllowed, NotFound, Refused
from engine.inputs import public_value
from engine.machines import MachineCache, fire
from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments, step_completions
from engine.timing import arm_state_timers, cancel_state_timers
from engine.workflows import WorkflowCatalog


@dataclass(frozen=True, slots=True)
class AdvanceEnrollment:
    """Command: fire `trigger` on an enrollment as `actor`."""

    enrollment_id: str
    trigger: str
    actor: ActorRef
    expected_version: int | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    presented: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EnrollmentAdvanced:
    """Event: the enrollment moved. `shown` and `documents` are handed over once and never stored in clear."""

    enrollment_id: str
    trigger: str
    from_state: str
    to_state: str
    status: str
    version: int
    shown: tuple[ShownSecret, ...]
    documents: tuple[Document, ...]


# The hot path's statements are built once and run on the driver's cursor (`engine.storage.direct`): SQLAlchemy's
# per-call machinery cost more than the database work itself (measured by bench/).
_READ = DirectStatement(select(
    enrollments.c.id, enrollments.c.workflow_id, enrollments.c.workflow_version, enrollments.c.patient_id,
    enrollments.c.household_id, enrollments.c.state, enrollments.c.version, enrollments.c.selected_children,
    enrollments.c.audit_seq, enrollments.c.audit_head,
).where(enrollments.c.id == bindparam("b_id")))
_MOVE = DirectStatement(update(enrollments).where(
    (enrollments.c.id == bindparam("b_id")) & (enrollments.c.version == bindparam("b_version"))).values(
    state=bindparam("b_state"), version=bindparam("b_next"), selected_children=bindparam("b_selected"),
    audit_seq=bindparam("b_seq"), audit_head=bindparam("b_head"), updated_at=bindparam("b_now")))


def read_enrollment(conn: Connection, enrollment_id: str) -> EnrollmentRow:
    row = _READ.first(conn, {"b_id": enrollment_id})
    if row is None:
        raise NotFound("enrollment", enrollment_id)
    eid, workflow_id, workflow_version, patient_id, household_id, state, version, selected, seq, head = row
    return EnrollmentRow(eid, workflow_id, workflow_version, patient_id, household_id, state, version,
                         tuple(selected or ()), seq, head)


def stored_inputs(conn: Connection, row: EnrollmentRow, trigger: str) -> dict[str, Any]:
    """Steps completed one at a time earlier, in this state (the same enrollment version)."""
    found = conn.execute(select(step_completions.c.step_id, step_completions.c.inputs).where(
        (step_completions.c.enrollment_id == row.id) & (step_completions.c.enrollment_version == row.version)
        & (step_completions.c.trigger == trigger)).order_by(step_completions.c.id)).all()
    return {r.step_id: (r.inputs or {}).get("value") for r in found}


def _candidates(definition: WorkflowDefinition, state: str, trigger: str) -> list[Transition]:
    return [t for t in definition.transitions if t.trigger == trigger and state in t.sources]


def _not_available(definition: WorkflowDefinition, state: str, trigger: str) -> NotAllowed:
    status = definition.state(state).status
    available = sorted({t.trigger for t in definition.transitions_from(state)})
    return NotAllowed(f"'{trigger}' is not available while the enrollment is '{status}'"
                      f"; available: {', '.join(available) or 'none (the enrollment is finished)'}")


class Advancer:
    """Runs `AdvanceEnrollment` commands against one database."""

    def __init__(self, db: Engine, services: Services, catalog: WorkflowCatalog, machines: MachineCache) -> None:
        self.db, self.services, self.catalog, self.machines = db, services, catalog, machines

    def __call__(self, command: AdvanceEnrollment) -> EnrollmentAdvanced:
        try:
            with self.db.begin() as conn:
                return self._advance(conn, command)
        except (Refused, Conflict) as refusal:
            self._record_refusal(command, refusal)
            raise

    def _advance(self, conn: Connection, command: AdvanceEnrollment,
                 row: EnrollmentRow | None = None) -> EnrollmentAdvanced:
        row = row or read_enrollment(conn, command.enrollment_id)
        definition = self.catalog.get(row.workflow_id, row.workflow_version)
        if command.expected_version is not None and command.expected_version != row.version:
            raise Conflict(row.id, command.expected_version, row.version, row.state,
                           definition.state(row.state).status)
        candidates = _candidates(definition, row.state, command.trigger)
        if not candidates:
            raise _not_available(definition, row.state, command.trigger)
        if not command.reason and all(t.reason is ReasonPolicy.REQUIRED for t in candidates):
            raise Refused(("a reason is required for this action",))
        inputs = stored_inputs(conn, row, command.trigger) if any(t.steps for t in candidates) else {}
        inputs.update(command.inputs)
        ctx = TransitionContext(conn=conn, services=self.services, definition=definition, enrollment=row,
                                actor=command.actor, inputs=inputs, reason=command.reason,
                                trigger_name=command.trigger, presented=dict(command.presented))
        if not fire(self.machines.machine_for(definition), ctx, command.trigger):
            raise Refused(_reasons(ctx))
        transition = ctx.transition
        now = self.services.clock.now()
        cancel_state_timers(conn, definition, row.id, row.state, now)
        arm_state_timers(conn, definition, row.id, transition.dest, now, ctx.calendar)
        entries = [self._entry(ctx, transition, now), *ctx.extra_audit]
        rows, final = audit.prepare(entries, audit.ChainHead(row.audit_seq, row.audit_head))
        moved = _MOVE.execute(conn, {
            "b_id": row.id, "b_version": row.version, "b_state": transition.dest, "b_next": row.version + 1,
            "b_selected": list(ctx.selected) or None, "b_seq": final.seq, "b_head": final.hash, "b_now": now})
        if moved != 1:
            current = read_enrollment(conn, row.id)
            raise Conflict(row.id, row.version, current.version, current.state,
                           definition.state(current.state).status)
        audit.insert_rows(conn, rows)
        return EnrollmentAdvanced(row.id, command.trigger, row.state, transition.dest,
                                  definition.state(transition.dest).status, row.version + 1,
                                  tuple(ctx.shown), tuple(ctx.documents))

    def _entry(self, ctx: TransitionContext, transition: Transition, now: datetime) -> audit.AuditEntry:
        recorded = {s.id: public_value(s, ctx.inputs[s.id]) for s in transition.steps if s.id in ctx.inputs}
        return audit.AuditEntry(
            chain=ctx.enrollment.id, at=now, actor_id=ctx.actor.id, actor_role=ctx.actor.role,
            action="transition", outcome="ok", subject_type="household" if ctx.is_household() else "patient",
            subject_id=ctx.enrollment.household_id or ctx.enrollment.patient_id, enrollment_id=ctx.enrollment.id,
            from_state=ctx.enrollment.state, to_state=transition.dest, trigger=transition.trigger,
            inputs=recorded or None, reason=ctx.reason)

    def advance_in(self, conn: Connection, command: AdvanceEnrollment, *, savepoint: bool = True,
                   row: EnrollmentRow | None = None) -> EnrollmentAdvanced:
        """Advance inside the caller's transaction (the sweep, event intake).

        The advance runs in a savepoint: a refusal or conflict undoes only its own work, is recorded in the same
        transaction, and is raised; any other error undoes it too and propagates. With `savepoint=False` the
        caller already holds one around this call and does both itself (the sweep: one savepoint per timer);
        `row` is the enrollment as the caller just read it in this transaction.
        """
        if not savepoint:
            return self._advance(conn, command, row)
        savepoint_ = conn.begin_nested()
        try:
            done = self._advance(conn, command, row)
        except (Refused, Conflict) as refusal:
            savepoint_.rollback()
            self.record_refusal_in(conn, command, refusal)
            raise
        except BaseException:
            savepoint_.rollback()
            raise
        savepoint_.commit()
        return done

    def _record_refusal(self, command: AdvanceEnrollment, refusal: Exception) -> None:
        """Refused attempts are history too: appended to the enrollment's chain in their own transaction."""
        for _ in range(5):
            try:
                with self.db.begin() as conn:
                    self.record_refusal_in(conn, command, refusal)
                return
            except ChainMoved:
                continue

    def record_refusal_in(self, conn: Connection, command: AdvanceEnrollment, refusal: Exception) -> None:
        try:
            row = read_enrollment(conn, command.enrollment_id)
        except NotFound:
            return
        subject_type, subject_id = subject_of(row)
        append_to_enrollment(conn, row, audit.AuditEntry(
            chain=row.id, at=self.services.clock.now(), actor_id=command.actor.id, actor_role=command.actor.role,
            action="transition", outcome="refused", subject_type=subject_type, subject_id=subject_id,
            enrollment_id=row.id, from_state=row.state, trigger=command.trigger, reason=command.reason,
            detail=str(refusal)))


def _reasons(ctx: TransitionContext) -> tuple[str, ...]:
    """The reasons of the candidate that came closest (fewest reasons), so staff see what to fix."""
    mine = [r for i, r in ctx.failures.items() if r and ctx.definition.transitions[i].by is ctx.actor.kind]
    lists: list[list[str]] = mine or [r for r in ctx.failures.values() if r]
    if not lists:
        return ("no transition applies",)
    best = lists[0]
    for reasons in lists[1:]:
        if len(reasons) < len(best):
            best = reasons
    return tuple(best)


def record_step(conn: Connection, row: EnrollmentRow, trigger: str, step_id: str, value: Any, actor: ActorRef,
                now: datetime) -> None:
    conn.execute(insert(step_completions).values(
        enrollment_id=row.id, enrollment_version=row.version, trigger=trigger, step_id=step_id,
        inputs={"value": value}, actor_id=actor.id, completed_at=now))
