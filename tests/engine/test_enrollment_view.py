"""Staff see an enrollment as the engine judges it: what can be done next and everything in the way, what waits on
the clock and what was sent. Looking writes nothing and shows no secret. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.calendars.site_calendar import SiteCalendar
from engine.calendars.store import save_calendar
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.enrollments.steps import CompleteStep
from engine.errors import NotFound, Refused
from engine.fsm.rows import read_enrollment, record_step
from engine.storage.tables import audit_events, credentials, enrollments, outbox, step_completions, timers
from engine.views.enrollment import EnrollmentView, MessageView, TimerView, TriggerView, describe_enrollment

ANA = ActorRef("ana", "staff", Actor.STAFF)
BOB = ActorRef("bob", "staff", Actor.STAFF)
EHR = ActorRef("ehr", "integration", Actor.INTEGRATION)
REGENERATE = "nextgen-regenerate-expired-pin"
EASY = "op-generate-pin-easy-button"
PXP = "nextgen-pxp-portal-invites"
ONBOARDING = "portal-invitation-reset-onboarding"
ENROLL_NOW_STEPS: dict[str, Any] = {"confirm_required_fields": True, "enroll_now": "chart_banner"}
ENABLE = {"enable_access": "onboarding_tool"}
NOT_LINKED = "your user is not linked to a staff record in the practice portal"
PLACEHOLDER = "name is still 'Baby Girl Lee': update Basic Info to the given name first"


def describe(flow: Any, enrollment_id: str, actor: ActorRef = ANA) -> EnrollmentView:
    return describe_enrollment(flow.db, flow.services, flow.catalog, enrollment_id, actor)


def trigger(view: EnrollmentView, name: str) -> TriggerView:
    return next(t for t in view.triggers if t.trigger == name)


def not_done(flow: Any, workflow_id: str, trigger_name: str, *step_ids: str) -> tuple[str, ...]:
    """The engine's words for steps not done yet, from the definition's own instructions."""
    definition = flow.catalog.latest(workflow_id)
    steps = {s.id: s for t in definition.transitions if t.trigger == trigger_name for s in t.steps}
    return tuple(f"step '{i}' is not done: {steps[i].instruction.strip()}" for i in step_ids)


def start(flow: Any, workflow_id: str, actor: ActorRef = ANA, *, patient_id: str | None = None,
          household_id: str | None = None) -> str:
    started = flow.start(StartEnrollment(workflow_id, actor, patient_id=patient_id, household_id=household_id))
    return str(started.enrollment_id)


def footprint(flow: Any, enrollment_id: str) -> tuple[Any, ...]:
    with flow.db.connect() as conn:
        counts = tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()
                       for table in (audit_events, step_completions, credentials, outbox, timers))
        row = conn.execute(select(enrollments.c.state, enrollments.c.version, enrollments.c.audit_seq,
                                  enrollments.c.updated_at).where(enrollments.c.id == enrollment_id)).one()
    return (*counts, tuple(row))


# ----- what stands in the way ----------------------------------------------------------------------------------


def test_a_trigger_blocked_by_a_missing_email_says_so_in_the_words_the_engine_refuses_with(flow: Any) -> None:
    enrollment = start(flow, REGENERATE, patient_id="p-noemail")
    view = describe(flow, enrollment)
    (generate,) = view.triggers
    assert (generate.trigger, generate.by, generate.available, generate.to_status) == (
        "generate_pin", "staff", False, "Pending Registration")
    with pytest.raises(Refused) as refused:
        flow.advance(AdvanceEnrollment(enrollment, "generate_pin", ANA))
    assert generate.blocked == refused.value.reasons == ("email address is missing",)


def test_every_reason_is_listed_before_the_steps_are_done_and_a_guard_on_a_missing_input_waits_for_it(
        flow: Any) -> None:
    enrollment = start(flow, EASY, BOB, household_id="h-lee")
    register = trigger(describe(flow, enrollment, BOB), "register")
    required = ("open_registration", "create_validate_portal_account", "select_children", "click_register",
                "print_pins")
    # "select at least 1 child(ren)" is left out: it judges the selection, and that step is not done yet.
    assert register.blocked == (*not_done(flow, EASY, "register", *required), NOT_LINKED, PLACEHOLDER)
    assert not register.available
    assert [s.done for s in register.steps] == [False] * 6
    assert trigger(describe(flow, enrollment, ANA), "register").blocked[-1] == PLACEHOLDER


def test_once_the_steps_are_done_the_view_lists_exactly_what_advance_then_refuses_with(flow: Any) -> None:
    enrollment = start(flow, EASY, BOB, household_id="h-lee")
    steps = {"open_registration": "family_contacts", "create_validate_portal_account": True,
             "select_children": ["c-ava", "c-ben"], "click_register": True, "print_pins": True}
    for step, value in steps.items():
        flow.complete_step(CompleteStep(enrollment, "register", step, value, BOB))
    blocked = trigger(describe(flow, enrollment, BOB), "register").blocked
    with pytest.raises(Refused) as refused:
        flow.advance(AdvanceEnrollment(enrollment, "register", BOB))
    assert blocked == refused.value.reasons == (NOT_LINKED, PLACEHOLDER)


def test_leaving_the_placeholder_child_out_clears_its_reason_and_the_selection_shows_as_done(flow: Any) -> None:
    enrollment = start(flow, EASY, household_id="h-lee")
    flow.complete_step(CompleteStep(enrollment, "register", "select_children", ["c-ava", "c-cal"], ANA))
    register = trigger(describe(flow, enrollment), "register")
    assert register.blocked == not_done(flow, EASY, "register", "open_registration",
                                        "create_validate_portal_account", "click_register", "print_pins")
    chosen = next(s for s in register.steps if s.id == "select_children")
    assert (chosen.done, chosen.value, chosen.input_type, chosen.needs_input) == (
        True, ("c-ava", "c-cal"), "children", True)


def test_a_trigger_this_staff_member_can_fire_now_is_available_with_nothing_in_the_way(flow: Any) -> None:
    view = describe(flow, start(flow, REGENERATE, patient_id="p-jane"))
    (generate,) = view.triggers
    assert (generate.available, generate.blocked, generate.reason_required, generate.steps) == (True, (), False, ())
    assert (view.workflow_title, view.state, view.status, view.final, view.version) == (
        "Patient Portal: Regenerating an Expired PIN", "not_enrolled", "Not Enrolled", False, 1)


def test_describing_writes_nothing_not_even_for_a_trigger_that_would_pass(flow: Any) -> None:
    enrollment = start(flow, REGENERATE, patient_id="p-jane")
    flow.complete_step(CompleteStep(start(flow, EASY, household_id="h-lee"), "register", "click_register", True,
                                    ANA))
    before = footprint(flow, enrollment)
    assert trigger(describe(flow, enrollment), "generate_pin").available
    assert footprint(flow, enrollment) == before


def test_an_unknown_enrollment_is_not_found(flow: Any) -> None:
    with pytest.raises(NotFound, match="no enrollment 'e-nobody'"):
        describe(flow, "e-nobody")


# ----- steps and their values ------------------------------------------------------------------------------------


def test_completed_steps_show_their_recorded_values_and_the_next_move_of_the_clock(flow: Any, clock: Any) -> None:
    enrollment = start(flow, REGENERATE, patient_id="p-jane")
    flow.advance(AdvanceEnrollment(enrollment, "generate_pin", ANA))
    clock.advance(timedelta(days=30))
    for step, value in {"set_provider": "dr-pcp", "route_to": "", "decline_responsible_provider": "no"}.items():
        flow.complete_step(CompleteStep(enrollment, "regenerate_pin", step, value, ANA))
    view = describe(flow, enrollment)
    regenerate = trigger(view, "regenerate_pin")
    done = {s.id: s.value for s in regenerate.steps if s.done}
    assert done == {"set_provider": "dr-pcp", "route_to": "", "decline_responsible_provider": "no"}
    assert regenerate.blocked == not_done(flow, REGENERATE, "regenerate_pin", "start_update",
                                          "choose_encounter_type", "regenerate", "close_and_end_update",
                                          "sign_document")
    assert trigger(view, "expire_pin").blocked == ("done by the system (timer 'pin_expiry')",)
    assert trigger(view, "register_with_pin").blocked == (
        "done by the portal: the patient registers on the portal with the PIN and date of birth",)


def test_a_password_step_is_given_with_its_trigger_and_never_shows_its_value(flow: Any, clock: Any) -> None:
    enrollment = start(flow, ONBOARDING, patient_id="p-jane")
    flow.advance(AdvanceEnrollment(enrollment, "enable_portal_access", ANA, inputs=ENABLE))
    flow.complete_step(CompleteStep(enrollment, "set_credentials_manually", "username", "jane.doe", ANA))
    manual = trigger(describe(flow, enrollment), "set_credentials_manually")
    password = next(s for s in manual.steps if s.id == "password")
    assert (manual.reason_required, password.done, password.value, password.with_trigger) == (True, False, None, True)
    assert next(s for s in manual.steps if s.id == "username").value == "jane.doe"
    # The engine refuses to record a password step; were one ever written, the view still shows no value.
    secret = "correct horse battery staple"
    with flow.db.begin() as conn:
        record_step(conn, read_enrollment(conn, enrollment), "set_credentials_manually", "password", secret, ANA,
                    clock.now())
    view = describe(flow, enrollment)
    password = next(s for s in trigger(view, "set_credentials_manually").steps if s.id == "password")
    assert (password.done, password.value) == (True, "[redacted]")
    assert secret not in repr(view)


# ----- timers ----------------------------------------------------------------------------------------------------


def test_a_pending_pin_expiry_is_shown_with_its_due_time_and_what_it_will_do(flow: Any, clock: Any) -> None:
    enrollment = start(flow, REGENERATE, patient_id="p-jane")
    issued = clock.now()
    flow.advance(AdvanceEnrollment(enrollment, "generate_pin", ANA))
    (timer,) = describe(flow, enrollment).timers
    assert timer == TimerView(
        timer_id="pin_expiry", trigger="expire_pin", status="pending", armed_at=issued,
        due_at=issued + timedelta(days=30), attempts=0,
        explanation="fires 'expire_pin' 30 days after entering 'Pending Registration'",
        description="The PIN expires 30 days after it was issued; a late firing still expires it.")


def test_a_resend_held_for_opening_hours_says_until_when_and_why(flow: Any, clock: Any) -> None:
    with flow.db.begin() as conn:
        save_calendar(conn, "main", SiteCalendar("America/New_York", {d: ((time(9), time(17)),) for d in range(5)}))
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))  # Monday 18:00 in New York: a week later is after closing
    enrollment = start(flow, PXP, patient_id="p-jane")
    flow.advance(AdvanceEnrollment(enrollment, "enroll_now", ANA, inputs=ENROLL_NOW_STEPS))
    (timer,) = describe(flow, enrollment).timers
    assert timer.trigger == "resend_invite"
    assert timer.due_at == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # Tuesday 09:00 EDT, after the DST change
    assert timer.explanation.startswith("waits for opening hours: next firing Tue 10 Mar 09:00 America/New_York")


# ----- messages, other actors, the end ----------------------------------------------------------------------------


def test_messages_are_listed_with_what_happened_to_them_and_never_their_bodies(flow: Any, clock: Any) -> None:
    enrollment = start(flow, PXP, patient_id="p-jane")
    done = flow.advance(AdvanceEnrollment(enrollment, "enroll_now", ANA, inputs=ENROLL_NOW_STEPS))
    view = describe(flow, enrollment)
    (message,) = view.messages
    assert (message.message_id, message.channel, message.status, message.recipient, message.attempts) == (
        "manual_invite", "email", "queued", "jane@example.test", 0)
    assert message.created_at == clock.now()
    assert message.subject
    assert {f.name for f in dataclasses.fields(MessageView)}.isdisjoint({"body", "sealed"})
    (link,) = done.shown
    assert link.value not in repr(view)
    assert trigger(view, "resend_invite").blocked == ("done by the system (timer 'resend_invite')",)


def test_an_integration_trigger_says_who_does_it_and_what_its_guards_would_say_now(flow: Any) -> None:
    chart_added = trigger(describe(flow, start(flow, PXP, patient_id="p-noemail")), "chart_added")
    assert (chart_added.by, chart_added.available) == ("integration", False)
    assert chart_added.blocked == ("done by an integration: auto invite when a chart is added for the patient",
                                   "required demographics are missing: email address")


def test_a_finished_enrollment_is_final_and_offers_nothing_more(flow: Any) -> None:
    enrollment = start(flow, PXP, patient_id="p-jane")
    flow.advance(AdvanceEnrollment(enrollment, "enroll_now", ANA, inputs=ENROLL_NOW_STEPS))
    flow.advance(AdvanceEnrollment(enrollment, "account_activated", EHR))
    view = describe(flow, enrollment)
    assert (view.state, view.status, view.final, view.version, view.triggers, view.timers) == (
        "activated", "Activated", True, 3, (), ())
    assert view.started_at <= view.updated_at
