"""Start enrollments and record guided steps completed one at a time, each in one transaction with its audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from definitions.model import Subject, WorkflowDefinition
from engine import audit
from engine.advance import read_enrollment, record_step
from engine.calendar_store import load_calendar
from engine.chains import ChainMoved, append_to_enrollment
from engine.context import ActorRef, Services, TransitionContext
from engine.errors import Conflict, NotAllowed, Refused
from engine.inputs import check_input, is_secret, public_value
from engine.storage.tables import enrollments, households, patients
from engine.subjects import load_household, load_patient
from engine.timing import arm_state_timers
from engine.workflows import WorkflowCatalog


@dataclass(frozen=True, slots=True)
class StartEnrollment:
    workflow_id: str
    actor: ActorRef
    patient_id: str | None = None
    household_id: str | None = None
    selected_children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EnrollmentStarted:
    enrollment_id: str
    workflow_id: str
    workflow_version: int
    state: str
    status: str
    version: int


@dataclass(frozen=True, slots=True)
class CompleteStep:
    enrollment_id: str
    trigger: str
    step_id: str
    value: Any
    actor: ActorRef
    expected_version: int | None = None


def _final_states(definition: WorkflowDefinition) -> list[str]:
    return [s.id for s in definition.states if s.final]


def start_enrollment(db: Engine, services: Services, catalog: WorkflowCatalog,
                     command: StartEnrollment) -> EnrollmentStarted:
    definition = catalog.latest(command.workflow_id)
    household = definition.subject is Subject.HOUSEHOLD
    if household != (command.household_id is not None) or (command.patient_id is None) == (
            command.household_id is None):
        wanted = "a household" if household else "a patient"
        raise NotAllowed(f"workflow '{definition.id}' is for {wanted}: give exactly one "
                         f"{'household_id' if household else 'patient_id'}")
    with db.begin() as conn:
        return start_in(conn, services, definition, command)


def start_in(conn: Connection, services: Services, definition: WorkflowDefinition,
             command: StartEnrollment) -> EnrollmentStarted:
    """Start an enrollment of `definition` in the caller's transaction (checked by `start_enrollment`)."""
    now = services.clock.now()
    household = definition.subject is Subject.HOUSEHOLD
    # Lock the subject's row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so two starts for
    # one subject at once cannot both find nothing running.
    subject_table = households if household else patients
    conn.execute(select(subject_table.c.id).where(
        subject_table.c.id == (command.household_id or command.patient_id)).with_for_update())
    site_id = (load_household(conn, command.household_id).site_id if command.household_id
               else load_patient(conn, str(command.patient_id)).site_id)
    subject_col = enrollments.c.household_id if household else enrollments.c.patient_id
    subject_id = command.household_id or command.patient_id
    active = conn.execute(select(enrollments.c.id, enrollments.c.state).where(
        (subject_col == subject_id) & (enrollments.c.workflow_id == definition.id)
        & enrollments.c.state.not_in(_final_states(definition)))).first()
    if active is not None:
        status = definition.state(active.state).status
        raise Refused((f"an enrollment in '{definition.title}' is already running for this "
                       f"{'household' if household else 'patient'} ({active.id}, '{status}')",))
    enrollment_id = uuid.uuid4().hex
    entry = audit.AuditEntry(
        chain=enrollment_id, at=now, actor_id=command.actor.id, actor_role=command.actor.role,
        action="enrollment_started", outcome="ok", subject_type="household" if household else "patient",
        subject_id=subject_id, enrollment_id=enrollment_id, to_state=definition.initial,
        detail=f"{definition.id} v{definition.version}")
    first = audit.chain_hash(audit.GENESIS, audit.canonical(entry, 1))
    conn.execute(insert(enrollments).values(
        id=enrollment_id, workflow_id=definition.id, workflow_version=definition.version,
        content_hash=definition.content_hash, patient_id=command.patient_id,
        household_id=command.household_id, state=definition.initial, version=1,
        selected_children=list(command.selected_children) or None, audit_seq=1, audit_head=first,
        started_at=now, updated_at=now))
    audit.append(conn, entry, audit.GENESIS_HEAD)
    arm_state_timers(conn, definition, enrollment_id, definition.initial, now,
                     lambda: load_calendar(conn, site_id))
    return EnrollmentStarted(enrollment_id, definition.id, definition.version, definition.initial,
                             definition.state(definition.initial).status, 1)


def complete_step(db: Engine, services: Services, catalog: WorkflowCatalog, command: CompleteStep) -> int:
    """Check and record one step's input ahead of the trigger; returns the enrollment version it applies to.

    A refused value is history too: the attempt is appended to the enrollment's chain (without the value)."""
    try:
        return _complete_step(db, services, catalog, command)
    except Refused as refusal:
        _record_refused_step(db, services, command, refusal)
        raise


def _record_refused_step(db: Engine, services: Services, command: CompleteStep, refusal: Refused) -> None:
    for _ in range(5):
        try:
            with db.begin() as conn:
                row = read_enrollment(conn, command.enrollment_id)
                append_to_enrollment(conn, row, audit.AuditEntry(
                    chain=row.id, at=services.clock.now(), actor_id=command.actor.id, actor_role=command.actor.role,
                    action="step_completed", outcome="refused", subject_type="household" if row.household_id
                    else "patient", subject_id=row.household_id or row.patient_id, enrollment_id=row.id,
                    from_state=row.state, trigger=command.trigger, detail=f"step '{command.step_id}': {refusal}"))
            return
        except ChainMoved:
            continue


def _complete_step(db: Engine, services: Services, catalog: WorkflowCatalog, command: CompleteStep) -> int:
    with db.begin() as conn:
        row = read_enrollment(conn, command.enrollment_id)
        definition = catalog.get(row.workflow_id, row.workflow_version)
        if command.expected_version is not None and command.expected_version != row.version:
            raise Conflict(row.id, command.expected_version, row.version, row.state,
                           definition.state(row.state).status)
        step = next((s for t in definition.transitions if t.trigger == command.trigger and row.state in t.sources
                     for s in t.steps if s.id == command.step_id), None)
        if step is None:
            raise NotAllowed(f"no step '{command.step_id}' for '{command.trigger}' while the enrollment is "
                             f"'{definition.state(row.state).status}'")
        if is_secret(step):
            raise NotAllowed(f"step '{step.id}' asks for a secret: give it together with '{command.trigger}'")
        value: Any = True
        if step.input is not None:
            value, problem = check_input(step, command.value)
            if problem is not None:
                raise Refused((problem,))
            if step.input.rule is not None:
                from engine.registry import RULES

                ctx = TransitionContext(conn=conn, services=services, definition=definition, enrollment=row,
                                        actor=command.actor, inputs={}, reason=None, trigger_name=command.trigger)
                rule_problem = RULES[step.input.rule.name](ctx, step, value, step.input.rule)
                if rule_problem is not None:
                    raise Refused((rule_problem,))
        now = services.clock.now()
        shown = public_value(step, value)
        record_step(conn, row, command.trigger, step.id, shown, command.actor, now)
        entry = audit.AuditEntry(
            chain=row.id, at=now, actor_id=command.actor.id, actor_role=command.actor.role, action="step_completed",
            outcome="ok", subject_type="household" if row.household_id else "patient",
            subject_id=row.household_id or row.patient_id, enrollment_id=row.id, from_state=row.state,
            trigger=command.trigger, inputs={step.id: shown})
        try:
            append_to_enrollment(conn, row, entry)
        except ChainMoved:
            raise Conflict(row.id, row.version, row.version, row.state, row.state) from None
        return row.version
