"""What staff are shown is what the engine does: for every trigger of every state of every shipped workflow, as
each kind of actor, the reasons the enrollment view gives for a blocked action are exactly the reasons `advance`
refuses it with, and an action the view offers is one `advance` carries out. On SQLite and PostgreSQL.

Each state is visited twice: with nothing done, and after every guided step that can be ticked ahead has been
ticked with a valid value; and for two subjects, one whose records are complete and one missing what the
procedures ask for (no email, a user not linked to a staff record, a newborn still named "Baby Girl").
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import update

from definitions.model import Actor, InputType, Step, Subject, WorkflowDefinition
from engine.actors import PORTAL_ACTOR, SYSTEM_ACTOR, ActorRef
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.enrollments.steps import CompleteStep
from engine.errors import NotAllowed, Refused
from engine.fsm.inputs import is_secret
from engine.storage.tables import enrollments, sites

ANA = ActorRef("ana", "staff", Actor.STAFF)  # linked to a staff record
BOB = ActorRef("bob", "staff", Actor.STAFF)  # not linked
EHR = ActorRef("ehr", "integration", Actor.INTEGRATION)
WORKFLOWS = ("nextgen-regenerate-expired-pin", "op-generate-pin-easy-button", "intellichart-pins-for-siblings",
             "nextgen-pxp-portal-invites", "portal-invitation-reset-onboarding")
# (patient, household, staff member): complete records, and records missing what the procedures ask for.
SUBJECTS = (("p-jane", "h-lee", ANA), ("p-noemail", "h-lee", BOB))
SAMPLE: dict[InputType, Any] = {
    InputType.CONFIRMATION: True, InputType.YES_NO: "yes", InputType.DATE: "2026-03-02",
    InputType.EMAIL: "jane.doe@example.test", InputType.USERNAME: "jane.doe.2026", InputType.TEXT: "",
    InputType.PROVIDER: "dr-pcp", InputType.CHILDREN: ["c-ava", "c-cal"]}


@dataclass
class Tally:
    offered: int = 0
    refused: int = 0
    mismatches: list[str] = field(default_factory=list)


def sample_value(step: Step) -> Any:
    assert step.input is not None
    if step.input.type is InputType.CHOICE:
        return step.input.options[0]
    return SAMPLE[step.input.type]


def put_in_state(flow: Any, enrollment_id: str, state: str) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(enrollments).where(enrollments.c.id == enrollment_id).values(state=state))


def tick_every_step(flow: Any, definition: WorkflowDefinition, enrollment_id: str, state: str,
                    actor: ActorRef) -> None:
    """Tick each step of each staff action from `state` ahead, with a valid value where one is asked for."""
    for transition in definition.transitions_from(state):
        if transition.by is not Actor.STAFF:
            continue
        for step in transition.steps:
            if is_secret(step):
                continue  # a password goes with its action, never ahead
            value = True if step.input is None else sample_value(step)
            # A refused value stays a reason, which both sides must then name alike.
            with suppress(Refused, NotAllowed):
                flow.complete_step(CompleteStep(enrollment_id, transition.trigger, step.id, value, actor))


def compare(flow: Any, enrollment_id: str, actor: ActorRef, where: str, tally: Tally) -> None:
    """For each trigger the view lists: an offered one advances, a blocked one is refused with the same reasons."""
    for shown in flow.describe(enrollment_id, actor).triggers:
        label = f"{where}, '{shown.trigger}' as {actor.kind.value}"
        try:
            flow.advance(AdvanceEnrollment(enrollment_id, shown.trigger, actor, reason="agreement check"))
        except Refused as refusal:
            tally.refused += 1
            if shown.available:
                tally.mismatches.append(f"{label}: offered, but advance refused: {refusal.reasons}")
            elif refusal.reasons != shown.blocked:
                tally.mismatches.append(f"{label}: shown {shown.blocked}, refused with {refusal.reasons}")
            continue
        tally.offered += 1
        if not shown.available:
            tally.mismatches.append(f"{label}: shown blocked by {shown.blocked}, but advance carried it out")
        return  # the enrollment moved: the rest of this state is judged on the next visit


def enrollment_for(flow: Any, definition: WorkflowDefinition, patient: str, household: str, actor: ActorRef) -> str:
    household_workflow = definition.subject is Subject.HOUSEHOLD
    started = flow.start(StartEnrollment(definition.id, actor, patient_id=None if household_workflow else patient,
                                         household_id=household if household_workflow else None))
    return str(started.enrollment_id)


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_the_view_shows_exactly_the_reasons_advance_refuses_with_for_every_trigger_of_every_state(
        flow: Any, workflow_id: str) -> None:
    with flow.db.begin() as conn:  # the site is live, so go-live guards judge the rest
        conn.execute(update(sites).values(specialist_office=False))
    definition = flow.catalog.latest(workflow_id)
    tally = Tally()
    for patient, household, staff in SUBJECTS:
        for state in (s.id for s in definition.states if not s.final):
            for ticked in (False, True):
                for actor in (staff, SYSTEM_ACTOR, PORTAL_ACTOR, EHR):
                    enrollment_id = enrollment_for(flow, definition, patient, household, staff)
                    put_in_state(flow, enrollment_id, state)
                    if ticked:
                        tick_every_step(flow, definition, enrollment_id, state, staff)
                    where = f"{patient}/{staff.id}, {state}{' (steps ticked)' if ticked else ''}"
                    compare(flow, enrollment_id, actor, where, tally)
                    put_in_state(flow, enrollment_id, next(s.id for s in definition.states if s.final))
    assert tally.mismatches == []
    assert tally.refused > 0, "refused actions must have been checked"
    assert tally.offered > 0, "offered actions must have been checked"
