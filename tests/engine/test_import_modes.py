"""An import's dry run and its update mode: a dry run checks every row as the import does and writes nothing; an
update corrects the patients who exist through the path staff's corrections take, each change on the patient's
history with the import's actor and the file and row it came from; the progress a caller is told."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.verify import verify
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.errors import CredentialRefused, InvalidInput
from engine.imports.batches import ImportOptions
from engine.imports.csv_file import import_csv
from engine.imports.report import ImportReport, Rejected, Row, Updated
from engine.people.subjects import load_household, load_patient
from engine.storage.tables import audit_events, credentials, intake_events, metadata, patients

IMPORTER = ActorRef("import", "integration", Actor.INTEGRATION)
ANA = ActorRef("ana", "staff", Actor.STAFF)
SOURCE = "import of nightly.csv"
DRY = ImportOptions(dry_run=True, source=SOURCE)
UPDATE = ImportOptions(update=True, source=SOURCE)
DRY_UPDATE = ImportOptions(dry_run=True, update=True, source=SOURCE)
HEADER = ("patient_id,site_id,given_name,family_name,birth_date,email,zip,guardian_id,guardian_given_name,"
          "guardian_family_name\n")
# New patients, a bad date, an id taken earlier in the file, one who exists, siblings of a new household.
MIXED = (HEADER
         + "n-1,main,Ann,Ames,1990-01-01,ann@example.test,02139,,,\n"
         + "n-2,main,Bo,Bell,1990-02-30,,,,,\n"
         + "n-1,main,Ann,Again,1990-01-01,,,,,\n"
         + "p-jane,main,Jane,Doe,1980-04-01,jane@example.test,02139,,,\n"
         + "s-1,main,Cy,Cole,2015-01-01,,,g-cole,Gus,Cole\n"
         + "s-2,main,Di,Cole,2016-01-01,,,g-cole,,\n")


def _csv(flow: Any, text: str, options: ImportOptions, **kwargs: Any) -> ImportReport:
    report: ImportReport = flow.imports.csv(IMPORTER, text, options=options, **kwargs)
    return report


def _state(flow: Any) -> dict[str, Any]:
    """Every table's rows, the audit chain's last hash, and every patient as stored: what a dry run must not move."""
    with flow.db.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in metadata.sorted_tables}
        last = conn.execute(select(audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1)).scalar()
        stored = [tuple(row) for row in conn.execute(select(patients).order_by(patients.c.id))]
        assert verify(conn).ok
    return {"counts": counts, "last_hash": last, "patients": stored}


def _patient(flow: Any, patient_id: str) -> Any:
    with flow.db.connect() as conn:
        return load_patient(conn, patient_id)


def _history(flow: Any, patient_id: str) -> list[Any]:
    with flow.db.connect() as conn:
        return list(conn.execute(select(audit_events).where(
            (audit_events.c.subject_id == patient_id) & (audit_events.c.enrollment_id.is_(None)))
            .order_by(audit_events.c.id)))


def _without_ids(report: ImportReport) -> list[tuple[str, str, tuple[str, ...]]]:
    # An event names the enrollment it started, whose id is new each time: compare what was updated, not that.
    return [(u.where, u.patient_id, u.fields) for u in report.updated]


# ----- the dry run -----------------------------------------------------------------------------------------------


def test_a_dry_run_reports_exactly_what_the_import_then_does_and_writes_nothing(flow: Any, tmp_path: Path) -> None:
    before, files = _state(flow), set(tmp_path.rglob("*"))
    dry = _csv(flow, MIXED, DRY)
    assert _state(flow) == before
    assert set(tmp_path.rglob("*")) == files  # on SQLite it ran on a snapshot beside the database, now removed
    assert dry.summary() == ("dry run, nothing written: would import 3 patient(s), 1 household(s); "
                             "would reject 3 row(s)")
    assert dry.details() == [
        "would create: lines 2, 6-7",
        "line 3: birth_date: not a date (YYYY-MM-DD)",
        "line 4: patient_id: patient 'n-1' already exists",
        "line 5: patient_id: patient 'p-jane' already exists"]
    assert dry.existing == 2
    real = _csv(flow, MIXED, ImportOptions(source=SOURCE))
    assert dataclasses.replace(dry, dry_run=False) == real
    assert real.summary() == "imported 3 patient(s), 1 household(s); rejected 3 row(s)"
    with flow.db.connect() as conn:
        assert [c.id for c in load_household(conn, "g-cole").children] == ["s-1", "s-2"]


def test_a_dry_run_judges_each_row_after_the_ones_before_it_across_batches(flow: Any) -> None:
    text = (HEADER + "s-1,main,Cy,Cole,2015-01-01,,,g-cole,Gus,Cole\n" + "x-1,main,Ed,Eck,2000-01-01,,,,,\n"
            + "s-2,main,Di,Cole,2016-01-01,,,g-cole,,\n" + "x-1,main,Ed,Eck,2000-01-01,,,,,\n"
            + "s-3,main,Fay,Fox,2017-01-01,,,g-fox,,\n")
    before = _state(flow)
    # In the database's own transaction (the rolled-back kind), two rows a batch: the sibling on line 4 joins the
    # household line 2 created in the batch before; the id line 3 took is refused on line 5.
    dry = import_csv(flow.db, flow.services.clock, IMPORTER, text, batch=2, options=DRY)
    assert _state(flow) == before
    assert (dry.patients_created, dry.households_created, dry.members_added) == (3, 1, 2)
    assert dry.rejected == [
        Rejected("line 5", "patient_id", "patient 'x-1' already exists"),
        Rejected("line 6", "guardian_given_name", "required: there is no household 'g-fox' yet, and a new one is "
                                                  "named after its guardian")]


def test_a_dry_run_of_an_update_says_what_would_change_and_changes_nothing(flow: Any) -> None:
    text = HEADER + "p-jane,main,Janet,Doe,1980-04-01,janet@example.test,02139,,,\n"
    before = _state(flow)
    dry = _csv(flow, text, DRY_UPDATE)
    assert _state(flow) == before  # no correction, no intake event, no enrollment started, no message queued
    assert _without_ids(dry) == [("line 2", "p-jane", ("email", "given_name"))]
    assert dry.summary() == ("dry run, nothing written: would import 0 patient(s), 0 household(s); "
                             "would update 1 patient(s), 0 unchanged; would reject 0 row(s)")
    real = _csv(flow, text, UPDATE)
    assert _without_ids(real) == _without_ids(dry)
    assert (_patient(flow, "p-jane").given_name, _patient(flow, "p-jane").email) == ("Janet", "janet@example.test")


# ----- updating --------------------------------------------------------------------------------------------------


def test_updating_corrects_only_what_changed_and_the_history_says_who_and_from_which_file_and_row(
        flow: Any) -> None:
    text = (HEADER
            + "p-jane,main,Jane,Doe,1980-04-01,jane.doe@example.test,02140,,,\n"  # a new email and zip
            + "p-noemail,main,Nora,Mail,1975-01-02,,02139,,,\n"  # as on file
            + "c-ava,main,,,,,,,,\n"  # blank cells: nothing to correct
            + "n-1,main,Ann,Ames,1990-01-01,,,,,\n")
    events_before = _count(flow, intake_events)
    report = _csv(flow, text, UPDATE)
    assert report.summary() == ("imported 1 patient(s), 0 household(s); updated 1 patient(s), 2 unchanged; "
                                "rejected 0 row(s)")
    assert report.created == [Row("line 5", 5)]
    assert report.unchanged == [Row("line 3", 3), Row("line 4", 4)]
    [jane_row] = report.updated
    assert (jane_row.where, jane_row.patient_id, jane_row.fields) == ("line 2", "p-jane", ("email", "zip"))
    jane = _patient(flow, "p-jane")
    assert (jane.email, jane.zip, jane.given_name) == ("jane.doe@example.test", "02140", "Jane")
    assert jane.email_confirmed_personal is False  # a new address is confirmed again, as after a staff correction
    ava = _patient(flow, "c-ava")
    assert (ava.given_name, ava.birth_date) == ("Ava", date(2018, 6, 1))  # blank cells cleared nothing
    [updated] = [r for r in _history(flow, "p-jane") if r.action == "demographics_updated"]
    assert (updated.actor_id, updated.actor_role, updated.reason) == ("import", "integration",
                                                                      "import of nightly.csv, line 2")
    assert updated.inputs == {"fields": ["email", "zip"]}  # the names, never the values
    assert "jane.doe@example.test" not in str(tuple(updated))
    assert _history(flow, "p-noemail") == []
    assert _history(flow, "c-ava") == []
    assert _count(flow, intake_events) == events_before + 1  # one correction, one event: Jane's


def test_a_changed_required_field_re_triggers_the_invite_as_an_ehr_change_and_the_report_says_so(flow: Any) -> None:
    report = _csv(flow, HEADER + "p-jane,main,Jane,Doe,1980-04-01,jane.doe@example.test,,,,\n", UPDATE)
    [jane] = report.updated
    assert jane.event is not None
    assert jane.event.startswith("acted: nextgen-pxp-portal-invites: started enrollment")
    assert "demographics_changed: not_invited -> invited" in str(jane)
    with flow.db.connect() as conn:
        moved = conn.execute(select(audit_events.c.actor_id, audit_events.c.reason).where(
            (audit_events.c.subject_id == "p-jane") & (audit_events.c.action == "transition"))).one()
    assert moved.actor_id == "import"
    assert moved.reason.endswith(": import of nightly.csv, line 2")


def test_without_update_a_patient_who_exists_is_rejected_untouched_and_counted(flow: Any) -> None:
    report = _csv(flow, HEADER + "p-jane,main,Janet,Doe,,,,,,\n", ImportOptions())
    assert report.rejected == [Rejected("line 2", "patient_id", "patient 'p-jane' already exists")]
    assert report.existing == 1
    assert _patient(flow, "p-jane").given_name == "Jane"


def test_a_corrected_birth_date_moves_the_open_pin_to_the_new_date_as_a_staff_correction_does(flow: Any) -> None:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane"))
    (shown,) = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA)).shown
    text = HEADER + "p-jane,main,Jane,Doe,1980-04-02,,,,,\n"
    assert _without_ids(_csv(flow, text, DRY_UPDATE)) == [("line 2", "p-jane", ("birth_date",))]
    with flow.db.connect() as conn:
        assert conn.execute(select(credentials.c.lookup)).scalar_one() is not None  # the dry run kept the digest
    _csv(flow, text, UPDATE)
    with pytest.raises(CredentialRefused):
        flow.present_pin(PresentPin(str(shown.value), date(1980, 4, 1)))
    assert flow.present_pin(PresentPin(str(shown.value), date(1980, 4, 2))).to_state == "registered"


@pytest.mark.parametrize(("row", "field", "reason"), [
    ("p-jane,elsewhere,Jane,Doe,,,,,,", "site_id",
     "patient 'p-jane' is at another site: an import corrects a patient at their own site and never moves one"),
    ("p-jane,main,Jane,Doe,,not-an-address,,,,", "email", "not an email address"),
    ("p-jane,main,Jane,Doe,2999-01-01,,,,,", "birth_date", "is in the future"),
    ("p-jane,main,Jane,Doe,,jane2@example.test,,g-new,,", "guardian_given_name",
     "required: there is no household 'g-new' yet, and a new one is named after its guardian"),
])
def test_an_update_row_with_a_wrong_value_is_rejected_on_its_field_and_nothing_of_it_is_written(
        flow: Any, row: str, field: str, reason: str) -> None:
    before = _state(flow)
    report = _csv(flow, HEADER + row + "\n", UPDATE)
    assert report.rejected == [Rejected("line 2", field, reason)]
    assert _state(flow) == before


def test_an_unknown_pcp_in_an_update_is_rejected_on_its_column(flow: Any) -> None:
    report = _csv(flow, "patient_id,site_id,pcp_id\np-jane,main,dr-who\np-noemail,main,dr-other\n", UPDATE)
    assert report.rejected == [Rejected("line 2", "pcp_id", "no provider 'dr-who'")]
    assert _without_ids(report) == [("line 3", "p-noemail", ("pcp_id",))]
    assert _patient(flow, "p-noemail").pcp_id == "dr-other"


def test_a_patient_who_exists_joins_the_household_an_update_row_names(flow: Any) -> None:
    report = _csv(flow, HEADER + "p-noemail,main,Nora,Mail,,,,h-lee,,\n", UPDATE)
    assert _without_ids(report) == [("line 2", "p-noemail", ("guardian_id",))]
    with flow.db.connect() as conn:
        assert [c.id for c in load_household(conn, "h-lee").children][-1] == "p-noemail"
    again = _csv(flow, HEADER + "p-noemail,main,Nora,Mail,,,,h-lee,,\n", UPDATE)
    assert again.unchanged == [Row("line 2", 2)]


def test_updating_from_a_fhir_bundle_names_the_changed_fields_as_fhir_does(flow: Any) -> None:
    jane = {"resourceType": "Patient", "id": "p-jane", "managingOrganization": {"reference": "Organization/main"},
            "name": [{"use": "official", "family": "Doe", "given": ["Jane"]}], "birthDate": "1980-04-01",
            "telecom": [{"system": "email", "value": "jane.d@example.test"}],
            "address": [{"use": "home", "postalCode": "02141"}]}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": jane}]}
    report = flow.imports.fhir(IMPORTER, bundle, options=UPDATE)
    assert _without_ids(report) == [("entry[0] (Patient/p-jane)", "p-jane", ("address.postalCode", "telecom(email)"))]
    assert flow.imports.fhir(IMPORTER, bundle, options=UPDATE).details() == ["unchanged: entry 0"]


def test_a_file_name_that_would_break_the_history_s_lines_is_made_printable(flow: Any) -> None:
    options = ImportOptions(update=True, source="import of last\nnight.csv")
    _csv(flow, HEADER + "p-jane,main,Janet,,,,,,,\n", options)
    [updated] = [r for r in _history(flow, "p-jane") if r.action == "demographics_updated"]
    assert updated.reason == "import of last?night.csv, line 2"


# ----- a broken file, and progress -------------------------------------------------------------------------------


def test_a_file_that_stops_being_csv_half_way_is_refused_before_any_row_is_written(flow: Any) -> None:
    text = HEADER + "n-1,main,Ann,Ames,,,,,,\n" + "n-2,main,Bo,Bell,,,,,,\n" + "n-3," + "x" * 200_000 + "\n"
    before = _state(flow)
    with pytest.raises(InvalidInput, match=r"^line 4: not readable as CSV: field larger than field limit"):
        _csv(flow, text, ImportOptions())
    assert _state(flow) == before


class Recorded:
    """A progress that keeps what it was told."""

    def __init__(self) -> None:
        self.total: int | None = -1
        self.rows = 0

    def begin(self, total: int | None) -> None:
        self.total = total

    def advance(self) -> None:
        self.rows += 1


def test_progress_is_told_the_rows_of_the_file_then_each_row_judged_rejected_ones_too(flow: Any) -> None:
    progress = Recorded()
    _csv(flow, "\n" + HEADER + "n-1,main,Ann,Ames,,,,,\n\n,,,,,,,,\nn 2,main,Bo,Bell,,,,,\nn-3,main\n",
         DRY, progress=progress)
    assert (progress.total, progress.rows) == (3, 3)  # blank lines and rows of empty cells are not rows
    fhir = Recorded()
    flow.imports.fhir(IMPORTER, {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient",
                                                                                   "id": "x-1"}}, {}]},
                      site_id="main", progress=fhir)
    assert (fhir.total, fhir.rows) == (2, 2)


def test_an_update_needs_the_intake_its_corrections_go_through(flow: Any) -> None:
    with pytest.raises(ValueError, match="needs the event intake"):
        import_csv(flow.db, flow.services.clock, IMPORTER, HEADER, options=UPDATE)


def test_the_report_lists_places_as_spans_in_the_sources_words() -> None:
    report = ImportReport(created=[Row("line 9", 9), Row("line 2", 2), Row("line 3", 3), Row("line 5", 5)],
                          updated=[Updated("line 4", "p-1", ("email", "zip"), "acted: invited")])
    assert report.details() == ["created: lines 2-3, 5, 9", "line 4: p-1: updated email, zip (acted: invited)"]
    assert ImportReport(unit="entry", unchanged=[Row("entry[0]", 0)]).details() == ["unchanged: entry 0"]
    assert ImportReport(unit="entry").places([Row("a", 0), Row("b", 1)]) == "entries 0-1"


def _count(flow: Any, table: Any) -> int:
    with flow.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
