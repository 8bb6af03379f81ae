"""Importing patients and guardians over HTTP: the shipped samples import, bad rows are named, the rest goes in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def test_the_shipped_csv_sample_imports_and_a_second_run_rejects_every_row_as_existing(api: Any) -> None:
    body = (SAMPLES / "patients.csv").read_bytes()
    first = api.client.post("/imports/patients", headers={**api.as_("root"), "Content-Type": "text/csv"},
                            content=body)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["rejected"] == []
    assert report["patients_created"] == len(body.decode().strip().splitlines()) - 1
    assert report["households_created"] >= 1
    again = api.client.post("/imports/patients", headers={**api.as_("ehr"), "Content-Type": "text/csv"},
                            content=body).json()
    assert again["patients_created"] == 0
    assert {r["reason"].split("'")[0] for r in again["rejected"]} == {"patient "}
    assert len(again["rejected"]) == report["patients_created"]


def test_the_shipped_fhir_bundle_imports(api: Any) -> None:
    response = api.client.post("/imports/patients", headers={**api.as_("root"),
                                                             "Content-Type": "application/fhir+json"},
                               content=(SAMPLES / "patients.fhir.json").read_bytes())
    assert response.status_code == 200, response.text
    assert response.json()["patients_created"] > 0
    assert response.json()["rejected"] == []


def test_a_bad_row_is_reported_with_its_line_and_field_and_the_rest_import(api: Any) -> None:
    csv_text = ("patient_id,site_id,given_name,family_name,birth_date\n"
                "n-1,main,Ann,One,1990-01-01\n"
                "n-2,main,Bad,Date,01/02/1990\n"
                "n-3,main,Cy,Three,1991-02-03\n")
    response = api.client.post("/imports/patients", headers={**api.as_("root"), "Content-Type": "text/csv"},
                               content=csv_text)
    report = response.json()
    assert report["patients_created"] == 2
    [rejected] = report["rejected"]
    assert rejected["where"] == "line 3"
    assert rejected["field"] == "birth_date"
    assert api.client.get("/patients/n-3", headers=api.as_("ana")).status_code == 200
    assert api.client.get("/patients/n-2", headers=api.as_("ana")).status_code == 404


def test_an_import_needs_a_known_format_and_the_right_role(api: Any) -> None:
    wrong_type = api.client.post("/imports/patients", headers={**api.as_("root"), "Content-Type": "text/plain"},
                                 content=b"x")
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["field"] == "header.Content-Type"
    not_json = api.client.post("/imports/patients", headers={**api.as_("root"),
                                                             "Content-Type": "application/fhir+json"}, content=b"{")
    assert not_json.status_code == 422
    assert not_json.json()["error"]["field"] == "body"
    not_bundle = api.client.post("/imports/patients", headers=api.as_("root"), json={"resourceType": "Patient"})
    assert not_bundle.status_code == 422
    assert not_bundle.json()["error"]["field"] == "resourceType"
    staff = api.client.post("/imports/patients", headers={**api.as_("ana"), "Content-Type": "text/csv"},
                            content=b"patient_id\n")
    assert staff.status_code == 403


def test_a_dry_run_answers_the_import_s_report_and_writes_nothing_and_update_corrects(api: Any) -> None:
    csv_text = ("patient_id,site_id,given_name,family_name,birth_date,email\n"
                "p-jane,main,Jane,Doe,1980-04-01,jane.doe@example.test\n"
                "p-noemail,main,Nora,Mail,1975-01-02,\n"
                "n-1,main,Ann,One,1990-01-01,\n")
    headers = {**api.as_("root"), "Content-Type": "text/csv"}
    dry = api.client.post("/imports/patients?dry_run=true&update=true", headers=headers, content=csv_text)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["dry_run"], report["patients_created"], report["patients_updated"]) == (True, 1, 1)
    assert report["summary"].startswith("dry run, nothing written: would import 1 patient(s)")
    assert (report["created"], report["unchanged"]) == (["line 4"], ["line 3"])
    [jane] = report["updated"]
    assert (jane["where"], jane["patient_id"], jane["fields"]) == ("line 2", "p-jane", ["email"])
    assert api.client.get("/patients/n-1", headers=api.as_("ana")).status_code == 404
    assert api.client.get("/patients/p-jane", headers=api.as_("ana")).json()["email"] == "jane@example.test"

    plain = api.client.post("/imports/patients", headers=headers, content=csv_text).json()
    assert (plain["dry_run"], plain["patients_created"], plain["existing"]) == (False, 1, 2)
    done = api.client.post("/imports/patients?update=true", headers=headers, content=csv_text).json()
    assert (done["patients_updated"], done["unchanged"], done["rejected"]) == (1, ["line 3", "line 4"], [])
    assert api.client.get("/patients/p-jane", headers=api.as_("ana")).json()["email"] == "jane.doe@example.test"
