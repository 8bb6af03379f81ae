"""Bulk onboarding: one action (enable portal access, send invitations, ...) for a selection of many patients.

Each patient is handled on their own, through the engine like a single click: their running enrollment in the
workflow is used, or one is started; then the trigger is fired with the same inputs for all. One patient's
refusal never stops the others, and each result says what happened and why (portal-invitation handout: the
onboarding list of all patients, where staff select many and send).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from definitions.model import Subject
from engine.actors import ActorRef
from engine.enrollments.advance import AdvanceEnrollment, EnrollmentAdvanced
from engine.enrollments.start import EnrollmentStarted, StartEnrollment
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound, Refused
from engine.fsm.rows import read_enrollment, running_for
from engine.fsm.services import ShownSecret
from engine.people.walls import see_patient
from engine.versions.catalog import WorkflowCatalog

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


class Onboarding:
    """Runs `Onboard` commands with the engine's own start and advance, one patient at a time."""

    def __init__(self, db: Engine, catalog: WorkflowCatalog, start: Callable[[StartEnrollment], EnrollmentStarted],
                 advance: Callable[[AdvanceEnrollment], EnrollmentAdvanced]) -> None:
        self.db, self.catalog, self.start, self.advance = db, catalog, start, advance

    def __call__(self, command: Onboard) -> list[Onboarded]:
        definition = self.catalog.latest(command.workflow_id)
        if definition.subject is not Subject.PATIENT:
            raise InvalidInput("workflow_id", f"'{definition.id}' is for households; onboard patients one by one")
        if not any(t.trigger == command.trigger for t in definition.transitions):
            raise InvalidInput("trigger", f"'{definition.id}' has no action '{command.trigger}'")
        if len(command.patient_ids) > MAX_SELECTION:
            raise InvalidInput("patient_ids", f"at most {MAX_SELECTION} patients at once")
        return [self._one(command, patient_id) for patient_id in dict.fromkeys(command.patient_ids)]

    def _one(self, command: Onboard, patient_id: str) -> Onboarded:
        definition = self.catalog.latest(command.workflow_id)
        try:
            with self.db.connect() as conn:
                see_patient(conn, command.actor, patient_id)  # beyond the user's walls: not found, like no one
                found = running_for(conn, definition, patient_id=patient_id)
        except NotFound as missing:
            return Onboarded(patient_id, "not_found", None, None, (str(missing),))
        running = found[0] if found else None
        try:
            if running is None:
                running = self.start(StartEnrollment(definition.id, command.actor, patient_id=patient_id)).enrollment_id
            moved = self.advance(AdvanceEnrollment(running, command.trigger, command.actor, inputs=command.inputs,
                                                   reason=command.reason))
        except NotFound as missing:
            return Onboarded(patient_id, "not_found", None, None, (str(missing),))
        except Refused as refusal:
            return Onboarded(patient_id, "refused", running, self._status(running), refusal.reasons)
        except (NotAllowed, Conflict) as not_now:
            return Onboarded(patient_id, "not_allowed", running, self._status(running), (str(not_now),))
        return Onboarded(patient_id, "acted", running, moved.status, (), moved.shown)

    def _status(self, enrollment_id: str | None) -> str | None:
        if enrollment_id is None:
            return None
        with self.db.connect() as conn:
            try:
                row = read_enrollment(conn, enrollment_id)
            except NotFound:
                return None
        return self.catalog.get(row.workflow_id, row.workflow_version).state(row.state).status
