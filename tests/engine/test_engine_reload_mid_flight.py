"""Every workflow survives a restart mid-flight: a new process, new machines, the same database, and it goes on."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment

ANA = ActorRef("ana", "staff", Actor.STAFF)
EHR = ActorRef("ehr", "integration", Actor.INTEGRATION)
KEY = b"q" * 43 + b"="


def rebuilt(flow: Any, database_url: str, workflows_dir: Path) -> Any:
    """What a restarted process sees: nothing in memory, everything from the database."""
    flow.db.dispose()
    return build(database_url, workflows_dir, clock=flow.services.clock, hash_cost=TEST_COST, secret_key=KEY)


def _link_token(flow: Any, shown: Any) -> str:
    return str(shown.value.rsplit("/", 1)[-1])


CASES: dict[str, Any] = {
    "nextgen-regenerate-expired-pin": (
        {"patient_id": "p-jane"},
        lambda f, e: f.advance(AdvanceEnrollment(e, "generate_pin", ANA)),
        lambda f, e, first: f.present_pin(PresentPin(first.shown[0].value, date(1980, 4, 1))),
        "registered"),
    "op-generate-pin-easy-button": (
        {"household_id": "h-lee"},
        lambda f, e: f.advance(AdvanceEnrollment(e, "register", ANA, inputs={
            "open_registration": "family_contacts", "create_validate_portal_account": True,
            "select_children": ["c-ava"], "click_register": True, "print_pins": True})),
        lambda f, e, first: f.present_pin(PresentPin(first.shown[0].value, date(2018, 6, 1))),
        "registered"),
    "intellichart-pins-for-siblings": (
        {"household_id": "h-lee"},
        lambda f, e: f.advance(AdvanceEnrollment(e, "generate_sibling_pins", ANA, inputs={
            "select_children": ["c-ava", "c-cal"], "open_first_child": "appointment_list",
            "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
            "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True})),
        lambda f, e, first: f.present_pin(PresentPin(first.shown[0].value, date(2018, 6, 1))),
        "partially_registered"),
    "nextgen-pxp-portal-invites": (
        {"patient_id": "p-jane"},
        lambda f, e: f.advance(AdvanceEnrollment(e, "chart_added", EHR)),
        lambda f, e, first: f.advance(AdvanceEnrollment(e, "account_activated", EHR)),
        "activated"),
    "portal-invitation-reset-onboarding": (
        {"patient_id": "p-jane"},
        lambda f, e: (f.advance(AdvanceEnrollment(e, "enable_portal_access", ANA,
                                                  inputs={"enable_access": "onboarding_tool"})),
                      f.advance(AdvanceEnrollment(e, "send_invitation", ANA, inputs={
                          "send_from": "onboarding_tool", "confirm_email_personal": True})))[1],
        lambda f, e, first: f.present_link(_link_token(f, first.shown[0])),
        "account_set_up"),
}


@pytest.mark.parametrize("workflow_id", list(CASES))
def test_a_workflow_saved_mid_flight_continues_after_a_restart(
    workflow_id: str, flow: Any, database_url: str, workflows_dir: Path
) -> None:
    subject, before, after, final_state = CASES[workflow_id]
    started = flow.start(StartEnrollment(workflow_id, ANA, **subject))
    first = before(flow, started.enrollment_id)
    restarted = rebuilt(flow, database_url, workflows_dir)
    try:
        done = after(restarted, started.enrollment_id, first)
        assert done.from_state == first.to_state
        assert done.to_state == final_state
        assert done.version == first.version + 1
    finally:
        restarted.db.dispose()
