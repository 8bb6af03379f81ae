"""Enrollments over HTTP: start, read what can be done and what blocks it, complete steps, fire triggers with a
version; conflicts are 409 with the current state, refusals 422 with every reason."""

from __future__ import annotations

from typing import Any

PIN = "nextgen-regenerate-expired-pin"
ONBOARDING = "portal-invitation-reset-onboarding"


def _start(api: Any, workflow: str, patient: str, user: str = "ana") -> dict[str, Any]:
    response = api.client.post("/enrollments", headers=api.as_(user), json={"workflow_id": workflow,
                                                                           "patient_id": patient})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_started_enrollment_reads_back_with_its_next_actions_and_an_etag(api: Any) -> None:
    started = _start(api, PIN, "p-jane")
    assert started["status"] == "Not Enrolled"
    assert started["version"] == 1
    read = api.client.get(f"/enrollments/{started['enrollment_id']}", headers=api.as_("ana"))
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    triggers = {t["trigger"]: t for t in read.json()["triggers"]}
    assert triggers["generate_pin"]["available"] is True
    assert triggers["generate_pin"]["blocked"] == []


def test_a_blocked_action_says_why_before_staff_try(api: Any) -> None:
    started = _start(api, PIN, "p-noemail")
    view = api.client.get(f"/enrollments/{started['enrollment_id']}", headers=api.as_("ana")).json()
    generate = next(t for t in view["triggers"] if t["trigger"] == "generate_pin")
    assert generate["available"] is False
    assert any("email" in reason for reason in generate["blocked"])


def test_firing_shows_the_pin_once_and_never_again(api: Any) -> None:
    started = _start(api, PIN, "p-jane")
    fired = api.client.post(f"/enrollments/{started['enrollment_id']}/triggers/generate_pin",
                            headers={**api.as_("ana"), "If-Match": '"1"'}, json={})
    assert fired.status_code == 200, fired.text
    body = fired.json()
    assert body["status"] == "Pending Registration"
    assert body["version"] == 2
    assert fired.headers["ETag"] == '"2"'
    assert fired.headers["Cache-Control"] == "no-store"
    [shown] = body["shown"]
    assert shown["kind"] == "pin"
    assert len(shown["value"].replace("-", "")) == 8
    read = api.client.get(f"/enrollments/{started['enrollment_id']}", headers=api.as_("ana"))
    assert shown["value"] not in read.text
    assert shown["value"].replace("-", "") not in read.text
    timers = read.json()["timers"]
    assert [t["trigger"] for t in timers] == ["expire_pin"]
    assert "30 days" in timers[0]["explanation"]


def test_acting_on_an_old_version_is_409_with_the_enrollment_as_it_is_now(api: Any) -> None:
    started = _start(api, PIN, "p-jane")
    url = f"/enrollments/{started['enrollment_id']}/triggers/generate_pin"
    assert api.client.post(url, headers=api.as_("ana"), json={"version": 1}).status_code == 200
    stale = api.client.post(url, headers={**api.as_("bob"), "If-Match": 'W/"1"'}, json={})
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "conflict"
    assert error["current"] == {"enrollment_id": started["enrollment_id"], "state": "pending_registration",
                                "status": "Pending Registration", "version": 2}


def test_a_version_in_the_header_and_a_different_one_in_the_body_is_refused(api: Any) -> None:
    started = _start(api, PIN, "p-jane")
    url = f"/enrollments/{started['enrollment_id']}/triggers/generate_pin"
    both = api.client.post(url, headers={**api.as_("ana"), "If-Match": '"1"'}, json={"version": 2})
    assert both.status_code == 422
    assert both.json()["error"]["field"] == "body.version"
    bad = api.client.post(url, headers={**api.as_("ana"), "If-Match": "yesterday"}, json={})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "header.If-Match"


def test_a_refusal_lists_every_failed_guard_and_changes_nothing(api: Any) -> None:
    started = _start(api, ONBOARDING, "p-jane")
    eid = started["enrollment_id"]
    assert api.client.post(f"/enrollments/{eid}/triggers/enable_portal_access", headers=api.as_("ana"),
                           json={"inputs": {"enable_access": "onboarding_tool"}}).status_code == 200
    api.client.patch("/patients/p-jane", headers=api.as_("ana"), json={"email_confirmed_personal": False})
    api.client.patch("/patients/p-jane", headers=api.as_("ana"), json={"email": None})
    refused = api.client.post(f"/enrollments/{eid}/triggers/send_invitation", headers=api.as_("ana"), json={
        "inputs": {"send_from": "chart_edit_information", "confirm_email_personal": True}})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "refused"
    assert len(error["reasons"]) == 2
    assert api.client.get(f"/enrollments/{eid}", headers=api.as_("ana")).json()["version"] == 2


def test_steps_are_ticked_ahead_and_the_checklist_remembers_them(api: Any) -> None:
    started = _start(api, ONBOARDING, "p-jane")
    eid = started["enrollment_id"]
    ticked = api.client.post(f"/enrollments/{eid}/steps/enable_access", headers=api.as_("ana"),
                             json={"trigger": "enable_portal_access", "value": "chart_edit_information"})
    assert ticked.status_code == 200
    assert ticked.json()["version"] == 1
    view = api.client.get(f"/enrollments/{eid}", headers=api.as_("ana")).json()
    [step] = next(t for t in view["triggers"] if t["trigger"] == "enable_portal_access")["steps"]
    assert (step["done"], step["value"]) == (True, "chart_edit_information")
    wrong = api.client.post(f"/enrollments/{eid}/steps/enable_access", headers=api.as_("ana"),
                            json={"trigger": "enable_portal_access", "value": "fax"})
    assert wrong.status_code == 422
    assert "must be one of" in wrong.json()["error"]["reasons"][0]
    fired = api.client.post(f"/enrollments/{eid}/triggers/enable_portal_access", headers=api.as_("ana"), json={})
    assert fired.status_code == 200
    assert fired.json()["status"] == "Access Enabled"


def test_an_action_not_available_now_or_unknown_enrollment_is_answered_plainly(api: Any) -> None:
    started = _start(api, PIN, "p-jane")
    early = api.client.post(f"/enrollments/{started['enrollment_id']}/triggers/regenerate_pin",
                            headers=api.as_("ana"), json={})
    assert early.status_code == 422
    assert early.json()["error"]["code"] == "not_allowed"
    assert "generate_pin" in early.json()["error"]["message"]
    missing = api.client.post("/enrollments/nope/triggers/generate_pin", headers=api.as_("ana"), json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    twice = api.client.post("/enrollments", headers=api.as_("ana"), json={"workflow_id": PIN, "patient_id": "p-jane"})
    assert twice.status_code == 422
    assert "already running" in twice.json()["error"]["reasons"][0]


def test_enrollments_are_listed_for_a_patient_including_their_households(api: Any) -> None:
    _start(api, PIN, "c-ava")
    household = api.client.post("/enrollments", headers=api.as_("ana"), json={
        "workflow_id": "intellichart-pins-for-siblings", "household_id": "h-lee"})
    assert household.status_code == 201, household.text
    listed = api.client.get("/enrollments", params={"patient_id": "c-ava"}, headers=api.as_("audrey")).json()
    assert {e["workflow_id"] for e in listed} == {PIN, "intellichart-pins-for-siblings"}


def test_bulk_onboarding_reports_per_patient_what_happened_and_why(api: Any) -> None:
    done = api.client.post("/onboarding", headers=api.as_("ana"), json={
        "workflow_id": ONBOARDING, "trigger": "enable_portal_access", "patient_ids": ["p-jane", "p-noemail", "ghost"],
        "inputs": {"enable_access": "onboarding_tool"}})
    assert done.status_code == 200, done.text
    results = {r["patient_id"]: r for r in done.json()["results"]}
    assert results["p-jane"]["outcome"] == results["p-noemail"]["outcome"] == "acted"
    assert results["ghost"]["outcome"] == "not_found"
    assert results["ghost"]["reasons"] == ["no patient 'ghost'"]
    invite = api.client.post("/onboarding", headers=api.as_("ana"), json={
        "workflow_id": ONBOARDING, "trigger": "send_invitation", "patient_ids": ["p-jane", "p-noemail"],
        "inputs": {"send_from": "onboarding_tool", "confirm_email_personal": True}}).json()
    outcome = {r["patient_id"]: (r["outcome"], r["status"]) for r in invite["results"]}
    assert outcome == {"p-jane": ("acted", "Invitation Sent"), "p-noemail": ("refused", "Access Enabled")}
    assert invite["acted"] == 1
    assert invite["refused"] == 1
    assert any("email" in r for r in next(x for x in invite["results"] if x["patient_id"] == "p-noemail")["reasons"])
    unknown = api.client.post("/onboarding", headers=api.as_("ana"), json={
        "workflow_id": ONBOARDING, "trigger": "fly", "patient_ids": ["p-jane"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "trigger"


def test_a_refused_step_value_is_in_the_history_without_the_value(api: Any) -> None:
    started = _start(api, ONBOARDING, "p-jane")
    eid = started["enrollment_id"]
    wrong = api.client.post(f"/enrollments/{eid}/steps/enable_access", headers=api.as_("bob"),
                            json={"trigger": "enable_portal_access", "value": "fax-machine"})
    assert wrong.status_code == 422
    events = api.client.get("/audit/events", params={"enrollment_id": eid, "outcome": "refused"},
                            headers=api.as_("audrey")).json()["events"]
    assert [(e["action"], e["actor_id"], e["trigger"]) for e in events] == [
        ("step_completed", "bob", "enable_portal_access")]
    assert "step 'enable_access'" in events[0]["detail"]
    assert events[0]["inputs"] is None
