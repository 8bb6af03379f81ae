"""Importing patients and guardians from CSV and FHIR: whole samples, rejected rows named, batches, the command."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from practice import seed_practice
from sqlalchemy import event, func, select

from api.cli import add_import_parser
from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.errors import InvalidInput
from engine.imports.csv_file import COLUMNS, import_csv
from engine.imports.fhir_bundle import BIRTH_SEX_URL, import_fhir_bundle
from engine.imports.report import ImportReport, Rejected
from engine.people.subjects import load_household, load_patient
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade
from engine.storage.tables import audit_events, households, patients

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
ANA = ActorRef("ana", "staff", Actor.STAFF)
HEADER = "patient_id,given_name,family_name,birth_date,email,guardian_id,guardian_given_name,guardian_family_name\n"


def _csv(flow: Any, text: str, **options: Any) -> ImportReport:
    return import_csv(flow.db, flow.services.clock, ANA, text, **options)


def _fhir(flow: Any, bundle: dict[str, Any], **options: Any) -> ImportReport:
    return import_fhir_bundle(flow.db, flow.services.clock, ANA, bundle, **options)


def _ids(flow: Any) -> set[str]:
    with flow.db.connect() as conn:
        return set(conn.execute(select(patients.c.id)).scalars())


def _count(flow: Any, table: Any) -> int:
    with flow.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _patient(flow: Any, patient_id: str) -> Any:
    with flow.db.connect() as conn:
        return load_patient(conn, patient_id)


def _children(flow: Any, household_id: str) -> list[str]:
    with flow.db.connect() as conn:
        return [child.id for child in load_household(conn, household_id).children]


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _fhir_patient(ident: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": ident, "managingOrganization": {"reference": "Organization/main"},
            "name": [{"use": "official", "family": "Stone", "given": ["Kai"]}], **fields}


# ----- CSV -------------------------------------------------------------------------------------------------------


def test_the_shipped_csv_sample_imports_fully(flow: Any) -> None:
    report = _csv(flow, (SAMPLES / "patients.csv").read_text(encoding="utf-8"))
    assert (report.patients_created, report.households_created, report.members_added, report.rejected) == (
        10, 2, 5, [])
    assert report.summary() == "imported 10 patient(s), 2 household(s); rejected 0 row(s)"
    assert report.details() == ["created: lines 2-11"]
    assert _children(flow, "g-okafor") == ["mrn-1004", "mrn-1005", "mrn-1006"]
    assert _children(flow, "g-brown") == ["mrn-1009", "mrn-1010"]
    baby = _patient(flow, "mrn-1006")
    assert (baby.given_name, baby.name_is_placeholder) == ("Baby Boy", True)
    assert _patient(flow, "mrn-1003").email is None
    maria = _patient(flow, "mrn-1001")
    assert (maria.site_id, maria.pcp_id, maria.responsible_provider_id, maria.cell_phone) == (
        "main", "dr-pcp", "dr-pcp", "617-555-0101")
    with flow.db.connect() as conn:
        assert verify(conn).ok  # the import's audit rows extend their chains properly


def test_bad_rows_are_rejected_naming_their_line_and_field_while_the_rest_import(flow: Any) -> None:
    text = (HEADER
            + "n-1,Ann,Ames,1990-01-01,ann@example.test,,,\n"
            + "n-2,Bo,Bell,1990-02-30,,,,\n"
            + "n-3,Cy,Cole,1990-03-03,not-an-address,,,\n"
            + "n-4,Di,Dunn,1990-04-04,,,,\n"
            + "n 5,Ed,Eck,1990-05-05,,,,\n")
    report = _csv(flow, text, site_id="main")
    assert report.rejected == [Rejected("line 3", "birth_date", "not a date (YYYY-MM-DD)"),
                               Rejected("line 4", "email", "not an email address"),
                               Rejected("line 6", "patient_id", "only letters, digits, '.', '_' and '-' are allowed")]
    assert report.patients_created == 2
    assert report.as_dict()["rejected"][0] == {"where": "line 3", "field": "birth_date",
                                               "reason": "not a date (YYYY-MM-DD)"}
    assert str(report.rejected[0]) == "line 3: birth_date: not a date (YYYY-MM-DD)"
    assert {"n-1", "n-4"} <= _ids(flow)
    assert not {"n-2", "n-3", "n 5"} & _ids(flow)


def test_a_duplicate_patient_id_is_rejected_and_the_patient_is_not_updated(flow: Any) -> None:
    report = _csv(flow, HEADER + "p-jane,Janet,Other,1999-09-09,other@example.test,,,\n", site_id="main")
    assert report.rejected == [Rejected("line 2", "patient_id", "patient 'p-jane' already exists")]
    jane = _patient(flow, "p-jane")
    assert (jane.given_name, jane.email) == ("Jane", "jane@example.test")


def test_the_same_file_imported_twice_rejects_every_row_the_second_time(flow: Any) -> None:
    text = (SAMPLES / "patients.csv").read_text(encoding="utf-8")
    _csv(flow, text)
    again = _csv(flow, text)
    assert (again.patients_created, again.households_created, len(again.rejected)) == (0, 0, 10)
    assert all(r.reason.endswith("already exists") for r in again.rejected)


@pytest.mark.parametrize(("header", "words"), [
    ("patient_id,given_name,nickname\n", "unknown column 'nickname' (column 3)"),
    ("patient_id,email,EMAIL\n", "column 'email' appears twice"),
    ("given_name,family_name\n", "the patient_id column is required"),
    ("patient_id,,email\n", "column 2 has no name"),
    ("", "unknown column 'n-1' (column 1)"),  # no header at all: the first row is taken for one
])
def test_a_wrong_header_is_refused_before_anything_is_written(flow: Any, header: str, words: str) -> None:
    before = _count(flow, patients)
    with pytest.raises(InvalidInput, match="header: ") as refused:
        _csv(flow, header + "n-1,Ann,ann@example.test\n", site_id="main")
    assert refused.value.field == "header"
    assert words in str(refused.value)
    assert _count(flow, patients) == before


def test_an_empty_file_is_refused_asking_for_a_header(flow: Any) -> None:
    with pytest.raises(InvalidInput, match="header: the file is empty: a first row naming the columns"):
        _csv(flow, "\n\n", site_id="main")


def test_a_header_may_carry_a_byte_order_mark_spaces_and_capitals_or_follow_blank_lines(flow: Any) -> None:
    report = _csv(flow, "\ufeffPatient_ID , Given_Name\nn-1,Ann\n", site_id="main")
    assert (report.patients_created, report.rejected) == (1, [])
    assert _patient(flow, "n-1").given_name == "Ann"
    report = _csv(flow, "\n\npatient_id\nn-2\nn 3\n", site_id="main")
    assert report.rejected == [Rejected("line 5", "patient_id", "only letters, digits, '.', '_' and '-' are allowed")]


def test_a_row_is_named_by_the_line_it_starts_on_when_a_quoted_value_spans_lines(flow: Any) -> None:
    report = _csv(flow, 'patient_id,given_name\nn-1,"Ann\nMarie"\nn 2,Bo\n', site_id="main")
    assert [r.where for r in report.rejected] == ["line 4"]


def test_rows_without_a_site_need_a_default_one(flow: Any) -> None:
    with pytest.raises(InvalidInput, match="no site_id column and no default site"):
        _csv(flow, "patient_id,given_name\nn-1,Ann\n")
    report = _csv(flow, "patient_id,site_id,given_name\nn-1,,Ann\nn-2,main,Bo\n")
    assert report.rejected == [Rejected("line 2", "site_id", "required: this row names no site and no default "
                                                             "site was given")]
    assert _patient(flow, "n-2").site_id == "main"


def test_an_unknown_site_or_pcp_is_rejected_on_its_column(flow: Any) -> None:
    text = "patient_id,site_id,pcp_id\nn-1,elsewhere,\nn-2,main,dr-who\n"
    assert _csv(flow, text).rejected == [Rejected("line 2", "site_id", "no site 'elsewhere'"),
                                         Rejected("line 3", "pcp_id", "no provider 'dr-who'")]


def test_the_placeholder_column_overrides_detection_and_refuses_other_words(flow: Any) -> None:
    text = ("patient_id,given_name,name_is_placeholder\n"
            "n-1,Baby,no\nn-2,Kai,yes\nn-3,Baby Girl,\nn-4,Lu,maybe\n")
    report = _csv(flow, text, site_id="main")
    assert report.rejected == [Rejected("line 5", "name_is_placeholder",
                                        "must be yes, no, or blank to detect it from the given name")]
    assert [_patient(flow, p).name_is_placeholder for p in ("n-1", "n-2", "n-3")] == [False, True, True]


def test_a_row_with_a_new_guardian_but_no_names_is_rejected_whole(flow: Any) -> None:
    text = HEADER + "n-1,Ann,Ames,2015-01-01,,g-new,,Ames\n"
    report = _csv(flow, text, site_id="main")
    [rejected] = report.rejected
    assert (rejected.where, rejected.field) == ("line 2", "guardian_given_name")
    assert "there is no household 'g-new' yet" in rejected.reason
    assert "n-1" not in _ids(flow)  # the patient of the row was rolled back with it
    assert _count(flow, households) == 1


def test_siblings_join_the_household_named_by_the_first_of_them_in_file_order(flow: Any) -> None:
    text = (HEADER
            + "s-1,Ann,Ames,2015-01-01,,g-ames,Gus,Ames\n"
            + "s-2,Bo,Ames,2016-01-01,,g-ames,,\n"
            + "s-3,Cy,Ames,2017-01-01,,g-ames,,\n"
            + "s-4,Di,Ames,2018-01-01,,h-lee,,\n")
    report = _csv(flow, text, site_id="main")
    assert (report.households_created, report.members_added, report.rejected) == (1, 4, [])
    assert _children(flow, "g-ames") == ["s-1", "s-2", "s-3"]
    assert _children(flow, "h-lee") == ["c-ava", "c-ben", "c-cal", "s-4"]


def test_guardian_details_without_a_guardian_id_are_rejected(flow: Any) -> None:
    report = _csv(flow, HEADER + "n-1,Ann,Ames,2015-01-01,,,Gus,Ames\n", site_id="main")
    assert report.rejected == [Rejected("line 2", "guardian_id",
                                        "required when guardian_given_name is given: it names the household")]


def test_a_row_with_too_many_or_too_few_values_is_rejected_and_blank_lines_are_skipped(flow: Any) -> None:
    text = "patient_id,given_name\n\nn-1,Ann\nn-2,Bo,extra\nn-3\n,\nn-4,Di\n"
    report = _csv(flow, text, site_id="main")
    assert report.rejected == [Rejected("line 4", None, "3 value(s), but the header names 2 column(s)"),
                               Rejected("line 5", None, "1 value(s), but the header names 2 column(s)")]
    assert {"n-1", "n-4"} <= _ids(flow)


@pytest.mark.parametrize("bad_line", [2, 3])
def test_batches_commit_around_a_bad_row_at_or_beside_a_boundary(flow: Any, bad_line: int) -> None:
    rows = [f"b-{n},Kid{n},Batch,2010-01-0{n},,,," for n in range(1, 6)]
    rows[bad_line - 2] = f"b-{bad_line - 1},Bad,Batch,2010-13-01,,,,"
    events_before = _count(flow, audit_events)
    report = _csv(flow, HEADER + "\n".join(rows) + "\n", site_id="main", batch=2)
    assert report.rejected == [Rejected(f"line {bad_line}", "birth_date", "not a date (YYYY-MM-DD)")]
    assert report.patients_created == 4
    assert {f"b-{n}" for n in range(1, 6)} - _ids(flow) == {f"b-{bad_line - 1}"}
    assert _count(flow, audit_events) == events_before + 4  # the rejected row left no audit row behind


@pytest.mark.parametrize(("hold", "commits"), [(60.0, 2), (0.0, 5)])
def test_a_batch_commits_at_its_size_or_once_it_has_held_its_transaction_long_enough(
        flow: Any, hold: float, commits: int) -> None:
    committed: list[object] = []

    def count(conn: object) -> None:
        committed.append(conn)

    event.listen(flow.db, "commit", count)
    try:
        rows = [f"h-{n},Kid{n},Held,2010-01-0{n},,,," for n in range(1, 6)]
        report = _csv(flow, HEADER + "\n".join(rows) + "\n", site_id="main", batch=3, hold=hold)
    finally:
        event.remove(flow.db, "commit", count)
    assert report.patients_created == 5
    assert len(committed) == commits  # 3 + 2 rows within the time; one row per commit when none is allowed


def test_an_import_takes_a_plain_function_for_the_time(flow: Any) -> None:
    report = import_csv(flow.db, lambda: flow.services.clock.now(), ANA, "patient_id\nn-1\n", site_id="main")
    assert report.patients_created == 1
    with flow.db.connect() as conn:
        at = conn.execute(select(audit_events.c.at).where(audit_events.c.subject_id == "n-1")).scalar_one()
    assert at.replace(tzinfo=None) == flow.services.clock.now().replace(tzinfo=None)


def test_the_audit_rows_of_an_import_carry_field_names_but_no_values(flow: Any) -> None:
    _csv(flow, (SAMPLES / "patients.csv").read_text(encoding="utf-8"))
    _fhir(flow, json.loads((SAMPLES / "patients.fhir.json").read_text(encoding="utf-8")))
    with flow.db.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(audit_events).where(
            audit_events.c.action.in_(("patient_created", "household_created", "household_member_added"))))
            .mappings()]
    assert len(rows) == 10 + 2 + 5 + 5 + 1 + 2
    stored = json.dumps(rows, default=str)
    for value in ("maria.garcia@example.test", "ngozi.okafor@example.test", "grace.kim@example.test",
                  "dana.walker@example.test", "1984-07-12", "2017-07-07", "617-555-0101", "Okafor", "Walker"):
        assert value not in stored
    created = next(r for r in rows if r["subject_id"] == "mrn-1001")
    assert created["inputs"] == {"fields": ["birth_date", "birth_sex", "cell_phone", "email", "family_name",
                                            "given_name", "pcp_id", "site_id", "zip"]}


# ----- FHIR ------------------------------------------------------------------------------------------------------


def test_the_shipped_fhir_sample_imports_fully(flow: Any) -> None:
    report = _fhir(flow, json.loads((SAMPLES / "patients.fhir.json").read_text(encoding="utf-8")))
    assert (report.patients_created, report.households_created, report.members_added, report.rejected) == (
        5, 1, 2, [])
    grace = _patient(flow, "pt-2001")
    assert (grace.given_name, grace.family_name, grace.birth_sex, grace.zip, grace.email, grace.cell_phone,
            grace.pcp_id, grace.site_id) == ("Grace", "Kim", "F", "02139", "grace.kim@example.test",
                                             "617-555-0201", "dr-pcp", "main")
    jordan = _patient(flow, "pt-2002")
    assert (jordan.given_name, jordan.zip) == ("Jordan", "02144")  # the official name, the home address
    assert _patient(flow, "pt-2003").cell_phone is None  # a home phone is not a cell phone
    baby = _patient(flow, "pt-2005")
    assert (baby.given_name, baby.name_is_placeholder) == ("Baby Boy", True)
    with flow.db.connect() as conn:
        walker = load_household(conn, "g-walker")
    assert [c.id for c in walker.children] == ["pt-2004", "pt-2005"]
    assert (walker.guardian_given_name, walker.guardian_family_name, walker.guardian_email) == (
        "Dana", "Walker", "dana.walker@example.test")


def test_birth_sex_comes_from_the_us_core_extension_never_from_gender(flow: Any) -> None:
    extension = [{"url": BIRTH_SEX_URL, "valueCode": "F"}]
    report = _fhir(flow, _bundle(_fhir_patient("x-1", gender="male", extension=extension),
                                 _fhir_patient("x-2", gender="female")))
    assert report.rejected == []
    assert (_patient(flow, "x-1").birth_sex, _patient(flow, "x-2").birth_sex) == ("F", None)


def test_a_temporary_name_is_a_placeholder_and_an_official_one_is_preferred(flow: Any) -> None:
    temp = [{"use": "temp", "family": "Stone", "given": ["Little"]}]
    both = [{"use": "nickname", "given": ["Kiki"]}, {"use": "usual", "given": ["Kai"]},
            {"use": "official", "given": ["Kailani"], "family": "Stone"}]
    _fhir(flow, _bundle(_fhir_patient("x-1", name=temp), _fhir_patient("x-2", name=both),
                        _fhir_patient("x-3", name=[{"given": ["Baby", "Girl"], "family": "Stone"}])))
    assert (_patient(flow, "x-1").given_name, _patient(flow, "x-1").name_is_placeholder) == ("Little", True)
    assert (_patient(flow, "x-2").given_name, _patient(flow, "x-2").name_is_placeholder) == ("Kailani", False)
    assert _patient(flow, "x-3").name_is_placeholder is True


def test_a_patient_naming_no_organization_takes_the_default_site_or_is_rejected(flow: Any) -> None:
    lone = {"resourceType": "Patient", "id": "x-1"}
    assert _fhir(flow, _bundle(lone)).rejected == [Rejected(
        "entry[0] (Patient/x-1)", "managingOrganization",
        "required: no Organization reference, and no default site was given")]
    assert _fhir(flow, _bundle(lone), site_id="main").patients_created == 1


def test_bad_entries_are_rejected_one_by_one_naming_the_entry_and_the_fhir_field(flow: Any) -> None:
    bundle = _bundle(
        {"resourceType": "Observation", "id": "obs-1"},
        _fhir_patient("x-1", birthDate="2020"),
        _fhir_patient("x-2", extension=[{"url": BIRTH_SEX_URL, "valueCode": "OTH"}]),
        _fhir_patient("x-3", generalPractitioner=[{"reference": "Practitioner/dr-who"}]),
        {"resourceType": "RelatedPerson", "id": "rp-1", "patient": {"reference": "Patient/nobody"},
         "name": [{"given": ["Al"], "family": "Stone"}]},
        _fhir_patient("x-4"))
    bundle["entry"].append({"fullUrl": "urn:uuid:nothing"})
    report = _fhir(flow, bundle)
    assert report.rejected == [
        Rejected("entry[0] (Observation/obs-1)", None, "not a Patient or RelatedPerson"),
        Rejected("entry[1] (Patient/x-1)", "birthDate", "not a date (YYYY-MM-DD)"),
        Rejected("entry[2] (Patient/x-2)", "extension(us-core-birthsex).valueCode", "must be one of F, M, UNK"),
        Rejected("entry[3] (Patient/x-3)", "generalPractitioner", "no provider 'dr-who'"),
        Rejected("entry[6]", None, "has no resource"),
        Rejected("entry[4] (RelatedPerson/rp-1)", "patient", "no patient 'nobody'"),
    ]
    assert report.patients_created == 1
    assert "x-4" in _ids(flow)


def test_a_guardian_listed_once_per_child_becomes_one_household_after_its_children(flow: Any) -> None:
    def guardian(ident: str, child: str) -> dict[str, Any]:
        return {"resourceType": "RelatedPerson", "id": ident, "identifier": [{"value": "g-stone"}],
                "patient": {"reference": child}, "name": [{"given": ["Rae"], "family": "Stone"}],
                "telecom": [{"system": "email", "value": "rae@example.test"}]}

    bundle = _bundle(guardian("rp-a", "Patient/k-1"), guardian("rp-b", "urn:uuid:k2"),
                     _fhir_patient("k-1"), guardian("rp-c", "Patient/k-1"))
    bundle["entry"].append({"fullUrl": "urn:uuid:k2", "resource": _fhir_patient("k-2")})
    report = _fhir(flow, bundle)
    assert (report.patients_created, report.households_created, report.members_added, report.rejected) == (
        2, 1, 2, [])
    assert _children(flow, "g-stone") == ["k-1", "k-2"]


def test_something_that_is_not_a_bundle_is_refused_before_anything_is_written(flow: Any) -> None:
    with pytest.raises(InvalidInput, match="resourceType: expected a FHIR Bundle, got 'Patient'"):
        _fhir(flow, _fhir_patient("x-1"))
    broken = copy.deepcopy(_bundle())
    broken["entry"] = {"resource": {}}
    with pytest.raises(InvalidInput, match="entry: must be a list"):
        _fhir(flow, broken)
    assert "x-1" not in _ids(flow)


# ----- the command -----------------------------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    db = make_engine(url)
    upgrade(db)
    seed_practice(db)
    db.dispose()
    return url


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="portalflow")
    add_import_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["import", *argv])
    code: int = args.run(args)
    return code


def test_the_command_imports_both_samples_and_says_so(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(str(SAMPLES / "patients.csv"), "--database", database) == 0
    assert capsys.readouterr().out == ("imported 10 patient(s), 2 household(s); rejected 0 row(s)\n"
                                       "created: lines 2-11\n"
                                       "site main uses: every workflow\n")
    assert _run(str(SAMPLES / "patients.fhir.json"), "--database", database, "--actor", "ana") == 0
    assert capsys.readouterr().out == ("imported 5 patient(s), 1 household(s); rejected 0 row(s)\n"
                                       "created: entries 0-6\n"
                                       "site main uses: every workflow\n")
    db = make_engine(database)
    with db.connect() as conn:
        actors = dict(conn.execute(select(audit_events.c.subject_id, audit_events.c.actor_role).where(
            audit_events.c.subject_id.in_(("mrn-1001", "pt-2001")))).all())
    db.dispose()
    assert actors == {"mrn-1001": "integration", "pt-2001": "staff"}  # "import", then the staff user ana


def test_the_command_lists_rejected_rows_and_exits_1(database: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "some.txt"
    file.write_text(HEADER + "n-1,Ann,Ames,1990-01-01,,,,\nn-2,Bo,Bell,1990-02-30,,,,\n", encoding="utf-8")
    assert _run(str(file), "--format", "csv", "--site", "main", "--database-url", database) == 1
    assert capsys.readouterr().out.splitlines() == [
        "imported 1 patient(s), 0 household(s); rejected 1 row(s)",
        "created: line 2",
        f"{file}, line 3: birth_date: not a date (YYYY-MM-DD)",
        "site main uses: every workflow"]


@pytest.mark.parametrize(("name", "content", "extra", "words"), [
    ("p.csv", "patient_id,nickname\nn-1,x\n", ["--site", "main"], "unknown column 'nickname'"),
    ("p.json", "{not json", [], "p.json:1:2: not JSON"),
    ("p.json", '{"resourceType": "Patient"}', [], "expected a FHIR Bundle"),
    ("p.json", "[]", [], "expected a FHIR Bundle (a JSON object)"),
    ("p.xml", "<Bundle/>", [], "say --format csv or --format fhir"),
    ("p.csv", "patient_id\nn-1\n", ["--site", "nowhere"], "--site: no site 'nowhere'"),
])
def test_unusable_input_exits_2_and_writes_nothing(database: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str], name: str, content: str,
                                                   extra: list[str], words: str) -> None:
    file = tmp_path / name
    file.write_text(content, encoding="utf-8")
    assert _run(str(file), "--database", database, *extra) == 2
    assert words in capsys.readouterr().err
    db = make_engine(database)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(patients)).scalar_one() == 5  # the seeded ones
    db.dispose()


def test_a_missing_file_exits_2(database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(str(tmp_path / "absent.csv"), "--database", database) == 2
    assert "absent.csv: no such file" in capsys.readouterr().err


def test_every_documented_column_is_in_the_sample_header() -> None:
    header = (SAMPLES / "patients.csv").read_text(encoding="utf-8").splitlines()[0]
    assert tuple(header.split(",")) == COLUMNS
