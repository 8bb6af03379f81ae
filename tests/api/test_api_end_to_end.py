"""The five procedures end to end, driven only over HTTP as staff, the EHR, the portal and the auditor would.

Patients and households are created with POST /patients and /households (the site, providers and staff users come
from the seed); each procedure runs to its final state through one refused step and its correction. Emails go over
real SMTP on loopback (aiosmtpd): a patient follows the link from the email actually received. Time moves on the
fake clock, and the timers and the outbox are then run as the service's own background job runs them
(`engine.background.jobs.one_round`): that is the only step not taken over HTTP, because in production no one calls it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from loopback_smtp import Server
from practice import seed_practice

from engine.background.jobs import one_round
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.front_door.flow import PortalFlow
from engine.messaging.channels import FolderChannel, SmtpChannel

REGENERATE = "nextgen-regenerate-expired-pin"
EASY_BUTTON = "op-generate-pin-easy-button"
SIBLINGS = "intellichart-pins-for-siblings"
PXP = "nextgen-pxp-portal-invites"
ONBOARDING = "portal-invitation-reset-onboarding"
LINK = re.compile(r"https://portal\.example\.test/access/(\S+)")
PIN_IN_MAIL = re.compile(r"Your registration PIN: (\S+)")


# ----- the engine of the `api` fixture, with email over SMTP on loopback ---------------------------------------


@pytest.fixture
def smtp(start_server: Callable[..., Server]) -> Server:
    return start_server()


@pytest.fixture
def flow(database_url: str, clock: FakeClock, workflows_dir: Path, tmp_path: Path, smtp: Server
         ) -> Iterator[PortalFlow]:
    """Overrides conftest's `flow` (so its `api` fixture serves this one): the same seed on either database, but
    email goes to the loopback SMTP server, and secure messages and letters to a folder under tmp_path."""
    channels = {"email": SmtpChannel(smtp.settings(), clock=clock),
                **{name: FolderChannel(tmp_path / "mail", name, clock=clock) for name in ("secure_message", "letter")}}
    built = build(database_url, workflows_dir, clock=clock, hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=",
                  channels=channels)
    seed_practice(built.db)
    yield built
    built.db.dispose()


# ----- small helpers: one HTTP call each, with its expected status ---------------------------------------------


def call(api: Any, method: str, path: str, user: str, expect: int, **kwargs: Any) -> Any:
    response = api.client.request(method, path, headers=api.as_(user), **kwargs)
    assert response.status_code == expect, response.text
    return response.json() if response.content else None


def create_patient(api: Any, patient_id: str, given: str, birth_date: str, **fields: Any) -> None:
    body = {"id": patient_id, "site_id": "main", "given_name": given, "family_name": "Rivera",
            "birth_date": birth_date, "birth_sex": "F", "zip": "02139", "pcp_id": "dr-pcp", **fields}
    created = call(api, "POST", "/patients", "ana", 201, json=body)
    assert created["enrollments"] == []


def start(api: Any, workflow: str, **subject: str) -> str:
    started = call(api, "POST", "/enrollments", "ana", 201, json={"workflow_id": workflow, **subject})
    return str(started["enrollment_id"])


def fire(api: Any, eid: str, trigger: str, expect: int = 200, user: str = "ana", **body: Any) -> Any:
    return call(api, "POST", f"/enrollments/{eid}/triggers/{trigger}", user, expect, json=body)


def tick(api: Any, eid: str, trigger: str, step: str, value: Any = True, expect: int = 200) -> Any:
    return call(api, "POST", f"/enrollments/{eid}/steps/{step}", "ana", expect,
                json={"trigger": trigger, "value": value})


def status_of(api: Any, eid: str) -> str:
    return str(call(api, "GET", f"/enrollments/{eid}", "ana", 200)["status"])


def portal(api: Any, path: str, expect: int, **body: Any) -> Any:
    return call(api, "POST", path, "ehr", expect, json=body)


def background_round(flow: PortalFlow) -> str:
    """What the service's background job does every 30 s (engine.background.jobs): fire due timers, send due messages.
    Not an HTTP call, because in production nobody calls it: the service runs it on its own."""
    return one_round(flow.sweeper, flow.delivery)


def mail_text(envelope: Any) -> str:
    mail = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def mails_to(smtp: Server, address: str) -> list[str]:
    return [mail_text(e) for e in smtp.mailbox.received if e.rcpt_tos == [address]]


def messages_of(api: Any, eid: str) -> list[tuple[str, str, str]]:
    view = call(api, "GET", f"/enrollments/{eid}", "ana", 200)
    return [(m["message_id"], m["channel"], m["status"]) for m in view["messages"]]


def story(api: Any, eid: str) -> list[tuple[Any, ...]]:
    """The enrollment's history as the auditor reads it: action, outcome, who, trigger, from and to state."""
    page = call(api, "GET", "/audit/events", "audrey", 200, params={"enrollment_id": eid, "limit": 1000})
    return [(e["action"], e["outcome"], e["actor_id"], e["trigger"], e["from_state"], e["to_state"])
            for e in page["events"]]


def assert_history_intact_and_free_of(api: Any, eid: str, secrets: list[str]) -> None:
    verified = call(api, "GET", "/audit/verification", "audrey", 200)
    assert verified["ok"] is True, verified["first_problem"]
    response = api.client.get("/audit/export", params={"format": "jsonl"}, headers=api.as_("audrey"))
    assert response.status_code == 200
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert any(row["enrollment_id"] == eid for row in rows)
    for secret in secrets:
        assert secret not in response.text
        assert secret.replace("-", "") not in response.text


# ----- 1. NextGen: generate a PIN, let it expire, regenerate it with the guided steps, register -----------------


REGENERATE_STEPS = {"start_update": True, "choose_encounter_type": True, "regenerate": True,
                    "close_and_end_update": True, "route_to": "", "sign_document": True,
                    "decline_responsible_provider": "no"}


def test_an_expired_nextgen_pin_is_regenerated_with_the_right_provider_and_the_patient_registers_with_it(
        api: Any, flow: PortalFlow, clock: FakeClock) -> None:
    create_patient(api, "p-rosa", "Rosa", "1979-05-14")
    eid = start(api, REGENERATE, patient_id="p-rosa")
    assert status_of(api, eid) == "Not Enrolled"

    no_email = fire(api, eid, "generate_pin", expect=422)
    assert no_email["error"]["reasons"] == ["email address is missing"]
    updated = call(api, "PATCH", "/patients/p-rosa", "ana", 200, json={"email": "rosa@example.test"})
    assert updated["changed"] == ["email"]
    first = fire(api, eid, "generate_pin")
    assert first["status"] == "Pending Registration"
    [old_pin] = [s["value"] for s in first["shown"] if s["kind"] == "pin"]
    background_round(flow)
    assert messages_of(api, eid) == [("enrollment_notification", "secure_message", "sent")]

    clock.advance(timedelta(days=30))
    background_round(flow)
    assert status_of(api, eid) == "PIN Expired"
    too_late = portal(api, "/portal/registrations", 400, pin=old_pin, birth_date="1979-05-14")
    assert too_late["error"]["code"] == "credential_refused"

    for step, value in REGENERATE_STEPS.items():
        tick(api, eid, "regenerate_pin", step, value)
    wrong_provider = tick(api, eid, "regenerate_pin", "set_provider", "dr-other", expect=422)
    assert wrong_provider["error"]["reasons"] == ["provider must be the patient's PCP: Dr. Pat Primary"]
    step_missing = fire(api, eid, "regenerate_pin", expect=422)
    [not_done] = step_missing["error"]["reasons"]
    assert not_done.startswith("step 'set_provider' is not done: Change the provider to the patient's PCP")
    assert not_done.isprintable()  # staff read it: no control characters from the YAML's folded lines
    tick(api, eid, "regenerate_pin", "set_provider", "dr-pcp")
    regenerated = fire(api, eid, "regenerate_pin")
    assert (regenerated["from_state"], regenerated["status"]) == ("pin_expired", "Pending Registration")
    [new_pin] = regenerated["shown"]
    assert datetime.fromisoformat(new_pin["expires_at"]) == clock.now() + timedelta(days=30)
    background_round(flow)
    assert [m[2] for m in messages_of(api, eid)] == ["sent", "sent"]

    typo = portal(api, "/portal/registrations", 400, pin=new_pin["value"], birth_date="1979-05-15")
    assert typo["error"]["code"] == "credential_refused"
    registered = portal(api, "/portal/registrations", 200, pin=new_pin["value"], birth_date="1979-05-14")
    assert registered == {"outcome": "accepted", "status": "Registered"}
    assert call(api, "GET", "/patients/p-rosa", "ana", 200)["has_portal_account"] is True

    history = story(api, eid)
    assert [m for m in history if m[0] != "step_completed"] == [
        ("enrollment_started", "ok", "ana", None, None, "not_enrolled"),
        ("transition", "refused", "ana", "generate_pin", "not_enrolled", None),
        ("transition", "ok", "ana", "generate_pin", "not_enrolled", "pending_registration"),
        ("message_sent", "ok", "system", None, "pending_registration", None),
        ("transition", "ok", "system", "expire_pin", "pending_registration", "pin_expired"),
        ("credential_refused", "refused", "portal", None, "pin_expired", None),  # the caller only heard "refused"
        ("transition", "refused", "ana", "regenerate_pin", "pin_expired", None),
        ("transition", "ok", "ana", "regenerate_pin", "pin_expired", "pending_registration"),
        ("message_sent", "ok", "system", None, "pending_registration", None),
        ("transition", "ok", "portal", "register_with_pin", "pending_registration", "registered"),
    ]
    steps = [(m[1], m[3]) for m in history if m[0] == "step_completed"]
    assert steps.count(("ok", "regenerate_pin")) == 8
    assert steps.count(("refused", "regenerate_pin")) == 1  # the wrong provider, recorded without its value
    assert_history_intact_and_free_of(api, eid, [old_pin, new_pin["value"]])


# ----- 2. OP Easy Button: PINs for siblings on a printout, the parent registers one child, then adds the other --


EASY_BUTTON_STEPS = {"open_registration": "family_contacts", "create_validate_portal_account": True,
                     "select_children": ["c-mia", "c-leo"], "click_register": True, "print_pins": True}


def test_op_easy_button_pins_are_printed_for_the_chosen_siblings_and_the_parent_registers_both_on_one_account(
        api: Any, flow: PortalFlow, smtp: Server) -> None:
    create_patient(api, "c-mia", "Mia", "2017-03-03")
    create_patient(api, "c-leo", "Leo", "2019-07-07")
    create_patient(api, "c-zoe", "Zoe", "2023-01-01")
    call(api, "POST", "/households", "ana", 201, json={
        "id": "h-rivera", "site_id": "main", "guardian_given_name": "Ines", "guardian_family_name": "Rivera",
        "guardian_email": "ines@example.test", "members": ["c-mia", "c-leo", "c-zoe"]})
    eid = start(api, EASY_BUTTON, household_id="h-rivera")
    assert status_of(api, eid) == "Not Registered"

    unlinked = fire(api, eid, "register", user="bob", inputs=EASY_BUTTON_STEPS, expect=422)
    assert unlinked["error"]["reasons"] == ["your user is not linked to a staff record in the practice portal"]
    registered = fire(api, eid, "register", inputs=EASY_BUTTON_STEPS)
    assert registered["status"] == "Pending Registration"
    pins = {s["patient_id"]: s["value"] for s in registered["shown"]}
    assert set(pins) == {"c-mia", "c-leo"}  # Zoe was left out
    [printout] = registered["documents"]
    assert printout["message_id"] == "pin_printout"
    assert f"Mia Rivera: PIN {pins['c-mia']}" in printout["body"]
    assert f"Leo Rivera: PIN {pins['c-leo']}" in printout["body"]
    background_round(flow)
    assert mails_to(smtp, "ines@example.test") == []  # no welcome email on this path

    wrong_child = portal(api, "/portal/registrations", 400, pin=pins["c-mia"], birth_date="2019-07-07")
    assert wrong_child["error"]["code"] == "credential_refused"
    first = portal(api, "/portal/registrations", 200, pin=pins["c-mia"], birth_date="2017-03-03")
    assert first == {"outcome": "accepted", "status": "Partially Registered"}
    second = portal(api, "/portal/children", 200, pin=pins["c-leo"], birth_date="2019-07-07")
    assert second == {"outcome": "accepted", "status": "Registered"}
    assert call(api, "GET", "/households/h-rivera", "ana", 200)["has_portal_account"] is True
    assert call(api, "GET", "/patients/c-zoe", "ana", 200)["has_portal_account"] is False

    assert [m for m in story(api, eid) if m[0] != "step_completed"] == [
        ("enrollment_started", "ok", "ana", None, None, "not_registered"),
        ("transition", "refused", "bob", "register", "not_registered", None),
        ("transition", "ok", "ana", "register", "not_registered", "pending_registration"),
        ("transition", "ok", "portal", "register_with_pin", "pending_registration", "partially_registered"),
        ("transition", "ok", "portal", "add_another_child", "partially_registered", "registered"),
    ]
    assert_history_intact_and_free_of(api, eid, list(pins.values()))


# ----- 3. IntelliChart: the first child's PIN by welcome email, the sibling's printed, one guardian account -----


SIBLING_STEPS = {"select_children": ["c-omar", "c-nina"], "open_first_child": "appointment_list",
                 "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
                 "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True}


def test_intellichart_siblings_share_one_guardian_account_from_the_emailed_pin_and_the_printed_one(
        api: Any, flow: PortalFlow, smtp: Server) -> None:
    create_patient(api, "c-omar", "Omar", "2018-08-08", family_name="Santos")
    create_patient(api, "c-nina", "Baby Girl", "2025-12-20", family_name="Santos")
    call(api, "POST", "/households", "ana", 201, json={
        "id": "h-santos", "site_id": "main", "guardian_given_name": "Luz", "guardian_family_name": "Santos",
        "guardian_email": "luz@example.test", "guardian_email_confirmed_personal": True,
        "members": ["c-omar", "c-nina"]})
    eid = start(api, SIBLINGS, household_id="h-santos")
    assert status_of(api, eid) == "Not Registered"

    placeholder = fire(api, eid, "generate_sibling_pins", inputs=SIBLING_STEPS, expect=422)
    assert placeholder["error"]["reasons"] == ["name is still 'Baby Girl Santos': update Basic Info to the given "
                                               "name first"]
    renamed = call(api, "PATCH", "/patients/c-nina", "ana", 200, json={"first_name": "Nina"})
    assert renamed["patient"]["given_name"] == "Nina"
    generated = fire(api, eid, "generate_sibling_pins", inputs=SIBLING_STEPS)
    assert generated["status"] == "Pending Registration"
    shown = {s["patient_id"]: s for s in generated["shown"]}
    assert (shown["c-omar"]["do_not_send"], shown["c-nina"]["do_not_send"]) == (False, True)
    [printout] = generated["documents"]
    assert f"Nina Santos: PIN {shown['c-nina']['value']}" in printout["body"]
    assert shown["c-omar"]["value"] not in printout["body"]

    background_round(flow)
    [welcome] = mails_to(smtp, "luz@example.test")
    emailed = PIN_IN_MAIL.search(welcome)
    assert emailed is not None
    assert emailed.group(1) == shown["c-omar"]["value"]
    assert shown["c-nina"]["value"] not in welcome  # the sibling's PIN is printed, never emailed

    account = portal(api, "/portal/registrations", 200, pin=emailed.group(1), birth_date="2018-08-08")
    assert account == {"outcome": "accepted", "status": "Partially Registered"}
    same_pin_again = portal(api, "/portal/children", 400, pin=emailed.group(1), birth_date="2025-12-20")
    assert same_pin_again["error"]["code"] == "credential_refused"
    added = portal(api, "/portal/children", 200, pin=shown["c-nina"]["value"], birth_date="2025-12-20")
    assert added == {"outcome": "accepted", "status": "Registered"}
    assert call(api, "GET", "/households/h-santos", "ana", 200)["has_portal_account"] is True

    assert [m for m in story(api, eid) if m[0] != "step_completed"] == [
        ("enrollment_started", "ok", "ana", None, None, "not_registered"),
        ("transition", "refused", "ana", "generate_sibling_pins", "not_registered", None),
        ("transition", "ok", "ana", "generate_sibling_pins", "not_registered", "pending_registration"),
        ("message_sent", "ok", "system", None, "pending_registration", None),
        ("transition", "ok", "portal", "guardian_creates_account", "pending_registration", "partially_registered"),
        ("transition", "ok", "portal", "add_another_child", "partially_registered", "registered"),
    ]
    assert_history_intact_and_free_of(api, eid, [s["value"] for s in shown.values()])


# ----- 4. NextGen PxP: an EHR chart event invites in opening hours, re-sent after 7 days, until activation ------


WEEKDAYS_9_TO_5 = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
TUESDAY_OPENING = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York (EST)


def test_a_pxp_invite_from_a_chart_event_waits_for_opening_hours_is_re_sent_and_stops_at_activation(
        api: Any, flow: PortalFlow, smtp: Server, clock: FakeClock) -> None:
    call(api, "PUT", "/sites/main/calendar", "root", 200, json={
        "zone": "America/New_York", "go_live": "2026-01-05", "hours": WEEKDAYS_9_TO_5})
    create_patient(api, "p-tomas", "Tomas", "1990-10-10", email="tomas@example.test", zip=None)
    clock.advance(timedelta(hours=9))  # Monday 18:00 in New York: the clinic has closed

    chart = call(api, "POST", "/integration/events", "ehr", 200,
                 json={"key": "ehr-chart-tomas", "kind": "chart_added", "patient_id": "p-tomas"})
    assert chart["outcome"] == "refused"
    assert "required demographics are missing: zip code" in chart["detail"]
    [eid] = chart["enrollment_ids"]
    started = call(api, "GET", f"/enrollments/{eid}", "ana", 200)
    assert (started["workflow_id"], started["status"]) == (PXP, "Not Invited")

    fixed = call(api, "PATCH", "/patients/p-tomas", "ana", 200, json={"zip": "02139"})
    assert fixed["changed"] == ["zip"]
    assert fixed["event"].startswith("acted: ")
    assert status_of(api, eid) == "Invited"
    [queued] = call(api, "GET", f"/enrollments/{eid}", "ana", 200)["messages"]
    assert (queued["status"], datetime.fromisoformat(queued["not_before"])) == ("queued", TUESDAY_OPENING)
    background_round(flow)
    assert mails_to(smtp, "tomas@example.test") == []  # held until the clinic opens

    clock.set(TUESDAY_OPENING)
    background_round(flow)
    [invite] = mails_to(smtp, "tomas@example.test")
    assert LINK.search(invite) is not None

    clock.advance(timedelta(days=7))
    background_round(flow)
    assert status_of(api, eid) == "Invited"
    first, again = mails_to(smtp, "tomas@example.test")
    assert LINK.findall(first) != LINK.findall(again)

    activated = call(api, "POST", "/portal/activations", "ehr", 202, json={"patient_id": "p-tomas"})
    assert activated == {"outcome": "received", "status": None}
    assert status_of(api, eid) == "Activated"
    clock.advance(timedelta(days=7))
    background_round(flow)
    assert len(mails_to(smtp, "tomas@example.test")) == 2  # no more invites after activation

    assert story(api, eid) == [
        ("enrollment_started", "ok", "ehr", None, None, "not_invited"),
        ("transition", "refused", "ehr", "chart_added", "not_invited", None),
        ("transition", "ok", "ana", "demographics_changed", "not_invited", "invited"),
        ("message_sent", "ok", "system", None, "invited", None),
        ("transition", "ok", "system", "resend_invite", "invited", "invited"),
        ("message_sent", "ok", "system", None, "invited", None),
        ("transition", "ok", "ehr", "account_activated", "invited", "activated"),
    ]
    assert_history_intact_and_free_of(api, eid, [t for mail in (first, again) for t in LINK.findall(mail)])


# ----- 5. Invitation/reset: enable access, send the email, the link expires, a new one is used -------------------


SEND_STEPS = {"send_from": "chart_edit_information", "confirm_email_personal": True}


def test_an_invitation_link_read_from_the_delivered_email_sets_up_the_account_after_an_expired_first_one(
        api: Any, flow: PortalFlow, smtp: Server, clock: FakeClock) -> None:
    create_patient(api, "p-ada", "Ada", "1985-11-30", email="ada@example.test")
    eid = start(api, ONBOARDING, patient_id="p-ada")
    assert status_of(api, eid) == "Access Not Enabled"
    enabled = fire(api, eid, "enable_portal_access", inputs={"enable_access": "chart_edit_information"})
    assert enabled["status"] == "Access Enabled"
    assert call(api, "GET", "/patients/p-ada", "ana", 200)["portal_access_enabled"] is True

    unconfirmed = fire(api, eid, "send_invitation", inputs=SEND_STEPS, expect=422)
    assert unconfirmed["error"]["reasons"] == ["email address has not been confirmed as correct and personal to "
                                               "the patient"]
    call(api, "PATCH", "/patients/p-ada", "ana", 200, json={"email_confirmed_personal": True})
    assert fire(api, eid, "send_invitation", inputs=SEND_STEPS)["status"] == "Invitation Sent"
    background_round(flow)
    [first_mail] = mails_to(smtp, "ada@example.test")
    first_link = LINK.search(first_mail)
    assert first_link is not None

    clock.advance(timedelta(hours=24))
    background_round(flow)
    assert status_of(api, eid) == "Access Enabled"
    expired = portal(api, "/portal/links", 400, token=first_link.group(1))
    assert expired["error"]["code"] == "credential_refused"
    unknown = portal(api, "/portal/links", 400, token="pf_link_that_never_was")
    assert unknown["error"] == expired["error"]  # the same answer: the caller cannot tell expired from unknown

    assert fire(api, eid, "send_invitation", inputs=SEND_STEPS)["status"] == "Invitation Sent"
    background_round(flow)
    _, second_mail = mails_to(smtp, "ada@example.test")
    second_link = LINK.search(second_mail)
    assert second_link is not None
    used = portal(api, "/portal/links", 200, token=second_link.group(1))
    assert used == {"outcome": "accepted", "status": "Account Set Up"}
    replayed = portal(api, "/portal/links", 400, token=second_link.group(1))
    assert replayed["error"]["code"] == "credential_refused"

    assert story(api, eid) == [
        ("enrollment_started", "ok", "ana", None, None, "access_disabled"),
        ("transition", "ok", "ana", "enable_portal_access", "access_disabled", "access_enabled"),
        ("transition", "refused", "ana", "send_invitation", "access_enabled", None),
        ("transition", "ok", "ana", "send_invitation", "access_enabled", "invited"),
        ("message_sent", "ok", "system", None, "invited", None),
        ("transition", "ok", "system", "link_expired", "invited", "access_enabled"),
        ("credential_refused", "refused", "portal", None, "access_enabled", None),  # the expired link: why, here
        ("transition", "ok", "ana", "send_invitation", "access_enabled", "invited"),
        ("message_sent", "ok", "system", None, "invited", None),
        ("transition", "ok", "portal", "link_used", "invited", "account_set_up"),
        ("credential_refused", "refused", "portal", None, "account_set_up", None),  # the replayed one
    ]
    assert_history_intact_and_free_of(api, eid, [first_link.group(1), second_link.group(1)])
