"""The one judgement, without a database: which candidate may fire, every reason one may not, and which refusal a
person is shown. The subject is held in memory, so only the judgement's own logic is under test here; that the
view and `advance` agree through it on real data is `tests/engine/test_judgement_agrees.py`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from definitions import load_workflow
from definitions.model import Actor, WorkflowDefinition
from definitions.vocabulary import standard_vocabulary
from engine.actors import PORTAL_ACTOR, SYSTEM_ACTOR, ActorRef
from engine.fsm.context import TransitionContext
from engine.fsm.judgement import candidates, check_step, done_by, evaluate, find_step, not_available, verdict
from engine.fsm.rows import EnrollmentRow
from engine.fsm.services import Services
from engine.fsm.subject import EnrollmentSubject
from engine.people.subjects import Patient

STAFF = ActorRef("ana", "staff", Actor.STAFF)
WORKFLOW = """\
id: judged
version: 1
title: Judgement demo
source: handout.txt
subject: patient
initial: waiting
states:
  waiting: {status: Waiting, description: Nothing sent yet.}
  invited: {status: Invited, description: An invite went out.}
  done: {status: Done, description: Finished., final: true}
transitions:
  - trigger: invite
    from: waiting
    to: invited
    description: Invite the patient by email.
    steps:
      - id: confirm_email
        instruction: Confirm the email address with the patient.
        input: {type: confirmation, label: Email confirmed}
      - id: asked_at
        instruction: Say where the patient asked for the invite.
        input:
          type: choice
          label: Asked at
          options: [phone, desk]
          rule: {must_equal: {value: desk}}
    guards:
      - email_on_file
      - email_confirmed_personal
  - trigger: invite
    from: waiting
    to: done
    description: Note that the address is not confirmed yet and close the request.
    guards:
      - email_on_file
    unless:
      - email_confirmed_personal
  - trigger: finish
    from: invited
    to: done
    by: system
    guards:
      - email_on_file
  - trigger: register
    from: invited
    to: done
    by: portal
    description: The patient registers on the portal.
    guards:
      - link_token_valid
timers:
  nudge: {in: invited, after: 7d, fire: finish, late: fire}
"""


class Subject:
    """The patient, held in memory: what the guards under test read."""

    def __init__(self, patient: Patient) -> None:
        self.selected: tuple[str, ...] = ()
        self._patient = patient

    def is_household(self) -> bool:
        return False

    def people(self) -> tuple[Patient, ...]:
        return (self._patient,)

    def patient(self) -> Patient:
        return self._patient

    def email(self) -> str | None:
        return self._patient.email


def patient(**changes: Any) -> Patient:
    values: dict[str, Any] = {
        "id": "p1", "site_id": "main", "given_name": "Jane", "family_name": "Doe", "name_is_placeholder": False,
        "birth_date": date(1980, 4, 1), "birth_sex": "F", "zip": "02139", "email": "jane@example.test",
        "email_confirmed_personal": True, "cell_phone": None, "pcp_id": None, "responsible_provider_id": None,
        "portal_access_enabled": False, "portal_account_id": None}
    values.update(changes)
    return Patient(**values)


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 3, 2, 14, tzinfo=UTC)


@pytest.fixture
def definition(write_workflow: Callable[[str], Path]) -> WorkflowDefinition:
    return load_workflow(write_workflow(WORKFLOW))


Context = Callable[..., TransitionContext]


@pytest.fixture
def context(definition: WorkflowDefinition) -> Context:
    def make(state: str = "waiting", actor: ActorRef = STAFF, inputs: dict[str, Any] | None = None,
             **patient_changes: Any) -> TransitionContext:
        row = EnrollmentRow("e1", definition.id, definition.version, "p1", None, state, 1, (), 0, "0" * 64)
        services = cast(Services, type("S", (), {"clock": Clock(), "vocabulary": standard_vocabulary()})())
        ctx = TransitionContext(conn=cast(Any, None), services=services, definition=definition, enrollment=row,
                                actor=actor, inputs=dict(inputs or {}), reason=None, trigger_name="invite")
        ctx.subject = cast(EnrollmentSubject, Subject(patient(**patient_changes)))
        return ctx
    return make


def test_the_candidates_of_a_trigger_are_its_transitions_from_the_state_in_file_order(
        definition: WorkflowDefinition) -> None:
    assert candidates(definition, "waiting", "invite") == (0, 1)
    assert candidates(definition, "invited", "invite") == ()
    assert not_available(definition, "invited", "invite") == (
        "'invite' is not available while the enrollment is 'Invited'; available: finish, register")
    assert not_available(definition, "done", "invite").endswith("available: none (the enrollment is finished)")


def test_missing_steps_and_failing_guards_are_all_listed_at_once(context: Context) -> None:
    ctx = context(email=None, email_confirmed_personal=False)
    assert evaluate(ctx, 0) == (
        "step 'confirm_email' is not done: Confirm the email address with the patient.",
        "step 'asked_at' is not done: Say where the patient asked for the invite.",
        "email address is missing",
        "email address has not been confirmed as correct and personal to the patient")


def test_a_value_of_the_wrong_type_and_one_breaking_its_rule_are_each_named(context: Context) -> None:
    ctx = context(inputs={"confirm_email": "maybe", "asked_at": "phone"})
    assert evaluate(ctx, 0) == ("'Email confirmed' must be confirmed", "'Asked at' must be 'desk'")


def test_a_candidate_with_valid_steps_and_passing_guards_may_fire_with_its_values_normalised(
        context: Context) -> None:
    ctx = context(inputs={"confirm_email": "yes", "asked_at": "desk"})
    assert evaluate(ctx, 0) == ()
    assert ctx.inputs["confirm_email"] is True


def test_an_actor_of_another_kind_is_told_who_does_it_and_nothing_else(context: Context) -> None:
    ctx = context(state="invited", email=None)
    assert evaluate(ctx, 2) == ("'finish' is done by system, not by staff",)


def test_the_first_candidate_that_passes_is_chosen_in_file_order(context: Context) -> None:
    ctx = context(inputs={"confirm_email": True, "asked_at": "desk"})
    assert verdict(ctx, (0, 1)).index == 0
    assert verdict(ctx, (0, 1)).reasons == ()
    unconfirmed = context(email_confirmed_personal=False)  # the first lacks its steps; the second passes
    assert verdict(unconfirmed, (0, 1)).index == 1
    assert verdict(unconfirmed, (0, 1)).reasons == ()


def test_a_guard_under_unless_refuses_while_it_holds(context: Context) -> None:
    assert evaluate(context(), 1) == (
        "not while: staff confirmed the email address is correct and personal to the patient, not shared",)


def test_when_none_passes_the_closest_candidate_is_shown_not_a_mix_of_alternatives(context: Context) -> None:
    ctx = context(email=None, email_confirmed_personal=False)
    judged = verdict(ctx, (0, 1))
    assert judged.index == 1  # one reason against four (two steps not done, two guards)
    assert judged.reasons == ("email address is missing",)


def test_reasons_the_machine_already_found_are_reused_not_judged_again(context: Context) -> None:
    ctx = context()
    known = {0: ("from the machine",), 1: ("also from the machine", "twice")}
    assert verdict(ctx, (0, 1), known).reasons == ("from the machine",)


def test_a_system_action_says_which_timer_does_it_and_what_its_guards_would_say_now(context: Context) -> None:
    judged = verdict(context(state="invited", email=None), (2,))
    assert judged.by_other
    assert judged.reasons == ("done by the system (timer 'nudge')", "email address is missing")


def test_a_portal_action_says_who_does_it_without_judging_what_the_patient_will_present(
        context: Context) -> None:
    judged = verdict(context(state="invited"), (3,))
    assert judged.reasons == ("done by the portal: the patient registers on the portal",)
    assert verdict(context(state="invited", actor=PORTAL_ACTOR), (3,)).reasons == (
        "the link is not valid or has expired",)
    assert verdict(context(state="invited", actor=SYSTEM_ACTOR, email="x@example.test"), (2,)).reasons == ()


def test_a_step_is_found_among_the_candidates_and_checked_with_its_rule(
        context: Context, definition: WorkflowDefinition) -> None:
    step = find_step(definition, "waiting", "invite", "asked_at")
    assert step is not None
    assert find_step(definition, "waiting", "invite", "nope") is None
    assert check_step(context(), step, "phone") == ("phone", "'Asked at' must be 'desk'")
    assert check_step(context(), step, "fax")[1] == "'Asked at' must be one of: phone, desk"
    assert done_by(definition, "waiting", definition.transitions[3]) == (
        "done by the portal: the patient registers on the portal")
