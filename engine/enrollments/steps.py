"""Complete one guided step ahead of its action: check the value as the action would, record it, audit it.

Staff tick a checklist one step at a time; the action later finds the steps done in the same state (the same
enrollment version). A refused value is history too: the attempt is recorded (without the value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.audit.entry import about_enrollment
from engine.audit.trail import ChainMoved, append_to_enrollment, note_apart
from engine.errors import Conflict, NotAllowed, Refused
from engine.fsm.context import TransitionContext
from engine.fsm.inputs import is_secret, public_value
from engine.fsm.judgement import check_step, find_step
from engine.fsm.rows import read_enrollment, record_step
from engine.fsm.services import Services
from engine.versions.catalog import WorkflowCatalog


@dataclass(frozen=True, slots=True)
class CompleteStep:
    enrollment_id: str
    trigger: str
    step_id: str
    value: Any
    actor: ActorRef
    expected_version: int | None = None


def complete_step(db: Engine, services: Services, catalog: WorkflowCatalog, command: CompleteStep) -> int:
    """Check and record one step's input ahead of the trigger; returns the enrollment version it applies to."""
    try:
        return _complete_step(db, services, catalog, command)
    except Refused as refusal:
        detail, at = f"step '{command.step_id}': {refusal}", services.clock.now()
        note_apart(db, command.enrollment_id, lambda tip: about_enrollment(
            tip, at, command.actor, "step_completed", "refused", trigger=command.trigger, detail=detail))
        raise


def _complete_step(db: Engine, services: Services, catalog: WorkflowCatalog, command: CompleteStep) -> int:
    with db.begin() as conn:
        row = read_enrollment(conn, command.enrollment_id)
        definition = catalog.get(row.workflow_id, row.workflow_version)
        if command.expected_version is not None and command.expected_version != row.version:
            raise Conflict(row.id, command.expected_version, row.version, row.state,
                           definition.state(row.state).status)
        step = find_step(definition, row.state, command.trigger, command.step_id)
        if step is None:
            raise NotAllowed(f"no step '{command.step_id}' for '{command.trigger}' while the enrollment is "
                             f"'{definition.state(row.state).status}'")
        if is_secret(step):
            raise NotAllowed(f"step '{step.id}' asks for a secret: give it together with '{command.trigger}'")
        value: Any = True
        if step.input is not None:
            ctx = TransitionContext(conn=conn, services=services, definition=definition, enrollment=row,
                                    actor=command.actor, inputs={}, reason=None, trigger_name=command.trigger)
            value, problem = check_step(ctx, step, command.value)
            if problem is not None:
                raise Refused((problem,))
        now = services.clock.now()
        shown = public_value(step, value)
        record_step(conn, row, command.trigger, step.id, shown, command.actor, now)
        entry = about_enrollment(row, now, command.actor, "step_completed", "ok", trigger=command.trigger,
                                 inputs={step.id: shown})
        try:
            append_to_enrollment(conn, row, [entry])
        except ChainMoved:
            raise Conflict(row.id, row.version, row.version, row.state, row.state) from None
        return row.version
