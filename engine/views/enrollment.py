"""Describe one enrollment for staff: where it stands, what can be done next and what stands in the way, what
waits on the clock, and what was sent.

The "what stands in the way" is the engine's own judgement (`engine.fsm.judgement.verdict`), asked with the steps
already completed, so a blocked trigger lists the very words `advance` would refuse with. It runs inside a
transaction that is always rolled back: guards only read, but a view must never be able to write. Nothing secret
leaves: message bodies and sealed secrets are never read, a password step shows only "[redacted]".

A read is a handful of statements whatever the workflow, each prebuilt (`engine.storage.direct`): the enrollment
with its times, the steps done ahead for every trigger at once, its pending timers, its messages; only the guards
the judgement runs add their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from definitions.durations import Duration
from definitions.model import ReasonPolicy, Step, Timer, WorkflowDefinition
from engine.actors import ActorRef
from engine.clock import as_utc
from engine.errors import NotFound
from engine.fsm.context import TransitionContext
from engine.fsm.inputs import is_secret
from engine.fsm.judgement import candidates, verdict
from engine.fsm.rows import EnrollmentRow
from engine.fsm.services import Services
from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments, outbox, step_completions
from engine.timers.rows import pending_of
from engine.versions.catalog import WorkflowCatalog

REDACTED = "[redacted]"
_ENROLLMENT = DirectStatement(select(
    enrollments.c.id, enrollments.c.workflow_id, enrollments.c.workflow_version, enrollments.c.patient_id,
    enrollments.c.household_id, enrollments.c.state, enrollments.c.version, enrollments.c.selected_children,
    enrollments.c.audit_seq, enrollments.c.audit_head, enrollments.c.started_at, enrollments.c.updated_at,
).where(enrollments.c.id == bindparam("b_id")))
# The steps done ahead in the current state (this enrollment version), in the order they were done.
_STEPS_DONE = DirectStatement(select(step_completions.c.trigger, step_completions.c.step_id, step_completions.c.inputs)
                              .where((step_completions.c.enrollment_id == bindparam("b_id"))
                                     & (step_completions.c.enrollment_version == bindparam("b_version")))
                              .order_by(step_completions.c.id))
# Named columns only: the body and the sealed secrets are never even read.
_MESSAGES = DirectStatement(select(
    outbox.c.id, outbox.c.message_id, outbox.c.channel, outbox.c.status, outbox.c.recipient, outbox.c.subject,
    outbox.c.created_at, outbox.c.not_before, outbox.c.sent_at, outbox.c.attempts, outbox.c.detail,
).where(outbox.c.enrollment_id == bindparam("b_id")).order_by(outbox.c.id))
_UNITS = {"w": "week", "d": "day", "h": "hour", "m": "minute", "s": "second"}


@dataclass(frozen=True, slots=True)
class StepView:
    """One guided step of a trigger. `value` is the public value recorded (None until done)."""

    id: str
    instruction: str
    optional: bool
    input_type: str | None  # None: a plain "done" step with no input
    label: str | None
    options: tuple[str, ...]
    done: bool  # completed ahead of the trigger, in this state (this enrollment version)
    value: Any
    needs_input: bool  # the step asks for a value, not just a tick
    with_trigger: bool  # a secret (password): given together with the trigger, never completed ahead


@dataclass(frozen=True, slots=True)
class TriggerView:
    """A trigger that leaves the current state, as this actor would meet it now."""

    trigger: str
    description: str | None
    by: str  # staff | system | portal | integration
    to_state: str
    to_status: str
    available: bool  # this actor could fire it now
    blocked: tuple[str, ...]  # every reason it is not available, in the engine's words
    reason_required: bool
    steps: tuple[StepView, ...]


@dataclass(frozen=True, slots=True)
class TimerView:
    """A pending timer row; `explanation` is the row's own note (e.g. waiting for opening hours) or a sentence
    built from the timer's definition."""

    timer_id: str
    trigger: str
    status: str
    armed_at: datetime
    due_at: datetime
    attempts: int
    explanation: str
    description: str | None


@dataclass(frozen=True, slots=True)
class MessageView:
    """An outbox row without its body: bodies hold sealed markers, and staff need only what happened to it."""

    id: int
    message_id: str
    channel: str
    status: str
    recipient: str | None
    subject: str | None
    created_at: datetime
    not_before: datetime | None
    sent_at: datetime | None
    attempts: int
    detail: str | None


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    id: str
    workflow_id: str
    workflow_version: int
    workflow_title: str
    patient_id: str | None
    household_id: str | None
    state: str
    status: str
    final: bool
    version: int
    selected_children: tuple[str, ...]
    started_at: datetime
    updated_at: datetime
    triggers: tuple[TriggerView, ...]
    timers: tuple[TimerView, ...]
    messages: tuple[MessageView, ...]


def describe_enrollment(db: Engine, services: Services, catalog: WorkflowCatalog, enrollment_id: str,
                        actor: ActorRef) -> EnrollmentView:
    """The enrollment as `actor` sees it now; raises `NotFound` for an unknown id. Writes nothing."""
    with db.connect() as conn:
        transaction = conn.begin()
        try:
            return _describe(conn, services, catalog, enrollment_id, actor)
        finally:
            transaction.rollback()


def _describe(conn: Connection, services: Services, catalog: WorkflowCatalog, enrollment_id: str,
              actor: ActorRef) -> EnrollmentView:
    found = _ENROLLMENT.first(conn, {"b_id": enrollment_id})
    if found is None:
        raise NotFound("enrollment", enrollment_id)
    (eid, workflow_id, workflow_version, patient_id, household_id, state_id, version, selected, seq, head,
     started_at, updated_at) = found
    row = EnrollmentRow(eid, workflow_id, workflow_version, patient_id, household_id, state_id, version,
                        tuple(selected or ()), seq, head)
    definition = catalog.get(row.workflow_id, row.workflow_version)
    state = definition.state(row.state)
    pending = _pending_timers(conn, definition, row)
    done = _steps_done(conn, row)
    return EnrollmentView(
        id=row.id, workflow_id=definition.id, workflow_version=definition.version, workflow_title=definition.title,
        patient_id=row.patient_id, household_id=row.household_id, state=row.state, status=state.status,
        final=state.final, version=row.version, selected_children=row.selected_children,
        started_at=as_utc(started_at), updated_at=as_utc(updated_at),
        triggers=tuple(_trigger(conn, services, definition, row, name, actor, done.get(name, {}))
                       for name in _triggers_from(definition, row.state)),
        timers=pending, messages=_messages(conn, row.id))


def _steps_done(conn: Connection, row: EnrollmentRow) -> dict[str, dict[str, Any]]:
    """Steps completed ahead in the current state (this enrollment version), per trigger: what
    `engine.fsm.rows.stored_inputs` reads for one trigger, for all of them in one statement."""
    done: dict[str, dict[str, Any]] = {}
    for trigger, step_id, inputs in _STEPS_DONE.all(conn, {"b_id": row.id, "b_version": row.version}):
        done.setdefault(trigger, {})[step_id] = (inputs or {}).get("value")
    return done


def _triggers_from(definition: WorkflowDefinition, state: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.trigger for t in definition.transitions_from(state)))


def _trigger(conn: Connection, services: Services, definition: WorkflowDefinition, row: EnrollmentRow,
             trigger: str, actor: ActorRef, done: dict[str, Any]) -> TriggerView:
    """The trigger as `actor` would meet it now: the judgement `advance` makes, with the steps done so far."""
    ctx = TransitionContext(conn=conn, services=services, definition=definition, enrollment=row, actor=actor,
                            inputs=dict(done), reason=None, trigger_name=trigger)
    judged = verdict(ctx, candidates(definition, row.state, trigger))
    transition = definition.transitions[judged.index]
    available = not judged.reasons
    return TriggerView(
        trigger=transition.trigger, description=transition.description, by=transition.by.value,
        to_state=transition.dest, to_status=definition.state(transition.dest).status, available=available,
        blocked=judged.reasons, reason_required=transition.reason is ReasonPolicy.REQUIRED,
        steps=tuple(_step_view(step, done) for step in transition.steps))


def _step_view(step: Step, done: Mapping[str, Any]) -> StepView:
    finished = step.id in done
    value = done.get(step.id)
    if finished and is_secret(step):
        value = REDACTED  # the engine never records a password step; if one ever were, its value stays hidden
    return StepView(
        id=step.id, instruction=step.instruction.strip(), optional=step.optional,
        input_type=step.input.type.value if step.input else None, label=step.input.label if step.input else None,
        options=step.input.options if step.input else (), done=finished,
        value=tuple(value) if isinstance(value, list) else value, needs_input=step.input is not None,
        with_trigger=is_secret(step))


def _pending_timers(conn: Connection, definition: WorkflowDefinition, row: EnrollmentRow) -> tuple[TimerView, ...]:
    views: list[TimerView] = []
    for r in pending_of(conn, row.id):
        timer = _timer_of(definition, r.timer_id)
        views.append(TimerView(
            timer_id=r.timer_id, trigger=r.trigger, status=r.status, armed_at=r.armed_at, due_at=r.due_at,
            attempts=r.attempts, explanation=r.detail or _explain(definition, timer, r.trigger),
            description=timer.description if timer else None))
    return tuple(views)


def _timer_of(definition: WorkflowDefinition, timer_id: str) -> Timer | None:
    return next((t for t in definition.timers if t.id == timer_id), None)


def _explain(definition: WorkflowDefinition, timer: Timer | None, trigger: str) -> str:
    """E.g. "fires 'expire_pin' 30 days after entering 'Pending Registration'"."""
    if timer is None:  # armed by an older definition of the timer: say what it will do, no more
        return f"fires '{trigger}'"
    when = in_words(timer.after) if timer.after is not None else (
        f"at {timer.at:%H:%M} site time" if timer.at is not None else "")
    text = f"fires '{timer.fire}' {when} after entering '{definition.state(timer.state).status}'"
    return text + ", in opening hours only" if timer.opening_hours else text


def in_words(duration: Duration) -> str:
    """'30d' -> '30 days', '1h30m' -> '1 hour 30 minutes': staff read sentences, designers write short forms."""
    parts: list[str] = []
    number = ""
    for ch in duration.text:
        if ch.isdigit():
            number += ch
            continue
        parts.append(f"{int(number)} {_UNITS[ch]}{'' if int(number) == 1 else 's'}")
        number = ""
    return " ".join(parts)


def _messages(conn: Connection, enrollment_id: str) -> tuple[MessageView, ...]:
    return tuple(MessageView(
        id=mid, message_id=message_id, channel=channel, status=status, recipient=recipient, subject=subject,
        created_at=as_utc(created_at), not_before=as_utc(not_before) if not_before else None,
        sent_at=as_utc(sent_at) if sent_at else None, attempts=attempts, detail=detail,
    ) for mid, message_id, channel, status, recipient, subject, created_at, not_before, sent_at, attempts, detail
        in _MESSAGES.all(conn, {"b_id": enrollment_id}))
