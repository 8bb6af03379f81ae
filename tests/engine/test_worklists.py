"""Staff worklists pick out exactly the enrollments that need a person: PINs about to expire, invitations waiting
on the patient, households half-registered, messages that did not go. Driven through real workflows and a fake
clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert

from definitions.model import Actor
from engine.actors import ActorRef
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.messaging.channels import OutgoingMessage, PermanentFailure, UnknownOutcome
from engine.messaging.delivery import DeliveryWorker
from engine.storage.tables import patients, sites
from engine.views.invites_waiting import invite_states, invites_waiting
from engine.views.worklists import Child, FailedMessage, households_part_registered, messages_failed, pins_expiring

ANA = ActorRef("ana", "staff", Actor.STAFF)
EHR = ActorRef("ehr", "integration", Actor.INTEGRATION)
REGENERATE = "nextgen-regenerate-expired-pin"
SIBLINGS = "intellichart-pins-for-siblings"
PXP = "nextgen-pxp-portal-invites"
ONBOARDING = "portal-invitation-reset-onboarding"
ENROLL_NOW_STEPS: dict[str, Any] = {"confirm_required_fields": True, "enroll_now": "chart_banner"}
ENABLE = {"enable_access": "onboarding_tool"}
SIBLING_STEPS: dict[str, Any] = {
    "select_children": ["c-ava", "c-cal"], "open_first_child": "patient_administration",
    "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
    "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True,
}
BIRTH_DATES = {"c-ava": date(2018, 6, 1), "c-cal": date(2016, 2, 2)}


def start(flow: Any, workflow_id: str, *, patient_id: str | None = None, household_id: str | None = None) -> str:
    started = flow.start(StartEnrollment(workflow_id, ANA, patient_id=patient_id, household_id=household_id))
    return str(started.enrollment_id)


def issue_pin(flow: Any, patient_id: str) -> str:
    enrollment = start(flow, REGENERATE, patient_id=patient_id)
    flow.advance(AdvanceEnrollment(enrollment, "generate_pin", ANA))
    return enrollment


def sibling_pins(flow: Any) -> tuple[str, dict[str, str]]:
    """PINs for Ava (emailed) and Cal (printed); Ben is left out. Returns the enrollment and each child's PIN."""
    enrollment = start(flow, SIBLINGS, household_id="h-lee")
    done = flow.advance(AdvanceEnrollment(enrollment, "generate_sibling_pins", ANA, inputs=SIBLING_STEPS))
    return enrollment, {s.patient_id: s.value for s in done.shown}


def invite(flow: Any, patient_id: str) -> str:
    enrollment = start(flow, PXP, patient_id=patient_id)
    flow.advance(AdvanceEnrollment(enrollment, "enroll_now", ANA, inputs=ENROLL_NOW_STEPS))
    return enrollment


def add_north_site_patient(flow: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(insert(sites).values(id="north", name="North Clinic", timezone="America/Chicago",
                                          portal_url="https://north.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
        conn.execute(insert(patients).values(
            id="p-north", site_id="north", given_name="Nils", family_name="North", name_is_placeholder=False,
            birth_date=date(1990, 1, 1), birth_sex="M", zip="60601", email="nils@example.test",
            email_confirmed_personal=True, portal_access_enabled=False))


def worklist(flow: Any, fn: Any, *args: Any, sites: frozenset[str] | None = None, **options: Any) -> Any:
    """The worklist `fn` read now; of every site unless `sites` says otherwise."""
    with flow.db.connect() as conn:
        return fn(conn, flow.services.clock.now(), *args, sites=sites, **options)


# ----- PINs about to expire -------------------------------------------------------------------------------------


def test_pins_expiring_lists_open_pins_within_the_window_soonest_first(flow: Any, clock: Any) -> None:
    t0 = clock.now()
    jane = issue_pin(flow, "p-jane")
    clock.advance(timedelta(days=10))
    household, _ = sibling_pins(flow)
    clock.advance(timedelta(days=15))  # Jane's PIN has 5 days left, the siblings' 15
    soon = worklist(flow, pins_expiring, flow.catalog, 7)
    assert [(p.patient_id, p.display_name, p.enrollment_id, p.status, p.days_left, p.expired) for p in soon] == [
        ("p-jane", "Jane Doe", jane, "Pending Registration", 5, False)]
    assert soon[0].expires_at == t0 + timedelta(days=30)
    later = worklist(flow, pins_expiring, flow.catalog, 20)
    assert [(p.patient_id, p.enrollment_id, p.days_left, p.printed) for p in later] == [
        ("p-jane", jane, 5, False), ("c-ava", household, 15, False), ("c-cal", household, 15, True)]
    assert worklist(flow, pins_expiring, flow.catalog, 20, limit=1) == later[:1]


def test_an_expired_pin_nobody_replaced_stays_on_the_list_flagged_unless_asked_to_leave_it_out(
        flow: Any, clock: Any) -> None:
    issue_pin(flow, "p-jane")
    clock.advance(timedelta(days=31))
    flow.sweeper.sweep()  # the enrollment moves to PIN Expired; the PIN itself is still open until regenerated
    (expired,) = worklist(flow, pins_expiring, flow.catalog, 7)
    assert (expired.patient_id, expired.status, expired.expired, expired.days_left) == (
        "p-jane", "PIN Expired", True, -1)
    assert worklist(flow, pins_expiring, flow.catalog, 7, include_expired=False) == []


def test_used_and_replaced_pins_and_other_sites_are_not_listed(flow: Any, clock: Any) -> None:
    add_north_site_patient(flow)
    issue_pin(flow, "p-north")
    _, pins = sibling_pins(flow)
    flow.present_pin(PresentPin(pins["c-ava"], BIRTH_DATES["c-ava"]))  # Ava's PIN is used: she is registered
    listed = worklist(flow, pins_expiring, flow.catalog, 30, site_id="main")
    assert [p.patient_id for p in listed] == ["c-cal"]
    assert {p.site_id for p in worklist(flow, pins_expiring, flow.catalog, 30)} == {"main", "north"}


# ----- invitations waiting on the patient --------------------------------------------------------------------------


def test_the_invite_states_come_from_the_definitions_messages_that_carry_a_link(flow: Any) -> None:
    states = {d.id: invite_states(d) for d in flow.catalog.all()}
    assert states == {PXP: ("invited",), ONBOARDING: ("invited",), REGENERATE: (), SIBLINGS: (),
                      "op-generate-pin-easy-button": ()}


def test_invites_waiting_lists_enrollments_waiting_on_the_patient_with_their_sends(flow: Any, clock: Any) -> None:
    sent_at = clock.now()
    pxp = invite(flow, "p-jane")
    onboarding = start(flow, ONBOARDING, patient_id="p-noemail")  # access enabled, nothing sent: not waiting
    flow.advance(AdvanceEnrollment(onboarding, "enable_portal_access", ANA, inputs=ENABLE))
    (waiting,) = worklist(flow, invites_waiting, flow.catalog)
    assert (waiting.enrollment_id, waiting.patient_id, waiting.display_name, waiting.email, waiting.status) == (
        pxp, "p-jane", "Jane Doe", "jane@example.test", "Invited")
    assert (waiting.recent_invites, waiting.last_invited_at, waiting.last_sent_at) == (1, sent_at, None)
    assert (waiting.link_expires_at, waiting.next_timer_at) == (sent_at + timedelta(hours=24),
                                                                sent_at + timedelta(days=7))
    clock.advance(timedelta(days=7))
    assert flow.sweeper.sweep().counts["fired"] == 1  # the re-send
    (again,) = worklist(flow, invites_waiting, flow.catalog)
    assert (again.recent_invites, again.last_invited_at) == (2, clock.now())


def test_an_activated_patient_or_an_expired_link_is_no_longer_waiting(flow: Any, clock: Any) -> None:
    pxp = invite(flow, "p-jane")
    onboarding = start(flow, ONBOARDING, patient_id="p-jane")
    flow.advance(AdvanceEnrollment(onboarding, "enable_portal_access", ANA, inputs=ENABLE))
    flow.advance(AdvanceEnrollment(onboarding, "send_invitation", ANA, inputs={
        "send_from": "onboarding_tool", "confirm_email_personal": True}))
    assert {w.enrollment_id for w in worklist(flow, invites_waiting, flow.catalog)} == {pxp, onboarding}
    flow.advance(AdvanceEnrollment(pxp, "account_activated", EHR))
    clock.advance(timedelta(hours=25))
    flow.sweeper.sweep()  # the onboarding link expires: back to Access Enabled
    assert worklist(flow, invites_waiting, flow.catalog) == []
    assert worklist(flow, invites_waiting, flow.catalog, site_id="north") == []


# ----- households half-registered ----------------------------------------------------------------------------------


def test_a_household_with_some_selected_children_registered_lists_who_is_done_and_who_is_pending(
        flow: Any, clock: Any) -> None:
    enrollment, pins = sibling_pins(flow)
    assert worklist(flow, households_part_registered, flow.catalog) == []  # nobody registered yet
    flow.present_pin(PresentPin(pins["c-ava"], BIRTH_DATES["c-ava"]))
    clock.advance(timedelta(days=3))
    (household,) = worklist(flow, households_part_registered, flow.catalog)
    assert (household.enrollment_id, household.household_id, household.guardian_name, household.status) == (
        enrollment, "h-lee", "Kim Lee", "Partially Registered")
    # Ben was never selected: he is neither done nor pending in this enrollment.
    assert (household.registered, household.pending) == ((Child("c-ava", "Ava Lee"),), (Child("c-cal", "Cal Lee"),))
    assert household.days_waiting == 3
    assert worklist(flow, households_part_registered, flow.catalog, site_id="north") == []
    flow.present_pin(PresentPin(pins["c-cal"], BIRTH_DATES["c-cal"]))
    assert worklist(flow, households_part_registered, flow.catalog) == []  # Registered: finished


# ----- messages that did not go -----------------------------------------------------------------------------------


class Refuses:
    def send(self, message: OutgoingMessage) -> str:
        raise PermanentFailure("the mailbox does not exist")


class Unsure:
    def send(self, message: OutgoingMessage) -> str:
        raise UnknownOutcome("the connection dropped after the final dot")


class Accepts:
    def send(self, message: OutgoingMessage) -> str:
        return f"ok-{message.message_ref}"


def deliver(flow: Any, **adapters: Any) -> None:
    DeliveryWorker(flow.db, flow.services.clock, flow.services.sealer, adapters,
                   default_sender="Practice <portal@practice.example>").deliver()


def test_failed_and_unsure_messages_are_listed_newest_first_and_sent_ones_are_not(flow: Any, clock: Any) -> None:
    pin_enrollment = issue_pin(flow, "p-jane")  # a secure message: the channel refuses it for good
    clock.advance(timedelta(minutes=5))
    invite_enrollment = invite(flow, "p-jane")  # an email: nobody can tell whether it went
    deliver(flow, secure_message=Refuses(), email=Unsure())
    clock.advance(timedelta(minutes=5))
    household, _ = sibling_pins(flow)  # the welcome email goes out fine
    deliver(flow, email=Accepts())
    failed = worklist(flow, messages_failed)
    assert [(m.enrollment_id, m.patient_id, m.message_id, m.channel, m.status, m.attempts) for m in failed] == [
        (invite_enrollment, "p-jane", "manual_invite", "email", "review", 1),
        (pin_enrollment, "p-jane", "enrollment_notification", "secure_message", "failed", 1)]
    assert failed[0].recipient == "jane@example.test"
    assert failed[0].detail == ("the connection dropped after the final dot; check the channel before sending it "
                                "again")
    assert failed[1].detail == "the mailbox does not exist"
    assert {f.name for f in dataclasses.fields(FailedMessage)}.isdisjoint({"body", "sealed"})
    assert household not in {m.enrollment_id for m in failed}


def test_failed_messages_can_be_narrowed_to_a_site_and_to_recent_days(flow: Any, clock: Any) -> None:
    issue_pin(flow, "p-jane")
    deliver(flow, secure_message=Refuses())
    assert [m.site_id for m in worklist(flow, messages_failed, site_id="main")] == ["main"]
    assert worklist(flow, messages_failed, site_id="north") == []
    clock.advance(timedelta(days=10))
    assert worklist(flow, messages_failed, within_days=5) == []
    assert len(worklist(flow, messages_failed, within_days=11)) == 1
