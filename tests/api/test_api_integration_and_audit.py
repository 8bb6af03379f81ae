"""EHR events and portal callbacks over HTTP (integration credential), and the auditor's find, export, verify."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from sqlalchemy import text

PIN = "nextgen-regenerate-expired-pin"


def _pin_for(api: Any, patient: str) -> tuple[str, str]:
    started = api.client.post("/enrollments", headers=api.as_("ana"),
                              json={"workflow_id": PIN, "patient_id": patient}).json()
    fired = api.client.post(f"/enrollments/{started['enrollment_id']}/triggers/generate_pin",
                            headers=api.as_("ana"), json={}).json()
    return started["enrollment_id"], fired["shown"][0]["value"]


def test_an_ehr_event_is_acted_on_once_per_idempotency_key(api: Any) -> None:
    body = {"kind": "chart_added", "patient_id": "p-jane"}
    first = api.client.post("/integration/events", headers={**api.as_("ehr"), "Idempotency-Key": "ehr-1"}, json=body)
    assert first.status_code == 200, first.text
    assert (first.json()["outcome"], first.json()["repeated"]) == ("acted", False)
    again = api.client.post("/integration/events", headers=api.as_("ehr"), json={**body, "key": "ehr-1"})
    assert again.json()["repeated"] is True
    assert again.json()["enrollment_ids"] == first.json()["enrollment_ids"]
    no_key = api.client.post("/integration/events", headers=api.as_("ehr"), json=body)
    assert no_key.status_code == 422
    assert no_key.json()["error"]["field"] == "body.key"
    kind = api.client.post("/integration/events", headers=api.as_("ehr"), json={**body, "key": "k2", "kind": "x"})
    assert kind.status_code == 422
    assert kind.json()["error"]["field"] == "body.kind"


def test_staff_cannot_post_events_and_the_integration_cannot_do_staff_work(api: Any) -> None:
    assert api.client.post("/integration/events", headers=api.as_("ana"),
                           json={"key": "a", "kind": "chart_added", "patient_id": "p-jane"}).status_code == 403
    assert api.client.get("/patients/p-jane", headers=api.as_("ehr")).status_code == 403


def test_portal_registration_with_the_pin_registers_and_wrong_answers_reveal_nothing(api: Any) -> None:
    _, pin = _pin_for(api, "p-jane")
    wrong_pin = api.client.post("/portal/registrations", headers=api.as_("ehr"),
                                json={"pin": "2222-2222", "birth_date": "1980-04-01"})
    nobody = api.client.post("/portal/registrations", headers=api.as_("ehr"),
                             json={"pin": pin, "birth_date": "1901-01-01"})
    assert wrong_pin.status_code == nobody.status_code == 400
    assert wrong_pin.json() == nobody.json()
    done = api.client.post("/portal/registrations", headers=api.as_("ehr"),
                           json={"pin": pin.lower(), "birth_date": "1980-04-01"})
    assert done.status_code == 200
    assert done.json() == {"outcome": "accepted", "status": "Registered"}
    used = api.client.post("/portal/registrations", headers=api.as_("ehr"), json={"pin": pin,
                                                                                 "birth_date": "1980-04-01"})
    assert used.status_code == 400
    assert used.json() == wrong_pin.json()


def test_an_expired_pin_is_refused_saying_it_expired(api: Any, clock: Any) -> None:
    from datetime import timedelta

    _, pin = _pin_for(api, "p-jane")
    clock.advance(timedelta(days=30, seconds=1))
    expired = api.client.post("/portal/registrations", headers=api.as_("ehr"),
                              json={"pin": pin, "birth_date": "1980-04-01"})
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == "credential_refused"


def test_an_activation_report_is_acknowledged_alike_for_known_and_unknown_patients(api: Any) -> None:
    event = api.client.post("/integration/events", headers=api.as_("ehr"),
                            json={"key": "e1", "kind": "chart_added", "patient_id": "p-jane"}).json()
    known = api.client.post("/portal/activations", headers=api.as_("ehr"), json={"patient_id": "p-jane"})
    unknown = api.client.post("/portal/activations", headers=api.as_("ehr"), json={"patient_id": "nobody"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    [eid] = event["enrollment_ids"]
    assert api.client.get(f"/enrollments/{eid}", headers=api.as_("ana")).json()["status"] == "Activated"


def test_an_auditor_finds_a_history_by_enrollment_patient_user_and_action(api: Any) -> None:
    eid, _ = _pin_for(api, "p-jane")
    by_enrollment = api.client.get("/audit/events", params={"enrollment_id": eid}, headers=api.as_("audrey"))
    assert by_enrollment.status_code == 200
    actions = [(e["action"], e["to_state"]) for e in by_enrollment.json()["events"]]
    assert actions == [("enrollment_started", "not_enrolled"), ("transition", "pending_registration")]
    by_user = api.client.get("/audit/events", params={"actor_id": "ana", "action": "transition"},
                             headers=api.as_("audrey")).json()["events"]
    assert [e["trigger"] for e in by_user] == ["generate_pin"]
    paged = api.client.get("/audit/events", params={"patient_id": "p-jane", "limit": 1}, headers=api.as_("audrey"))
    assert len(paged.json()["events"]) == 1
    assert paged.json()["next_after_id"] == paged.json()["events"][0]["id"]
    bad = api.client.get("/audit/events", params={"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"},
                         headers=api.as_("audrey"))
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "since"
    assert api.client.get("/audit/events", headers=api.as_("ana")).status_code == 403


def test_exports_stream_every_format_without_the_pin(api: Any) -> None:
    eid, pin = _pin_for(api, "p-jane")
    params = {"enrollment_id": eid}
    as_csv = api.client.get("/audit/export", params={**params, "format": "csv"}, headers=api.as_("audrey"))
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["action"] for r in rows] == ["enrollment_started", "transition"]
    lines = api.client.get("/audit/export", params={**params, "format": "jsonl"}, headers=api.as_("audrey")).text
    assert [json.loads(line)["seq"] for line in lines.splitlines()] == [1, 2]
    fhir = api.client.get("/audit/export", params={**params, "format": "fhir"}, headers=api.as_("audrey"))
    assert fhir.headers["content-type"].startswith("application/fhir+ndjson")
    events = [json.loads(line) for line in fhir.text.splitlines()]
    assert {e["resourceType"] for e in events} == {"AuditEvent"}
    assert len(events) == 2
    for body in (as_csv.text, lines, fhir.text):
        assert pin not in body
        assert pin.replace("-", "") not in body
    wrong = api.client.get("/audit/export", params={"format": "pdf"}, headers=api.as_("audrey"))
    assert wrong.status_code == 422
    assert wrong.json()["error"]["field"] == "query.format"


def test_verification_names_an_altered_row(api: Any, flow: Any) -> None:
    eid, _ = _pin_for(api, "p-jane")
    ok = api.client.get("/audit/verification", headers=api.as_("audrey")).json()
    assert ok["ok"] is True
    assert ok["events_checked"] >= 2
    if flow.db.dialect.name == "sqlite":  # on PostgreSQL the application cannot alter the trail at all
        with flow.db.begin() as conn:
            conn.execute(text("UPDATE audit_events SET reason = 'edited' WHERE enrollment_id = :e AND seq = 2"),
                         {"e": eid})
        broken = api.client.get("/audit/verification", headers=api.as_("audrey")).json()
        assert broken["ok"] is False
        assert eid in broken["first_problem"]


def test_worklists_show_what_needs_doing(api: Any, clock: Any) -> None:
    from datetime import timedelta

    _pin_for(api, "p-jane")
    clock.advance(timedelta(days=25))
    expiring = api.client.get("/worklists/pins-expiring", params={"within_days": 7}, headers=api.as_("ana")).json()
    assert [(p["patient_id"], p["days_left"]) for p in expiring] == [("p-jane", 5)]
    assert api.client.get("/worklists/pins-expiring", params={"within_days": 3},
                          headers=api.as_("ana")).json() == []
    for path in ("/worklists/invites-waiting", "/worklists/households-part-registered",
                 "/worklists/messages-failed"):
        response = api.client.get(path, headers=api.as_("ana"))
        assert response.status_code == 200, path
        assert response.json() == [], path
    assert date.fromisoformat(expiring[0]["expires_at"][:10]) > date(2026, 3, 2)


def test_a_first_login_and_a_login_screen_request_are_answered_alike_for_anyone(api: Any) -> None:
    started = api.client.post("/enrollments", headers=api.as_("ana"), json={
        "workflow_id": "portal-invitation-reset-onboarding", "patient_id": "p-jane"}).json()
    eid = started["enrollment_id"]
    api.client.post(f"/enrollments/{eid}/triggers/enable_portal_access", headers=api.as_("ana"),
                    json={"inputs": {"enable_access": "onboarding_tool"}})
    asks = [api.client.post("/portal/self-service", headers=api.as_("ehr"), json=body) for body in (
        {"email": "jane@example.test", "birth_date": "1980-04-01"},  # the chart meets the conditions
        {"email": "nobody@example.test", "birth_date": "1980-04-01"},  # no such patient
        {"email": "jane@example.test", "birth_date": "1999-09-09"})]  # the wrong birth date
    assert {a.status_code for a in asks} == {202}
    assert {json.dumps(a.json()) for a in asks} == {'{"outcome": "received", "status": null}'}
    assert api.client.get(f"/enrollments/{eid}", headers=api.as_("ana")).json()["status"] == "Invitation Sent"
    logins = [api.client.post("/portal/first-logins", headers=api.as_("ehr"), json={"username": name})
              for name in ("jane.doe", "nobody")]
    assert [a.status_code for a in logins] == [202, 202]
    assert logins[0].json() == logins[1].json()
    assert api.client.post("/portal/self-service", headers=api.as_("ana"),
                           json={"email": "jane@example.test", "birth_date": "1980-04-01"}).status_code == 403
