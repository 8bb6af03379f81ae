"""Sites, providers, patients and households over HTTP: created, read, corrected, and refused with the field named."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from engine.storage.tables import audit_events, patients

NEW = {"id": "p-new", "site_id": "main", "given_name": "Lena", "family_name": "Park", "birth_date": "1990-05-06",
       "birth_sex": "F", "zip": "02139", "email": "lena@example.test", "pcp_id": "dr-pcp"}


def _count(flow: Any, table: Any) -> int:
    with flow.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_staff_create_a_patient_and_read_it_back_with_its_enrollments(api: Any) -> None:
    created = api.client.post("/patients", headers=api.as_("ana"), json=NEW)
    assert created.status_code == 201, created.text
    assert created.json()["enrollments"] == []
    assert created.json()["name_is_placeholder"] is False
    read = api.client.get("/patients/p-new", headers=api.as_("audrey")).json()
    assert (read["given_name"], read["birth_date"], read["responsible_provider_id"]) == ("Lena", "1990-05-06",
                                                                                         "dr-pcp")


def test_a_bad_birth_date_names_the_field_and_writes_nothing(api: Any, flow: Any) -> None:
    before = _count(flow, patients), _count(flow, audit_events)
    for value, field in (("05/06/1990", "body.birth_date"), ("2999-01-01", "body.birth_date")):
        response = api.client.post("/patients", headers=api.as_("ana"), json={**NEW, "birth_date": value})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
    sex = api.client.post("/patients", headers=api.as_("ana"), json={**NEW, "birth_sex": "female"})
    assert sex.status_code == 422
    assert sex.json()["error"]["field"] == "body.birth_sex"
    assert (_count(flow, patients), _count(flow, audit_events)) == before


def test_a_duplicate_patient_is_409_and_an_unknown_one_404(api: Any) -> None:
    dup = api.client.post("/patients", headers=api.as_("ana"), json={**NEW, "id": "p-jane"})
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "already_exists"
    missing = api.client.get("/patients/nobody", headers=api.as_("ana"))
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "not_found", "message": "no patient 'nobody'", "field": None, "reasons": [], "current": None}


def test_patients_are_found_by_name_prefix_and_birth_date(api: Any) -> None:
    found = api.client.get("/patients", params={"family_name": "le"}, headers=api.as_("ana")).json()
    assert [p["id"] for p in found] == ["c-ava", "c-ben", "c-cal"]
    by_birth = api.client.get("/patients", params={"birth_date": "1980-04-01"}, headers=api.as_("ana")).json()
    assert [p["id"] for p in by_birth] == ["p-jane"]


def test_changing_a_required_field_raises_the_invite_event_and_a_practice_field_does_not(api: Any) -> None:
    email = api.client.patch("/patients/p-noemail", headers=api.as_("ana"), json={"email": "nora@example.test"})
    assert email.status_code == 200, email.text
    assert email.json()["changed"] == ["email"]
    assert email.json()["event"].startswith("acted")
    enrollments = email.json()["patient"]["enrollments"]
    assert [(e["workflow_id"], e["status"]) for e in enrollments] == [("nextgen-pxp-portal-invites", "Invited")]
    pcp = api.client.patch("/patients/p-jane", headers=api.as_("ana"), json={"pcp_id": "dr-other"})
    assert pcp.json()["changed"] == ["pcp_id"]
    assert pcp.json()["event"] is None
    assert pcp.json()["patient"]["enrollments"] == []


def test_a_patient_change_checks_every_value_before_writing_any(api: Any, flow: Any) -> None:
    before = _count(flow, audit_events)
    bad = api.client.patch("/patients/p-jane", headers=api.as_("ana"),
                           json={"pcp_id": "dr-other", "zip": "!!"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "body.zip"
    unknown_provider = api.client.patch("/patients/p-jane", headers=api.as_("ana"), json={"pcp_id": "dr-who"})
    assert unknown_provider.status_code == 422
    assert unknown_provider.json()["error"]["field"] == "pcp_id"
    assert _count(flow, audit_events) == before
    assert api.client.get("/patients/p-jane", headers=api.as_("ana")).json()["pcp_id"] == "dr-pcp"


def test_a_household_is_created_with_its_children_in_order(api: Any) -> None:
    body = {"id": "h-park", "site_id": "main", "guardian_given_name": "Min", "guardian_family_name": "Park",
            "guardian_email": "min@example.test", "members": ["c-cal", "c-ava"]}
    created = api.client.post("/households", headers=api.as_("ana"), json=body)
    assert created.status_code == 201, created.text
    assert created.json()["children"] == ["c-cal", "c-ava"]
    added = api.client.post("/households/h-park/members", headers=api.as_("ana"), json={"patient_id": "c-ben"})
    assert added.json()["children"] == ["c-cal", "c-ava", "c-ben"]
    assert api.client.get("/patients/c-ben", headers=api.as_("ana")).json()["households"] == ["h-lee", "h-park"]


def test_a_site_whose_holidays_country_has_three_letters_takes_a_phone_dialled_there(api: Any) -> None:
    site = {"id": "east", "name": "East Clinic", "timezone": "Europe/London",
            "portal_url": "https://portal.example.test", "phone": "020 7946 0000", "country": "GBR"}
    created = api.client.post("/sites", headers=api.as_("root"), json=site)
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "020 7946 0000"
    us = api.client.post("/sites", headers=api.as_("root"), json={**site, "id": "west", "phone": "(617) 555-0142",
                                                                   "timezone": "America/New_York", "country": "USA"})
    assert us.status_code == 201, us.text
    assert us.json()["phone"] == "(617) 555-0142"
    wrong = api.client.patch("/sites/east", headers=api.as_("root"), json={"phone": "555-01"})
    assert wrong.status_code == 422
    assert "not a phone number in GB" in wrong.json()["error"]["message"]


def test_admins_set_up_sites_calendars_and_providers_and_staff_may_not(api: Any) -> None:
    site = {"id": "north", "name": "North Clinic", "timezone": "America/Chicago",
            "portal_url": "https://portal.example.test", "phone": "312 555 0142", "country": "US", "subdivision": "IL"}
    assert api.client.post("/sites", headers=api.as_("ana"), json=site).status_code == 403
    created = api.client.post("/sites", headers=api.as_("root"), json=site)
    assert created.status_code == 201
    assert created.json()["phone"] == "(312) 555-0142"
    for phone, problem in ((None, "Field required"), ("", "patients call"), ("555-01", "not a phone number in US")):
        body = {k: v for k, v in {**site, "id": "z", "phone": phone}.items() if v is not None}
        refused = api.client.post("/sites", headers=api.as_("root"), json=body)
        assert refused.status_code == 422, phone
        assert refused.json()["error"]["field"] in ("phone", "body.phone")
        assert problem in refused.json()["error"]["message"]
    assert api.client.patch("/sites/north", headers=api.as_("root"), json={"phone": ""}).status_code == 422
    assert api.client.get("/sites/z", headers=api.as_("root")).status_code == 404
    zone = api.client.post("/sites", headers=api.as_("root"), json={**site, "id": "x", "timezone": "Mars/Base"})
    assert zone.status_code == 422
    assert zone.json()["error"]["field"] == "body.timezone"
    http = api.client.post("/sites", headers=api.as_("root"), json={**site, "id": "y", "portal_url": "http://a.b"})
    assert http.status_code == 422
    assert http.json()["error"]["field"] == "body.portal_url"
    calendar = {"zone": "America/Chicago", "country": "US", "subdivision": "IL", "go_live": "2026-01-05",
                "hours": {"mon": ["08:00-12:00", "13:00-17:00"]}, "closures": {"2026-12-24": "Christmas Eve"}}
    saved = api.client.put("/sites/north/calendar", headers=api.as_("root"), json=calendar)
    assert saved.status_code == 200, saved.text
    assert api.client.get("/sites/north/calendar", headers=api.as_("ana")).json()["hours"] == {
        "mon": ["08:00-12:00", "13:00-17:00"]}
    bad = api.client.put("/sites/north/calendar", headers=api.as_("root"), json={**calendar, "hours": {"mon": ["8-5"]}})
    assert bad.status_code == 422
    assert "HH:MM" in bad.json()["error"]["message"]
    assert api.client.post("/providers", headers=api.as_("root"), json={"id": "dr-new", "name": "Dr. New"}
                           ).status_code == 201
    assert {"id": "dr-new", "name": "Dr. New"} in api.client.get("/providers", headers=api.as_("ana")).json()


def test_bad_json_and_bad_types_are_422_naming_the_field(api: Any) -> None:
    broken = api.client.post("/patients", headers={**api.as_("ana"), "Content-Type": "application/json"},
                             content=b"{not json")
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "invalid_request"
    typed = api.client.post("/households", headers=api.as_("ana"),
                            json={"id": "h-x", "site_id": "main", "guardian_given_name": "A",
                                  "guardian_family_name": "B", "members": "c-ava"})
    assert typed.status_code == 422
    assert typed.json()["error"]["field"] == "body.members"
    extra = api.client.post("/patients", headers=api.as_("ana"), json={**NEW, "ssn": "123"})
    assert extra.status_code == 422
    assert extra.json()["error"]["field"] == "body.ssn"


def test_naming_a_newborn_clears_the_placeholder_unless_staff_say_otherwise(api: Any) -> None:
    named = api.client.patch("/patients/c-ben", headers=api.as_("ana"), json={"first_name": "Bea"})
    assert named.json()["patient"]["name_is_placeholder"] is False
    renamed = api.client.patch("/patients/c-ben", headers=api.as_("ana"),
                               json={"first_name": "Baby Girl", "name_is_placeholder": False})
    assert renamed.json()["patient"]["name_is_placeholder"] is False
    twin = api.client.patch("/patients/c-cal", headers=api.as_("ana"), json={"first_name": "Infant Boy 2"})
    assert twin.json()["patient"]["name_is_placeholder"] is True


def test_a_guardians_new_email_must_be_confirmed_again_and_a_bad_one_is_refused(api: Any) -> None:
    changed = api.client.patch("/households/h-lee", headers=api.as_("ana"), json={"guardian_email": "kim@new.test"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["guardian_email"] == "kim@new.test"
    assert changed.json()["guardian_email_confirmed_personal"] is False
    confirmed = api.client.patch("/households/h-lee", headers=api.as_("ana"),
                                 json={"guardian_email_confirmed_personal": True})
    assert confirmed.json()["guardian_email_confirmed_personal"] is True
    bad = api.client.patch("/households/h-lee", headers=api.as_("ana"), json={"guardian_email": "kim at home"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "body.guardian_email"
    missing = api.client.patch("/households/h-none", headers=api.as_("ana"), json={"guardian_given_name": "X"})
    assert missing.status_code == 404


def test_unreadable_bodies_nulls_numbers_as_dates_and_overlong_ids_are_422_not_500(api: Any) -> None:
    latin = api.client.post("/patients", headers={**api.as_("ana"), "Content-Type": "application/json"},
                            content='{"id": "p-é"}'.encode("latin-1"))
    assert latin.status_code == 422
    assert latin.json()["error"]["field"] == "body"
    null = api.client.patch("/sites/main", headers=api.as_("root"), json={"specialist_office": None})
    assert null.status_code == 422
    assert null.json()["error"]["field"] == "body.specialist_office"
    number = api.client.post("/patients", headers=api.as_("ana"), json={**NEW, "birth_date": 0})
    assert number.status_code == 422
    assert number.json()["error"]["field"] == "body.birth_date"
    long_id = api.client.post("/providers", headers=api.as_("root"), json={"id": "d" * 56, "name": "Dr. Long"})
    assert long_id.status_code == 422
    assert long_id.json()["error"]["field"] == "body.id"


def test_an_admin_chooses_the_workflows_a_site_uses_and_an_unknown_one_is_422(api: Any) -> None:
    assert api.client.get("/sites/main", headers=api.as_("ana")).json()["workflows"] is None  # every workflow
    chosen = api.client.patch("/sites/main", headers=api.as_("root"),
                              json={"workflows": ["nextgen-regenerate-expired-pin"]})
    assert chosen.status_code == 200
    assert chosen.json()["workflows"] == ["nextgen-regenerate-expired-pin"]
    unknown = api.client.patch("/sites/main", headers=api.as_("root"), json={"workflows": ["nope"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "workflows"
    started = api.client.post("/enrollments", headers=api.as_("ana"),
                              json={"workflow_id": "nextgen-pxp-portal-invites", "patient_id": "p-jane"})
    assert started.status_code == 422
    assert "does not use the workflow 'NextGen PxP Portal Enrollments Overview'" in started.json()["error"]["message"]
