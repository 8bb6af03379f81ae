"""Creating patients and households: checked fields, clear refusals that write nothing, audit rows without values."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.people.patients import (
    NewHousehold,
    NewPatient,
    add_household_member,
    create_household,
    create_patient,
    is_placeholder_name,
)
from engine.people.subjects import load_household, load_patient
from engine.storage.tables import audit_events, household_members, households, patients, sites

ANA = ActorRef("ana", "staff", Actor.STAFF)


def _create(flow: Any, new: NewPatient, where: str = "") -> None:
    with flow.db.begin() as conn:
        create_patient(conn, flow.services.clock.now(), ANA, new, where=where)


def _count(flow: Any, table: Any) -> int:
    with flow.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _audit_rows(flow: Any, subject_type: str, subject_id: str) -> list[Any]:
    with flow.db.connect() as conn:
        return list(conn.execute(select(audit_events).where(
            (audit_events.c.subject_type == subject_type) & (audit_events.c.subject_id == subject_id))
            .order_by(audit_events.c.seq)).mappings())


def test_a_patient_is_created_with_its_fields_and_the_pcp_as_responsible_provider(flow: Any) -> None:
    _create(flow, NewPatient("p-new", "main", "Rita", "Moreno", date(1990, 5, 6), "F", "02139",
                             "rita@example.test", "617-555-0100", pcp_id="dr-pcp"))
    with flow.db.connect() as conn:
        rita = load_patient(conn, "p-new")
    assert (rita.given_name, rita.family_name, rita.birth_date, rita.birth_sex) == ("Rita", "Moreno",
                                                                                   date(1990, 5, 6), "F")
    assert (rita.zip, rita.email, rita.cell_phone) == ("02139", "rita@example.test", "617-555-0100")
    assert (rita.pcp_id, rita.responsible_provider_id) == ("dr-pcp", "dr-pcp")
    assert rita.name_is_placeholder is False
    assert rita.email_confirmed_personal is False
    assert rita.portal_access_enabled is False


def test_a_specialist_office_patient_keeps_its_own_responsible_provider(flow: Any) -> None:
    _create(flow, NewPatient("p-spec", "main", "Ivo", "Ruiz", pcp_id="dr-pcp", responsible_provider_id="dr-other"))
    with flow.db.connect() as conn:
        ivo = load_patient(conn, "p-spec")
    assert (ivo.pcp_id, ivo.responsible_provider_id) == ("dr-pcp", "dr-other")


@pytest.mark.parametrize("given", ["Baby Boy", "baby girl", "BABY", "Infant  Girl", "Baby Girl A", " infant boy "])
def test_a_newborns_placeholder_given_name_is_recognised_whatever_its_case(given: str) -> None:
    assert is_placeholder_name(given)


@pytest.mark.parametrize("given", ["Babette", "Boy", "Ava", "Baby Boyd", "", None])
def test_a_real_given_name_is_not_taken_for_a_placeholder(given: str | None) -> None:
    assert not is_placeholder_name(given)


def test_a_placeholder_name_is_detected_unless_the_caller_says_otherwise(flow: Any) -> None:
    _create(flow, NewPatient("c-new", "main", "Baby Boy", "Lee"))
    _create(flow, NewPatient("c-said", "main", "Baby", "Lee", name_is_placeholder=False))
    _create(flow, NewPatient("c-marked", "main", "Zed", "Lee", name_is_placeholder=True))
    with flow.db.connect() as conn:
        flags = [load_patient(conn, p).name_is_placeholder for p in ("c-new", "c-said", "c-marked")]
    assert flags == [True, False, True]


@pytest.mark.parametrize(("new", "field", "words"), [
    (NewPatient("p x", "main"), "line 4.id", "only letters, digits"),
    (NewPatient("", "main"), "line 4.id", "required"),
    (NewPatient("p" * 57, "main"), "line 4.id", "longer than 56"),
    (NewPatient("p-1", "main", birth_sex="X"), "line 4.birth_sex", "F, M, UNK"),
    (NewPatient("p-1", "main", email="not-an-address"), "line 4.email", "not an email address"),
    (NewPatient("p-1", "main", given_name="A" * 121), "line 4.given_name", "longer than 120"),
    (NewPatient("p-1", "main", family_name="  "), "line 4.family_name", "non-empty"),
    (NewPatient("p-1", "main", cell_phone="call me"), "line 4.cell_phone", "not a phone number"),
    (NewPatient("p-1", "main", email_confirmed_personal=True), "line 4.email_confirmed_personal", "no email"),
])
def test_a_bad_field_is_refused_naming_where_and_which_and_nothing_is_written(
        flow: Any, new: NewPatient, field: str, words: str) -> None:
    before = _count(flow, patients), _count(flow, audit_events)
    with pytest.raises(InvalidInput) as refused:
        _create(flow, new, where="line 4")
    assert refused.value.field == field
    assert words in str(refused.value)
    assert (_count(flow, patients), _count(flow, audit_events)) == before


def test_a_field_is_named_alone_when_no_place_is_given(flow: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        _create(flow, NewPatient("p-1", "main", birth_sex="male"))
    assert refused.value.field == "birth_sex"


def test_a_birth_date_in_the_future_is_refused(flow: Any) -> None:
    tomorrow_but_one = flow.services.clock.now().date() + timedelta(days=2)
    with pytest.raises(InvalidInput, match="birth_date: is in the future"):
        _create(flow, NewPatient("p-1", "main", birth_date=tomorrow_but_one))


@pytest.mark.parametrize(("new", "what", "ident"), [
    (NewPatient("p-1", "nowhere"), "site", "nowhere"),
    (NewPatient("p-1", "main", pcp_id="dr-who"), "provider", "dr-who"),
    (NewPatient("p-1", "main", pcp_id="dr-pcp", responsible_provider_id="dr-gone"), "provider", "dr-gone"),
])
def test_an_unknown_site_or_provider_is_not_found_and_nothing_is_written(
        flow: Any, new: NewPatient, what: str, ident: str) -> None:
    with pytest.raises(NotFound) as missing:
        _create(flow, new)
    assert (missing.value.what, missing.value.ident) == (what, ident)
    with flow.db.connect() as conn:
        assert conn.execute(select(patients.c.id).where(patients.c.id == "p-1")).first() is None


def test_a_patient_id_already_taken_is_refused_and_the_patient_is_left_as_it_was(flow: Any) -> None:
    with pytest.raises(AlreadyExists, match="patient 'p-jane' already exists") as taken:
        _create(flow, NewPatient("p-jane", "main", "Janet", "Other", email="other@example.test"))
    assert (taken.value.what, taken.value.ident) == ("patient", "p-jane")
    with flow.db.connect() as conn:
        jane = load_patient(conn, "p-jane")
    assert (jane.given_name, jane.email) == ("Jane", "jane@example.test")


def test_the_audit_row_names_the_fields_given_but_never_their_values(flow: Any) -> None:
    _create(flow, NewPatient("p-new", "main", "Rita", "Moreno", date(1990, 5, 6), zip="02139",
                             email="rita.private@example.test", pcp_id="dr-pcp"))
    [row] = _audit_rows(flow, "patient", "p-new")
    assert (row["action"], row["chain"], row["actor_id"], row["actor_role"]) == (
        "patient_created", "patient:p-new", "ana", "staff")
    assert row["inputs"] == {"fields": ["birth_date", "email", "family_name", "given_name", "pcp_id", "site_id",
                                        "zip"]}
    stored = " ".join(str(value) for value in row.values())
    for value in ("rita.private@example.test", "1990-05-06", "Rita", "Moreno", "02139"):
        assert value not in stored


def test_a_household_is_created_with_its_children_in_the_order_given(flow: Any) -> None:
    for ident, given in (("c-1", "Una"), ("c-2", "Dos"), ("c-3", "Tres")):
        _create(flow, NewPatient(ident, "main", given, "Vega"))
    with flow.db.begin() as conn:
        create_household(conn, flow.services.clock.now(), ANA, NewHousehold(
            "h-vega", "main", "Luz", "Vega", "luz@example.test"), members=("c-2", "c-1", "c-3"))
    with flow.db.connect() as conn:
        vega = load_household(conn, "h-vega")
    assert [child.id for child in vega.children] == ["c-2", "c-1", "c-3"]
    assert (vega.guardian_given_name, vega.guardian_family_name, vega.guardian_email) == (
        "Luz", "Vega", "luz@example.test")
    actions = [(r["action"], r["chain"], r["inputs"]) for r in _audit_rows(flow, "household", "h-vega")]
    assert actions[0] == ("household_created", "household:h-vega",
                          {"fields": ["guardian_email", "guardian_family_name", "guardian_given_name", "site_id"]})
    assert [a[2] for a in actions[1:]] == [{"patient_id": "c-2", "position": 1}, {"patient_id": "c-1", "position": 2},
                                            {"patient_id": "c-3", "position": 3}]
    assert all("luz@example.test" not in str(r) for r in _audit_rows(flow, "household", "h-vega"))


def test_a_new_member_goes_after_the_last_and_a_member_already_there_is_left_alone(flow: Any) -> None:
    _create(flow, NewPatient("c-dee", "main", "Dee", "Lee"))
    now = flow.services.clock.now()
    with flow.db.begin() as conn:
        assert add_household_member(conn, now, ANA, "h-lee", "c-dee") is True
        assert add_household_member(conn, now, ANA, "h-lee", "c-ava") is False
    with flow.db.connect() as conn:
        lee = load_household(conn, "h-lee")
    assert [child.id for child in lee.children] == ["c-ava", "c-ben", "c-cal", "c-dee"]
    assert [r["action"] for r in _audit_rows(flow, "household", "h-lee")] == ["household_member_added"]


def test_a_child_at_another_site_cannot_join_a_household(flow: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(insert(sites).values(id="north", name="North Clinic", timezone="America/New_York",
                                          portal_url="https://north.example.test", phone="(617) 555-0100",
                                          specialist_office=False))
    _create(flow, NewPatient("c-far", "north", "Far", "Lee"))
    with pytest.raises(InvalidInput, match="patient_id: patient 'c-far' is at site 'north'"), \
            flow.db.begin() as conn:
        add_household_member(conn, flow.services.clock.now(), ANA, "h-lee", "c-far")
    with flow.db.connect() as conn:
        assert "c-far" not in {m.id for m in load_household(conn, "h-lee").children}


def test_adding_to_an_unknown_household_or_an_unknown_patient_is_not_found(flow: Any) -> None:
    now = flow.services.clock.now()
    with pytest.raises(NotFound, match="no household 'h-none'"), flow.db.begin() as conn:
        add_household_member(conn, now, ANA, "h-none", "c-ava")
    with pytest.raises(NotFound, match="no patient 'c-none'"), flow.db.begin() as conn:
        add_household_member(conn, now, ANA, "h-lee", "c-none")


@pytest.mark.parametrize(("new", "field"), [
    (NewHousehold("h-x", "main", "", "Vega"), "guardian_given_name"),
    (NewHousehold("h-x", "main", "Luz", " "), "guardian_family_name"),
    (NewHousehold("h-x", "main", "Luz", "Vega", guardian_email="luz"), "guardian_email"),
    (NewHousehold("h/x", "main", "Luz", "Vega"), "id"),
])
def test_a_household_with_a_bad_field_is_refused_and_nothing_is_written(
        flow: Any, new: NewHousehold, field: str) -> None:
    before = _count(flow, households), _count(flow, household_members), _count(flow, audit_events)
    with pytest.raises(InvalidInput) as refused, flow.db.begin() as conn:
        create_household(conn, flow.services.clock.now(), ANA, new, members=("c-ava",), where="entry[2]")
    assert refused.value.field == f"entry[2].{field}"
    after = _count(flow, households), _count(flow, household_members), _count(flow, audit_events)
    assert after == before


def test_a_household_with_an_unknown_member_is_refused_before_anything_is_written(flow: Any) -> None:
    now = flow.services.clock.now()
    with flow.db.begin() as conn:
        with pytest.raises(NotFound, match="no patient 'c-none'"):
            create_household(conn, now, ANA, NewHousehold("h-x", "main", "Luz", "Vega"), members=("c-ava", "c-none"))
        # The caller's transaction goes on, and holds no half of the household.
        assert conn.execute(select(households.c.id).where(households.c.id == "h-x")).first() is None
        assert conn.execute(select(audit_events.c.id).where(audit_events.c.chain == "household:h-x")).first() is None


def test_a_household_id_already_taken_is_refused(flow: Any) -> None:
    with pytest.raises(AlreadyExists, match="household 'h-lee' already exists"), flow.db.begin() as conn:
        create_household(conn, flow.services.clock.now(), ANA, NewHousehold("h-lee", "main", "Other", "Lee"))
    with flow.db.connect() as conn:
        assert load_household(conn, "h-lee").guardian_given_name == "Kim"
