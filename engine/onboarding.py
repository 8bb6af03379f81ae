"""Bulk onboarding: one action (enable portal access, send invitations, ...) for a selection of many patients.

Each patient is handled on their own, through the engine like a single click: their running enrollment in the
workflow is used, or one is started; then the trigger is fired with the same inputs for all. One patient's
refusal never stops the others, and each result says what happened and why (portal-invitation handout: the
onboarding list of all patients, where staff select many and send).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.advance import AdvanceEnrollment
from engine.bootstrap import PortalFlow
from engine.context import ActorRef, ShownSecret
from engine.enrollments import StartEnrollment
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound, Refused
from engine.storage.tables import enrollments

MAX_SELECTION = 500


@dataclass(frozen=True, slots=True)
class Onboard:
    workflow_id: str
    trigger: str
    patient_ids: Sequence[str]
    actor: ActorRef
    inputs: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Onboarded:
    patient_id: str
    outcome: str  # acted | refused | not_found | not_allowed
    enrollment_id: str | None
    status: str | None
    reasons: tuple[str, ...]
    shown: tuple[ShownSecret, ...] = ()


def onboard(flow: PortalFlow, command: Onboard) -> list[Onboarded]:
    definition = flow.catalog.latest(command.workflow_id)
    if definition.subject.value != "patient":
        raise InvalidInput("workflow_id", f"'{definition.id}' is for households; onboard patients one by one")
    if not any(t.trigger == command.trigger for t in definition.transitions):
        raise InvalidInput("trigger", f"'{definition.id}' has no action '{command.trigger}'")
    if len(command.patient_ids) > MAX_SELECTION:
        raise InvalidInput("patient_ids", f"at most {MAX_SELECTION} patients at once")
    return [_one(flow, command, patient_id) for patient_id in dict.fromkeys(command.patient_ids)]


def _one(flow: PortalFlow, command: Onboard, patient_id: str) -> Onboarded:
    definition = flow.catalog.latest(command.workflow_id)
    finals = [s.id for s in definition.states if s.final]
    with flow.db.connect() as conn:
        running = conn.execute(select(enrollments.c.id).where(
            (enrollments.c.patient_id == patient_id) & (enrollments.c.workflow_id == definition.id)
            & enrollments.c.state.not_in(finals))).scalar()
    try:
        if running is None:
            running = flow.start(StartEnrollment(definition.id, command.actor, patient_id=patient_id)).enrollment_id
        moved = flow.advance(AdvanceEnrollment(running, command.trigger, command.actor, inputs=command.inputs,
                                               reason=command.reason))
    except NotFound as missing:
        return Onboarded(patient_id, "not_found", None, None, (str(missing),))
    except Refused as refusal:
        return Onboarded(patient_id, "refused", running, _status(flow, running), refusal.reasons)
    except (NotAllowed, Conflict) as not_now:
        return Onboarded(patient_id, "not_allowed", running, _status(flow, running), (str(not_now),))
    return Onboarded(patient_id, "acted", running, moved.status, (), moved.shown)


def _status(flow: PortalFlow, enrollment_id: str | None) -> str | None:
    if enrollment_id is None:
        return None
    with flow.db.connect() as conn:
        row = conn.execute(select(enrollments.c.workflow_id, enrollments.c.workflow_version, enrollments.c.state)
                           .where(enrollments.c.id == enrollment_id)).first()
    if row is None:
        return None
    return flow.catalog.get(row.workflow_id, row.workflow_version).state(row.state).status
