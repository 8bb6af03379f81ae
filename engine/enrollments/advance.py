"""Advance an enrollment: one command, one database transaction, all or nothing.

Order inside the transaction: read the enrollment; check the expected version; find the candidate transitions;
fire the trigger on the version's cached machine (each candidate judged by `engine.fsm.judgement`, the chosen
one's effects run); cancel the old state's timers and arm the new state's; hash the audit rows; move the enrollment
with an optimistic `UPDATE ... WHERE version = ?` (a concurrent change gets a conflict, never a lost update);
write the audit rows. Any error rolls everything back. A refusal or conflict is then recorded on the enrollment's
chain apart from the rolled-back work, so refused attempts are in the history too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from engine.actors import ActorRef
from engine.audit.entry import AuditEntry, about_enrollment
from engine.audit.trail import ChainMoved, ChainTip, note, note_apart, row_values, write
from engine.credentials.prepared import PinStock
from engine.enrollments.advance_audit import AdvanceEntries
from engine.enrollments.pin_preparation import PinPreparation
from engine.errors import Conflict, NotAllowed, Refused
from engine.fsm.batch_writes import BatchWrites
from engine.fsm.choices import ChoiceMemo
from engine.fsm.context import TransitionContext
from engine.fsm.firing import attempt
from engine.fsm.inputs import public_value
from engine.fsm.judgement import not_available, verdict
from engine.fsm.machines import MachineCache
from engine.fsm.rows import EnrollmentRow, move, moved, read_enrollment, stored_inputs
from engine.fsm.services import Document, HeldMessage, Services, ShownSecret
from engine.fsm.trigger_facts import TriggerFactsMemo
from engine.storage.direct import DirectSavepoint
from engine.storage.group_commit import GroupCommit
from engine.timers.rows import arm_state_timers, cancel_state_timers, state_arms, state_timer_ids
from engine.versions.catalog import WorkflowCatalog

_CHAIN_ATTEMPTS = 5  # judging again after a concurrent append to the same history; each append is one short write

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
    held: tuple[HeldMessage, ...] = ()  # messages not written: a field their template prints is empty


class Advancer:
    """Runs `AdvanceEnrollment` commands against one database."""

    def __init__(self, db: Engine, services: Services, catalog: WorkflowCatalog, machines: MachineCache,
                 group: GroupCommit | None = None) -> None:
        self.db, self.services, self.catalog, self.machines = db, services, catalog, machines
        self.group = group  # on SQLite: concurrent advances share one transaction and one flush
        self.choices = ChoiceMemo()
        self.entries = AdvanceEntries()
        self.facts = TriggerFactsMemo()
        self._prepare_pins = PinPreparation(db, catalog, services.hasher)

    def __call__(self, command: AdvanceEnrollment) -> EnrollmentAdvanced:
        stock = self._prepare_pins(command.enrollment_id, command.trigger)  # Argon2 before the write lock
        if self.group is not None:
            try:
                outcome = self.group.run(lambda conn, savepoint: self._grouped(conn, savepoint, command, stock))
            except (Refused, Conflict) as refusal:  # it was alone in its group: everything was rolled back
                entry = self._refused(command, refusal)
                self.group.run(lambda conn, _savepoint: note(conn, command.enrollment_id, entry))
                raise
            if isinstance(outcome, Refused | Conflict):
                raise outcome  # recorded on the enrollment's history in the same commit
            return outcome
        for attempt_left in reversed(range(_CHAIN_ATTEMPTS)):
            try:
                with self.db.begin() as conn:
                    return self._advance(conn, command, stock=stock)
            except ChainMoved:
                # Another transaction appended to the enrollment's history (a refused attempt) after this one read
                # it, without changing the enrollment: everything was rolled back, so judge it again afresh.
                if not attempt_left:
                    raise
            except (Refused, Conflict) as refusal:
                note_apart(self.db, command.enrollment_id, self._refused(command, refusal))
                raise
        raise AssertionError("unreachable")  # the loop returns or raises

    def _grouped(self, conn: Connection, savepoint: DirectSavepoint | None, command: AdvanceEnrollment,
                 stock: PinStock | None) -> EnrollmentAdvanced | Refused | Conflict:
        """One request's part of a group commit. Alone in its group, it runs with no savepoint at all (a refusal
        rolls the transaction back and is recorded apart, as on PostgreSQL). Among others, a refusal undoes its
        savepoint and is returned, not raised, so that its note on the history is committed with the group."""
        if savepoint is None:
            return self._advance(conn, command, stock=stock)
        try:
            return self.advance_in(conn, command, within=savepoint, stock=stock)
        except (Refused, Conflict) as refusal:
            return refusal

    def advance_in(self, conn: Connection, command: AdvanceEnrollment, *, row: EnrollmentRow | None = None,
                   within: DirectSavepoint | None = None, writes: BatchWrites | None = None,
                   at: datetime | None = None, stock: PinStock | None = None) -> EnrollmentAdvanced:
        """Advance inside the caller's transaction (the sweep, event intake), in a savepoint: its own, or the one
        the caller opened just before (`within`: the sweep's per timer, saving a savepoint per firing).

        A refusal or conflict undoes the savepoint's work, is recorded in the caller's transaction, and is raised;
        any other error undoes it too and propagates. Either way the savepoint is ended; on success, `within` is
        left for the caller to release. `row` is the enrollment as the caller just read it in this transaction.

        With `writes` (the sweep's batch) the transition's own rows wait there for the caller's flush. A quiet
        trigger (`quiet`: no guard, step or effect) then needs no savepoint of its own: it writes nothing before
        that flush, and it refuses, if at all, before anything. Otherwise what waits is flushed first, so that the
        guards read what the batch did so far and a rollback of this savepoint undoes this enrollment alone. `at`:
        the moment the transition is recorded at (the sweep's batch shares one), instead of the clock's now.
        """
        if writes is not None and within is None:
            row = row or read_enrollment(conn, command.enrollment_id)
            if self.quiet(row, command.trigger):
                try:
                    return self._advance(conn, command, row, writes=writes, at=at)
                except (Refused, Conflict) as refusal:
                    note(conn, command.enrollment_id, self._refused(command, refusal))
                    raise
            writes.flush(conn)
        savepoint = within or DirectSavepoint(conn, "pf_advance")
        try:
            done = self._advance(conn, command, row, stock=stock, writes=writes, at=at)
        except (Refused, Conflict) as refusal:
            savepoint.rollback()
            note(conn, command.enrollment_id, self._refused(command, refusal))
            raise
        except BaseException:
            savepoint.rollback()
            raise
        if within is None:
            savepoint.release()
        return done

    def quiet(self, row: EnrollmentRow, trigger: str) -> bool:
        """True when `trigger` in the enrollment's state has no guard, step or effect: its firing reads and writes
        nothing but the enrollment's own rows (the machine's choice is then remembered: `ChoiceMemo`)."""
        return self.choices.quiet(self.catalog.get(row.workflow_id, row.workflow_version), row.state, trigger)

    def _advance(self, conn: Connection, command: AdvanceEnrollment,
                 row: EnrollmentRow | None = None, stock: PinStock | None = None,
                 writes: BatchWrites | None = None, at: datetime | None = None) -> EnrollmentAdvanced:
        row = row or read_enrollment(conn, command.enrollment_id)
        definition = self.catalog.get(row.workflow_id, row.workflow_version)
        if command.expected_version is not None and command.expected_version != row.version:
            raise Conflict(row.id, command.expected_version, row.version, row.state,
                           definition.state(row.state).status)
        facts = self.facts.of(definition, row.state, command.trigger)
        if not facts.indices:
            raise NotAllowed(not_available(definition, row.state, command.trigger))
        if not command.reason and facts.reason_required:
            raise Refused(("a reason is required for this action",))
        inputs = stored_inputs(conn, row, command.trigger) if facts.steps else {}
        inputs.update(command.inputs)
        ctx = TransitionContext(conn=conn, services=self.services, definition=definition, enrollment=row,
                                actor=command.actor, inputs=inputs, reason=command.reason,
                                trigger_name=command.trigger, presented=dict(command.presented), pin_stock=stock)
        if not attempt(self.machines.machine_for(definition), ctx, command.trigger, self.choices):
            raise Refused(verdict(ctx, facts.indices, ctx.failures).reasons)
        chosen = ctx.chosen
        assert chosen is not None  # `attempt` ran the effects of the candidate it chose
        transition = definition.transitions[chosen]
        now = at or self.services.clock.now()
        if writes is None:
            cancel_state_timers(conn, definition, row.id, row.state, now)
            arm_state_timers(conn, definition, row.id, transition.dest, now, ctx.subject.calendar)
        recorded = {s.id: public_value(s, ctx.inputs[s.id]) for s in transition.steps if s.id in ctx.inputs}
        audit_rows, head = self.entries.rows(row, transition, now, ctx.actor, recorded or None,
                                             ctx.reason, ctx.extra_audit)
        done = EnrollmentAdvanced(row.id, command.trigger, row.state, transition.dest,
                                  facts.statuses[chosen], row.version + 1,
                                  tuple(ctx.shown), tuple(ctx.documents), tuple(ctx.held))
        if writes is not None:  # the same rows, written with the batch's (BatchWrites.flush checks the move); last,
            # so that nothing of a transition that failed before this line waits there
            writes.transition(row.id, state_timer_ids(definition, row.state), now,
                              state_arms(definition, row.id, transition.dest, now, ctx.subject.calendar),
                              moved(row, transition.dest, ctx.subject.selected, head.seq, head.hash, now),
                              row_values(audit_rows))
            return done
        if not move(conn, row, transition.dest, ctx.subject.selected, head.seq, head.hash, now):
            current = read_enrollment(conn, row.id)
            if current.version == row.version:  # only its history grew (a refusal recorded): not a conflict
                raise ChainMoved(row.id)
            raise Conflict(row.id, row.version, current.version, current.state,
                           definition.state(current.state).status)
        write(conn, audit_rows)
        return done

    def _refused(self, command: AdvanceEnrollment, refusal: Exception) -> Callable[[ChainTip], AuditEntry]:
        """The history entry of a refused attempt, built on the enrollment's chain as it is when recorded."""
        at = self.services.clock.now()
        return lambda tip: about_enrollment(tip, at, command.actor, "transition", "refused", trigger=command.trigger,
                                            reason=command.reason, detail=str(refusal))
