"""The portal steps that could not happen before: a patient's first login replaces the password staff set, and a
patient with a chart sets up or resets the account from the login screen when the chart meets the conditions —
with the same (empty) answer whether or not it does, or the patient exists. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update

from definitions.model import Actor
from engine.actors import EVERY_SITE, ActorRef
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.storage.tables import audit_events, enrollments, outbox, patients

ANA = ActorRef("ana", "staff", Actor.STAFF)
ONBOARDING = "portal-invitation-reset-onboarding"
JANE_BORN = date(1980, 4, 1)
MANUAL = {"open_edit_information": True, "username": "nora.mail", "password": "correct horse battery staple",
          "save": True, "hand_over": "in_person"}


def enable_access(flow: Any, patient_id: str) -> str:
    eid = str(flow.start(StartEnrollment(ONBOARDING, ANA, patient_id=patient_id)).enrollment_id)
    flow.advance(AdvanceEnrollment(eid, "enable_portal_access", ANA, inputs={"enable_access": "onboarding_tool"}))
    return eid


def status(flow: Any, enrollment_id: str) -> str:
    return str(flow.describe(enrollment_id, ANA).status)


def links_sent(flow: Any, patient_id: str) -> int:
    with flow.db.connect() as conn:
        return len(conn.execute(select(outbox.c.id).join(enrollments, enrollments.c.id == outbox.c.enrollment_id)
                                .where((enrollments.c.patient_id == patient_id)
                                       & (outbox.c.message_id == "invitation_reset_email"))).all())


def test_a_first_login_finishes_an_account_staff_set_up_and_clears_the_must_change_flag(flow: Any) -> None:
    eid = enable_access(flow, "p-noemail")
    flow.advance(AdvanceEnrollment(eid, "set_credentials_manually", ANA, reason="no email address", inputs=MANUAL))
    assert status(flow, eid) == "Credentials Set by Staff"
    assert flow.people.read_patient("p-noemail", viewer=EVERY_SITE).password_must_change
    assert flow.report_first_login("someone.else") == []  # nothing waits for that account: nothing happens
    (moved,) = flow.report_first_login("Nora.Mail")
    assert (moved.to_state, status(flow, eid)) == ("account_set_up", "Account Set Up")
    assert not flow.people.read_patient("p-noemail", viewer=EVERY_SITE).password_must_change
    assert flow.report_first_login("nora.mail") == []  # reported twice: the second finds nothing waiting


def test_a_patient_sets_up_the_account_from_the_login_screen_and_later_resets_the_password(flow: Any) -> None:
    first = enable_access(flow, "p-jane")
    assert flow.request_self_service(" JANE@example.test ", JANE_BORN) == 1
    assert (status(flow, first), links_sent(flow, "p-jane")) == ("Invitation Sent", 1)
    (shown,) = flow.advance(AdvanceEnrollment(first, "send_invitation", ANA, inputs={
        "send_from": "onboarding_tool", "confirm_email_personal": True})).shown  # staff may send it too
    flow.present_link(shown.value.rsplit("/", 1)[-1])
    assert status(flow, first) == "Account Set Up"
    # Later, the password forgotten: a new request starts a new enrollment and sends a reset link.
    assert flow.request_self_service("jane@example.test", JANE_BORN) == 1
    (newest,) = [e for e in flow.find_enrollments(patient_id="p-jane", workflow_id=ONBOARDING, viewer=EVERY_SITE)
                 if e.id != first]
    assert (newest.status, links_sent(flow, "p-jane")) == ("Invitation Sent", 3)


def test_a_chart_that_does_not_meet_the_conditions_gets_no_link_and_the_caller_learns_nothing(flow: Any) -> None:
    # Portal access not enabled: refused, and the enrollment that would have been started is not kept.
    assert flow.request_self_service("jane@example.test", JANE_BORN) == 0
    assert flow.find_enrollments(patient_id="p-jane", viewer=EVERY_SITE) == []
    with flow.db.connect() as conn:
        (row,) = conn.execute(select(audit_events).where(audit_events.c.action == "self_service_requested")).all()
    assert (row.subject_id, row.actor_id, row.outcome) == ("p-jane", "portal", "refused")
    assert row.detail == f"{ONBOARDING}: refused: Patient Portal access is not enabled"
    # Access enabled but the address not confirmed personal: refused in the running enrollment's history.
    eid = enable_access(flow, "p-jane")
    with flow.db.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == "p-jane").values(email_confirmed_personal=False))
    assert flow.request_self_service("jane@example.test", JANE_BORN) == 0
    assert status(flow, eid) == "Access Enabled"
    assert links_sent(flow, "p-jane") == 0
    # Unknown people and a wrong birth date: the same nothing.
    assert flow.request_self_service("nobody@example.test", JANE_BORN) == 0
    assert flow.request_self_service("jane@example.test", date(1999, 1, 1)) == 0
