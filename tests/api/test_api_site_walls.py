"""Sites are walls, endpoint by endpoint: bob works at the main site only, ana (no sites set) at every one.

A second site, "north", has a patient, a household and enrollments of its own. Beyond bob's walls each of them is
404 (never 403: he must not learn it exists), for reads and for actions alike; lists, searches, worklists and the
audit trail show him only the main site; an admin sets the sites, audited. Integrations are bound to no site.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text, update

from api.cli import main
from api.cli.users import CLI_ACTOR
from api.web.session import COOKIE, csrf_of
from engine.people.identity import SESSION_LABEL
from engine.people.patients import NewHousehold, NewPatient
from engine.people.practice import SiteRecord
from engine.storage.tables import patients, portal_accounts

PIN = "nextgen-regenerate-expired-pin"
EASY = "op-generate-pin-easy-button"
ONBOARDING = "portal-invitation-reset-onboarding"


def _north(flow: Any) -> None:
    flow.practice.create_site(CLI_ACTOR, SiteRecord("north", "North Clinic", "America/New_York",
                                                     "https://portal.example.test", "(617) 555-0111",
                                                     go_live_on=date(2026, 1, 5)))
    person = {"birth_sex": "F", "zip": "02139", "pcp_id": "dr-pcp", "site_id": "north"}
    flow.people.create_patient(CLI_ACTOR, NewPatient("p-north", given_name="Nell", family_name="Doe",
                                                     birth_date=date(1981, 5, 5), email="nell@example.test",
                                                     email_confirmed_personal=True, **person))
    for child in ("c-nia", "c-noa"):
        flow.people.create_patient(CLI_ACTOR, NewPatient(child, given_name=child[2:].title(), family_name="Lee",
                                                         birth_date=date(2019, 3, 3), **person))
    flow.people.create_household(CLI_ACTOR, NewHousehold("h-north", "north", "Nan", "Lee", "nan@example.test"),
                                 ["c-nia", "c-noa"])


def _call(api: Any, method: str, path: str, user: str, **kwargs: Any) -> Any:
    return api.client.request(method, path, headers=api.as_(user), **kwargs)


def _start(api: Any, workflow: str, user: str = "ana", **subject: str) -> str:
    started = _call(api, "POST", "/enrollments", user, json={"workflow_id": workflow, **subject})
    assert started.status_code == 201, started.text
    return str(started.json()["enrollment_id"])


@pytest.fixture
def walled(api: Any, flow: Any, clock: Any) -> dict[str, str]:
    """Both sites busy (a PIN out, an invitation waiting, a household part-registered, a failed message at each);
    bob kept to the main site by an admin. The enrollments' ids, by name."""
    _north(flow)
    ids: dict[str, str] = {}
    for where, patient, household, first_child in (("main", "p-jane", "h-lee", "c-ava"),
                                                   ("north", "p-north", "h-north", "c-nia")):
        ids[f"pin-{where}"] = _start(api, PIN, patient_id=patient)
        assert _call(api, "POST", f"/enrollments/{ids[f'pin-{where}']}/triggers/generate_pin", "ana",
                     json={}).status_code == 200
        ids[f"household-{where}"] = _start(api, EASY, household_id=household)
        with flow.db.begin() as conn:  # one child already has an account: the household is part-registered
            conn.execute(insert(portal_accounts).values(id=f"acct-{first_child}", must_change_password=False,
                                                         created_at=clock.now()))
            conn.execute(update(patients).where(patients.c.id == first_child).values(
                portal_account_id=f"acct-{first_child}"))
    onboarded = _call(api, "POST", "/onboarding", "ana", json={
        "workflow_id": ONBOARDING, "trigger": "enable_portal_access", "patient_ids": ["p-jane", "p-north"],
        "inputs": {"enable_access": "onboarding_tool"}}).json()
    assert onboarded["acted"] == 2, onboarded
    invited = _call(api, "POST", "/onboarding", "ana", json={
        "workflow_id": ONBOARDING, "trigger": "send_invitation", "patient_ids": ["p-jane", "p-north"],
        "inputs": {"send_from": "onboarding_tool", "confirm_email_personal": True}}).json()
    assert invited["acted"] == 2, invited
    with flow.db.begin() as conn:  # the PIN letters' emails bounced
        conn.execute(text("UPDATE outbox SET status = 'failed', detail = 'bounced' WHERE enrollment_id IN (:a, :b)"),
                     {"a": ids["pin-main"], "b": ids["pin-north"]})
    set_sites = _call(api, "PUT", "/users/bob/sites", "root", json={"sites": ["main"]})
    assert set_sites.status_code == 200, set_sites.text
    assert set_sites.json()["sites"] == ["main"]
    return ids


def test_an_admin_sets_the_sites_a_user_works_at_and_it_is_audited(api: Any, walled: dict[str, str]) -> None:
    users = {u["id"]: u for u in _call(api, "GET", "/users", "root").json()}
    assert users["bob"]["sites"] == ["main"]
    assert users["ana"]["sites"] is None
    assert _call(api, "GET", "/me", "bob").json()["sites"] == ["main"]
    assert _call(api, "PUT", "/users/bob/sites", "root", json={"sites": ["nowhere"]}).status_code == 422
    assert _call(api, "PUT", "/users/ehr/sites", "root", json={"sites": ["main"]}).status_code == 422
    assert _call(api, "PUT", "/users/bob/sites", "bob", json={"sites": None}).status_code == 403
    history = _call(api, "GET", "/audit/events", "audrey", params={"action": "sites_changed"}).json()["events"]
    assert [(e["subject_id"], e["actor_id"], e["detail"]) for e in history] == [
        ("bob", "root", "sites every site -> main")]


def test_a_patient_beyond_the_walls_is_not_found_to_read_or_to_correct(api: Any, walled: dict[str, str]) -> None:
    assert _call(api, "GET", "/patients/p-jane", "bob").status_code == 200
    hidden = _call(api, "GET", "/patients/p-north", "bob")
    unknown = _call(api, "GET", "/patients/p-nobody", "bob")
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    assert hidden.json()["error"]["message"] == unknown.json()["error"]["message"].replace("p-nobody", "p-north")
    assert _call(api, "GET", "/patients/p-north", "ana").status_code == 200
    assert _call(api, "PATCH", "/patients/p-north", "bob", json={"cell_phone": "6175550199"}).status_code == 404
    assert _call(api, "GET", "/patients/p-north", "ana").json()["cell_phone"] is None


def test_patients_are_created_only_at_the_users_sites(api: Any, walled: dict[str, str]) -> None:
    body = {"id": "p-new", "given_name": "Neil", "family_name": "New", "birth_date": "1990-01-01"}
    assert _call(api, "POST", "/patients", "bob", json={**body, "site_id": "north"}).status_code == 404
    assert _call(api, "POST", "/patients", "bob", json={**body, "site_id": "main"}).status_code == 201


def test_a_search_and_a_list_of_patients_show_only_the_users_sites(api: Any, walled: dict[str, str]) -> None:
    def found(user: str, **params: str) -> set[str]:
        return {p["id"] for p in _call(api, "GET", "/patients", user, params=params).json()}

    assert found("bob", family_name="Doe") == {"p-jane"}
    assert found("ana", family_name="Doe") == {"p-jane", "p-north"}
    assert found("bob", site_id="north") == set()
    assert "c-nia" not in found("bob")
    assert "c-nia" in found("ana")


def test_a_household_beyond_the_walls_is_not_found_to_read_correct_create_or_join(
        api: Any, walled: dict[str, str]) -> None:
    assert _call(api, "GET", "/households/h-north", "bob").status_code == 404
    assert _call(api, "GET", "/households/h-lee", "bob").status_code == 200
    assert {h["id"] for h in _call(api, "GET", "/households", "bob").json()} == {"h-lee"}
    assert {h["id"] for h in _call(api, "GET", "/households", "ana").json()} == {"h-lee", "h-north"}
    assert _call(api, "PATCH", "/households/h-north", "bob",
                 json={"guardian_email_confirmed_personal": False}).status_code == 404
    assert _call(api, "POST", "/households/h-north/members", "bob", json={"patient_id": "p-jane"}).status_code == 404
    assert _call(api, "POST", "/households/h-lee/members", "bob", json={"patient_id": "p-north"}).status_code == 404
    new = {"id": "h-new", "guardian_given_name": "Ned", "guardian_family_name": "New"}
    assert _call(api, "POST", "/households", "bob", json={**new, "site_id": "north", "members": []}
                 ).status_code == 404
    assert _call(api, "POST", "/households", "bob", json={**new, "site_id": "main", "members": ["p-north"]}
                 ).status_code == 404


def test_an_enrollment_beyond_the_walls_is_not_found_to_read_start_or_act_on(
        api: Any, walled: dict[str, str]) -> None:
    north, main = walled["pin-north"], walled["pin-main"]
    assert _call(api, "GET", f"/enrollments/{main}", "bob").status_code == 200
    assert _call(api, "GET", f"/enrollments/{north}", "bob").status_code == 404
    assert _call(api, "POST", f"/enrollments/{north}/triggers/regenerate_pin", "bob", json={}).status_code == 404
    assert _call(api, "POST", f"/enrollments/{north}/steps/confirm_email", "bob",
                 json={"trigger": "regenerate_pin", "value": True}).status_code == 404
    assert _call(api, "POST", "/enrollments", "bob", json={"workflow_id": PIN, "patient_id": "p-north"}
                 ).status_code == 404
    assert _call(api, "POST", "/enrollments", "bob", json={"workflow_id": EASY, "household_id": "h-north"}
                 ).status_code == 404
    listed = {e["id"] for e in _call(api, "GET", "/enrollments", "bob", params={"limit": 500}).json()}
    assert main in listed
    assert walled["household-main"] in listed
    assert north not in listed
    assert walled["household-north"] not in listed
    assert _call(api, "GET", "/enrollments", "bob", params={"patient_id": "p-north"}).json() == []
    assert north in {e["id"] for e in _call(api, "GET", "/enrollments", "ana", params={"limit": 500}).json()}


@pytest.mark.parametrize("worklist", ["pins-expiring", "invites-waiting", "households-part-registered",
                                      "messages-failed"])
def test_each_worklist_shows_only_the_users_sites(api: Any, walled: dict[str, str], clock: Any,
                                                  worklist: str) -> None:
    clock.advance(timedelta(days=25))
    everyone = _call(api, "GET", f"/worklists/{worklist}", "ana").json()
    bobs = _call(api, "GET", f"/worklists/{worklist}", "bob").json()
    assert {row["site_id"] for row in everyone} == {"main", "north"}
    assert {row["site_id"] for row in bobs} == {"main"}
    assert _call(api, "GET", f"/worklists/{worklist}", "bob", params={"site_id": "north"}).json() == []


def test_bulk_onboarding_answers_not_found_for_a_patient_beyond_the_walls(api: Any, walled: dict[str, str]) -> None:
    done = _call(api, "POST", "/onboarding", "bob", json={
        "workflow_id": ONBOARDING, "trigger": "enable_portal_access", "patient_ids": ["p-north", "p-nobody"],
        "inputs": {"enable_access": "onboarding_tool"}}).json()
    assert [(r["patient_id"], r["outcome"], r["enrollment_id"]) for r in done["results"]] == [
        ("p-north", "not_found", None), ("p-nobody", "not_found", None)]
    assert done["results"][0]["reasons"] == ["no patient 'p-north'"]


def test_an_import_as_a_walled_admin_rejects_the_rows_of_other_sites(api: Any, walled: dict[str, str]) -> None:
    assert _call(api, "PUT", "/users/root/sites", "root", json={"sites": ["main"]}).status_code == 200
    csv = ("patient_id,site_id,given_name,family_name,birth_date\n"
           "p-im1,main,Ida,Import,1970-01-01\np-im2,north,Ivo,Import,1970-01-02\n")
    report = api.client.post("/imports/patients", headers={**api.as_("root"), "Content-Type": "text/csv"},
                             content=csv).json()
    assert report["patients_created"] == 1
    assert [(r["where"], r["field"], r["reason"]) for r in report["rejected"]] == [
        ("line 3", "site_id", "no site 'north'")]
    feed = api.client.post("/imports/patients", headers={**api.as_("ehr"), "Content-Type": "text/csv"},
                           content=csv.replace("p-im1", "p-im3").replace("p-im2", "p-im4")).json()
    assert feed["patients_created"] == 2  # an integration is bound to no site


def test_a_walled_auditor_reads_only_the_history_of_their_sites(api: Any, walled: dict[str, str]) -> None:
    assert _call(api, "PUT", "/users/audrey/sites", "root", json={"sites": ["main"]}).status_code == 200

    def chains(user: str, **params: Any) -> set[str]:
        events = _call(api, "GET", "/audit/events", user, params={"limit": 1000, **params}).json()["events"]
        return {e["enrollment_id"] or f"{e['subject_type']}:{e['subject_id']}" for e in events}

    seen = chains("audrey")
    assert walled["pin-main"] in seen
    assert walled["pin-north"] not in seen
    assert not any(c.startswith("staff:") for c in seen)
    assert chains("audrey", patient_id="p-north") == set()
    assert walled["pin-north"] in chains("root")
    exported = _call(api, "GET", "/audit/export", "audrey", params={"format": "jsonl"}).text
    assert walled["pin-main"] in exported
    assert walled["pin-north"] not in exported


def _page(api: Any, flow: Any, user: str, path: str) -> Any:
    """A page as `user` sees it, signed in with a web session (no browser: the pages are server-rendered)."""
    session = flow.users.issue_token(CLI_ACTOR, user, SESSION_LABEL).value
    return api.client.get(path, cookies={COOKIE: session})


def test_the_pages_find_and_show_only_patients_and_enrollments_at_the_users_sites(
        api: Any, flow: Any, clock: Any, walled: dict[str, str]) -> None:
    clock.advance(timedelta(days=25))  # the PINs expire within the week
    bobs, anas = _page(api, flow, "bob", "/app/patients?q=Doe"), _page(api, flow, "ana", "/app/patients?q=Doe")
    assert bobs.status_code == 200
    assert "Jane" in bobs.text
    assert "Nell" not in bobs.text
    assert "Nell" in anas.text
    assert _page(api, flow, "bob", "/app/patients/p-north").status_code == 404
    assert _page(api, flow, "bob", "/app/households/h-north").status_code == 404
    assert _page(api, flow, "bob", f"/app/enrollments/{walled['pin-north']}").status_code == 404
    assert _page(api, flow, "bob", f"/app/enrollments/{walled['pin-main']}").status_code == 200
    assert "Nell" not in _page(api, flow, "bob", "/app/worklists/pins-expiring").text
    assert "Nell" in _page(api, flow, "ana", "/app/worklists/pins-expiring").text
    assert "Nell" not in _page(api, flow, "bob", "/app/onboarding").text


def test_the_admin_users_page_sets_a_users_sites_and_none_ticked_means_every_site(api: Any, flow: Any) -> None:
    _north(flow)
    session = flow.users.issue_token(CLI_ACTOR, "root", SESSION_LABEL).value
    form = {"csrf_token": csrf_of(session), "sites": ["north"]}
    done = api.client.post("/app/admin/users/ana/sites", data=form, cookies={COOKIE: session}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert flow.users.get("ana").sites == frozenset({"north"})
    assert "North Clinic" in _page(api, flow, "root", "/app/admin/users").text
    api.client.post("/app/admin/users/ana/sites", data={"csrf_token": csrf_of(session)}, cookies={COOKIE: session})
    assert flow.users.get("ana").sites is None


def test_a_designer_kept_to_a_site_previews_a_message_for_no_patient_of_another(api: Any, flow: Any) -> None:
    _north(flow)
    assert _call(api, "PUT", "/users/dee/sites", "root", json={"sites": ["main"]}).status_code == 200
    path = "/workflows/nextgen-pxp-portal-invites/messages/manual_invite/preview"
    assert _call(api, "GET", path, "dee", params={"site": "main", "patient": "p-jane"}).status_code == 200
    assert _call(api, "GET", path, "dee", params={"site": "north", "patient": "p-north"}).status_code == 404
    assert _call(api, "GET", path, "root", params={"site": "north", "patient": "p-north"}).status_code == 200


def test_the_command_shows_and_sets_the_sites_a_user_works_at(flow: Any, database_url: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    _north(flow)
    assert main(["user", "sites", "bob", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "bob works at: every site\n"
    assert main(["user", "sites", "bob", "north", "main", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "bob works at: main, north\n"
    assert main(["user", "sites", "bob", "nowhere", "--database-url", database_url]) == 2
    assert "no site 'nowhere'" in capsys.readouterr().err
    assert main(["user", "sites", "bob", "--every", "--database-url", database_url]) == 0
    assert capsys.readouterr().out == "bob works at: every site\n"
