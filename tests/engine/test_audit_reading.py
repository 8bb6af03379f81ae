"""Auditors read the history of a patient, an enrollment, a household or a staff user, and export it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.export import FORMATS, to_csv, to_fhir_ndjson, to_jsonl
from engine.audit.reading import (
    RECORD_FIELDS,
    AuditRecord,
    HistoryQuery,
    find_history,
    iter_history,
    stream_history,
)
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.intake import IntakeEvent
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.errors import InvalidInput, Refused

ANA = ActorRef("ana", "staff", Actor.STAFF)
BOB = ActorRef("bob", "staff", Actor.STAFF)
DAY = timedelta(days=1)
FORMULA = '=HYPERLINK("http://evil.example.test","open me")'
SIBLING_STEPS: dict[str, Any] = {
    "select_children": ["c-ava", "c-cal"], "open_first_child": "patient_administration",
    "first_child_send_pin": True, "complete_first_child": True, "begin_next_sibling": True,
    "sibling_do_not_send_pin": True, "print_sibling_pins": True, "complete_siblings": True,
}


@dataclass
class History:
    """Three days of real use: Jane gets a PIN; Bob is refused for Nora; the Lee children get PINs."""

    start: datetime
    jane: str = ""
    nora: str = ""
    lee: str = ""
    pins: list[str] = field(default_factory=list)


@pytest.fixture
def history(flow: Any, clock: Any) -> History:
    made = History(clock.now())
    made.jane = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id="p-jane")).enrollment_id
    made.pins += [s.value for s in flow.advance(AdvanceEnrollment(made.jane, "generate_pin", ANA)).shown]
    clock.advance(DAY)
    made.nora = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", BOB,
                                           patient_id="p-noemail")).enrollment_id
    with pytest.raises(Refused):
        flow.advance(AdvanceEnrollment(made.nora, "generate_pin", BOB, reason=FORMULA))
    flow.receive(IntakeEvent("ehr-1", "demographics_changed", "p-jane", changes={"cell_phone": "+1 617 555 0199"},
                             source="ehr"))
    clock.advance(DAY)
    made.lee = flow.start(StartEnrollment("intellichart-pins-for-siblings", ANA, household_id="h-lee")).enrollment_id
    shown = flow.advance(AdvanceEnrollment(made.lee, "generate_sibling_pins", ANA, inputs=SIBLING_STEPS)).shown
    made.pins += [s.value for s in shown]
    flow.present_pin(PresentPin(shown[0].value, date(2018, 6, 1)))
    assert len(made.pins) == 3
    return made


def find(flow: Any, **criteria: Any) -> list[AuditRecord]:
    with flow.db.connect() as conn:
        return find_history(conn, HistoryQuery(**criteria))


def everything(flow: Any) -> list[AuditRecord]:
    return find(flow, limit=1000)


def steps(records: list[AuditRecord]) -> list[tuple[str, str, str, str | None]]:
    return [(r.actor_id, r.action, r.outcome, r.to_state) for r in records]


# ----- reading ---------------------------------------------------------------------------------------------------

def test_an_enrollments_history_is_its_rows_in_order_with_utc_times_and_intact_hashes(
    flow: Any, history: History
) -> None:
    rows = find(flow, enrollment_id=history.lee)
    assert steps(rows) == [("ana", "enrollment_started", "ok", "not_registered"),
                           ("ana", "transition", "ok", "pending_registration"),
                           ("portal", "transition", "ok", "partially_registered")]
    assert [r.seq for r in rows] == [1, 2, 3]
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert all(r.at == history.start + 2 * DAY and r.at.utcoffset() == timedelta(0) for r in rows)
    assert rows[1].inputs == SIBLING_STEPS


def test_a_patients_history_has_their_enrollments_and_the_rows_about_them_but_no_one_elses(
    flow: Any, history: History
) -> None:
    rows = find(flow, patient_id="p-jane")
    assert steps(rows) == [("ana", "enrollment_started", "ok", "not_enrolled"),
                           ("ana", "transition", "ok", "pending_registration"),
                           ("ehr", "demographics_updated", "ok", None)]
    assert {r.enrollment_id for r in rows} == {history.jane, None}
    assert {r.enrollment_id for r in find(flow, patient_id="p-noemail")} == {history.nora}


def test_a_childs_history_includes_the_enrollments_of_the_household_it_belongs_to(
    flow: Any, history: History
) -> None:
    ava = find(flow, patient_id="c-ava")
    assert [r.id for r in ava] == [r.id for r in find(flow, enrollment_id=history.lee)]
    assert [r.id for r in find(flow, household_id="h-lee")] == [r.id for r in ava]
    # A member left out of the selection still sees it: that the child was left out is part of its history.
    assert [r.id for r in find(flow, patient_id="c-ben")] == [r.id for r in ava]
    assert find(flow, patient_id="p-somebody-else") == []


def test_a_staff_users_history_is_what_they_did_and_nothing_done_by_others(flow: Any, history: History) -> None:
    assert steps(find(flow, actor_id="bob")) == [("bob", "enrollment_started", "ok", "not_enrolled"),
                                                 ("bob", "transition", "refused", None)]
    ana = find(flow, actor_id="ana")
    assert {r.actor_id for r in ana} == {"ana"}
    assert {r.enrollment_id for r in ana} == {history.jane, history.lee}
    assert len(ana) == 4


def test_a_time_range_includes_its_start_and_excludes_its_end_in_any_time_zone(flow: Any, history: History) -> None:
    day_two = find(flow, since=history.start + DAY, until=history.start + 2 * DAY)
    assert steps(day_two) == [("bob", "enrollment_started", "ok", "not_enrolled"),
                              ("bob", "transition", "refused", None),
                              ("ehr", "demographics_updated", "ok", None)]
    new_york = ZoneInfo("America/New_York")
    local = find(flow, since=(history.start + DAY).astimezone(new_york),
                 until=(history.start + 2 * DAY).astimezone(new_york))
    assert [r.id for r in local] == [r.id for r in day_two]
    assert {r.enrollment_id for r in find(flow, until=history.start + DAY)} == {history.jane}
    assert {r.enrollment_id for r in find(flow, since=history.start + 2 * DAY)} == {history.lee}


def test_filters_on_action_and_outcome_combine_with_the_others(flow: Any, history: History) -> None:
    (refused,) = find(flow, outcome="refused")
    assert (refused.enrollment_id, refused.reason, refused.detail) == (
        history.nora, FORMULA, "refused: email address is missing")
    assert len(find(flow, action="enrollment_started")) == 3
    (started,) = find(flow, action="enrollment_started", patient_id="p-jane")
    assert started.enrollment_id == history.jane
    assert find(flow, action="transition", outcome="refused", actor_id="ana") == []


def test_pages_follow_the_cursor_and_iterating_returns_everything_across_pages(flow: Any, history: History) -> None:
    every = everything(flow)
    assert len(every) == 8
    seen: list[AuditRecord] = []
    after = 0
    while page := find(flow, after_id=after, limit=3):
        assert len(page) <= 3
        seen += page
        after = page[-1].id
    assert seen == every
    assert [r.id for r in every] == sorted(r.id for r in every)
    ava = find(flow, patient_id="c-ava")
    with flow.db.connect() as conn:
        assert list(iter_history(conn, HistoryQuery(limit=1), page_size=2)) == every
        assert list(iter_history(conn, HistoryQuery(patient_id="c-ava"), page_size=1)) == ava
        assert list(iter_history(conn, HistoryQuery(after_id=every[5].id))) == every[6:]
    assert list(stream_history(flow.db, HistoryQuery(limit=1), page_size=3)) == every


def test_streaming_holds_no_lock_between_pages_so_staff_keep_working_during_an_export(
    flow: Any, history: History
) -> None:
    before = everything(flow)
    stream = stream_history(flow.db, HistoryQuery(), page_size=2)
    first_page = [next(stream), next(stream)]
    later = flow.start(StartEnrollment("nextgen-pxp-portal-invites", ANA, patient_id="p-jane"))
    rest = list(stream)
    assert first_page + rest[:len(before) - 2] == before
    assert [r.enrollment_id for r in rest[len(before) - 2:]] == [later.enrollment_id]


@pytest.mark.parametrize(("criteria", "field_name"), [
    ({"since": datetime(2026, 3, 3, tzinfo=UTC), "until": datetime(2026, 3, 3, tzinfo=UTC)}, "since"),
    ({"since": datetime(2026, 3, 4, tzinfo=UTC), "until": datetime(2026, 3, 3, tzinfo=UTC)}, "since"),
    ({"since": datetime(2026, 3, 3)}, "since"),
    ({"until": datetime(2026, 3, 3)}, "until"),
    ({"limit": 0}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"after_id": -1}, "after_id"),
    ({"outcome": "denied"}, "outcome"),
])
def test_a_malformed_question_is_refused_naming_the_field(
    flow: Any, criteria: dict[str, Any], field_name: str
) -> None:
    with flow.db.connect() as conn:
        with pytest.raises(InvalidInput) as refused:
            find_history(conn, HistoryQuery(**criteria))
        assert refused.value.field == field_name
        if field_name != "limit":  # iterating ignores the limit, and says so before the first row is asked for
            with pytest.raises(InvalidInput) as again:
                iter_history(conn, HistoryQuery(**criteria))
            assert again.value.field == field_name
        with pytest.raises(InvalidInput) as page:
            stream_history(flow.db, HistoryQuery(), page_size=1001)
        assert page.value.field == "page_size"


# ----- exports ---------------------------------------------------------------------------------------------------

def test_the_csv_export_parses_back_row_for_row_and_defuses_spreadsheet_formulas(
    flow: Any, history: History
) -> None:
    every = everything(flow)
    chunks = list(to_csv(iter(every)))
    assert len(chunks) == len(every) + 1
    assert all(c.endswith("\r\n") for c in chunks)
    header, *rows = list(csv.reader(io.StringIO("".join(chunks), newline="")))
    assert tuple(header) == RECORD_FIELDS
    parsed = [dict(zip(header, row, strict=True)) for row in rows]
    assert [int(p["id"]) for p in parsed] == [r.id for r in every]
    refused = next(p for p in parsed if p["outcome"] == "refused")
    assert refused["reason"] == "'" + FORMULA
    assert refused["detail"] == "refused: email address is missing"
    sibling = next(p for p in parsed if p["trigger"] == "generate_sibling_pins")
    assert json.loads(sibling["inputs"]) == SIBLING_STEPS
    assert parsed[0]["at"] == "2026-03-02T14:00:00.000000Z"
    assert all(p["hash"] == r.hash for p, r in zip(parsed, every, strict=True))


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_every_csv_cell_that_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    record = _record(detail=text, reason="plain", actor_id=text)
    (_, line) = to_csv([record])
    (row,) = csv.reader(io.StringIO(line, newline=""))
    cells = dict(zip(RECORD_FIELDS, row, strict=True))
    assert (cells["detail"], cells["actor_id"], cells["reason"]) == ("'" + text, "'" + text, "plain")


def test_a_json_lines_export_carries_everything_needed_to_recompute_each_hash(flow: Any, history: History) -> None:
    every = everything(flow)
    lines = list(to_jsonl(every))
    assert len(lines) == len(every)
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    for line, record in zip(lines, every, strict=True):
        row = json.loads(line)
        assert (row["id"], row["chain"], row["seq"], row["inputs"]) == (
            record.id, record.chain, record.seq, record.inputs)
        assert row["at"].endswith("Z")
        assert datetime.fromisoformat(row["at"]) == record.at
        content = {k: v for k, v in row.items() if k not in ("id", "hash", "prev_hash")}
        hashed = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert hashlib.sha256(row["prev_hash"].encode() + b"\n" + hashed).hexdigest() == row["hash"]


def test_a_json_line_stays_one_line_whatever_separator_a_text_holds() -> None:
    (line,) = to_jsonl([_record(detail="one\u2028two\nthree\x85four")])
    assert line.splitlines() == [line.rstrip("\n")]
    assert json.loads(line)["detail"] == "one\u2028two\nthree\x85four"


def test_each_fhir_line_is_an_r4_audit_event_with_its_required_elements(flow: Any, history: History) -> None:
    every = everything(flow)
    events = [json.loads(line) for line in to_fhir_ndjson(every)]
    assert len(events) == len(every)
    for event, record in zip(events, every, strict=True):
        assert (event["resourceType"], event["id"]) == ("AuditEvent", f"pf-{record.id}")
        assert event["type"]["system"] == "http://dicom.nema.org/resources/ontology/DCM"
        assert event["type"]["code"] == "110110"  # every row here concerns a patient
        assert event["subtype"] == [{"system": "urn:portalflow:audit-action", "code": record.action}]
        assert event["recorded"].endswith("Z")
        assert datetime.fromisoformat(event["recorded"]) == record.at
        (agent,) = event["agent"]
        assert agent["who"]["identifier"]["value"] == record.actor_id
        assert agent["requestor"] is (record.actor_role == "staff")
        assert event["source"]["observer"] == {"display": "PortalFlow"}
        assert event["source"]["type"][0]["code"] == "4"
        _assert_no_empty_values(event)
    by_id = {e["id"]: e for e in events}
    refused = next(r for r in every if r.outcome == "refused")
    assert (by_id[f"pf-{refused.id}"]["outcome"], by_id[f"pf-{refused.id}"]["outcomeDesc"]) == (
        "4", "refused: email address is missing")
    assert {e["outcome"] for e in events if e["id"] != f"pf-{refused.id}"} == {"0"}
    assert [e["action"] for e in events[:2]] == ["C", "U"]
    assert by_id[f"pf-{every[4].id}"]["action"] == "U"  # demographics_updated
    assert by_id[f"pf-{every[4].id}"]["agent"][0]["requestor"] is False  # the EHR integration


def test_fhir_entities_name_the_subject_and_the_enrollment_with_its_chain_position(
    flow: Any, history: History
) -> None:
    events = {json.loads(line)["id"]: json.loads(line) for line in to_fhir_ndjson(everything(flow))}
    household_row = find(flow, enrollment_id=history.lee)[1]
    subject, enrollment = events[f"pf-{household_row.id}"]["entity"]
    assert subject["what"] == {"reference": "Group/h-lee",
                               "identifier": {"system": "urn:portalflow:household", "value": "h-lee"}}
    assert enrollment["what"]["identifier"]["value"] == history.lee
    details = {d["type"]: d["valueString"] for d in enrollment["detail"]}
    assert details["chain"] == history.lee
    assert details["seq"] == "2"
    assert details["hash"] == household_row.hash
    assert (details["from_state"], details["to_state"]) == ("not_registered", "pending_registration")
    assert details["trigger"] == "generate_sibling_pins"
    assert json.loads(details["inputs"]) == SIBLING_STEPS
    (update,) = find(flow, action="demographics_updated")
    (patient,) = events[f"pf-{update.id}"]["entity"]
    assert patient["what"]["reference"] == "Patient/p-jane"
    assert {d["type"]: d["valueString"] for d in patient["detail"]}["chain"] == "patient:p-jane"


def test_fhir_maps_a_failure_and_a_row_about_no_patient() -> None:
    failed = json.loads(next(to_fhir_ndjson([_record(outcome="failed", action="message_failed")])))
    assert (failed["outcome"], failed["action"], failed["type"]["code"]) == ("8", "E", "110110")
    system = json.loads(next(to_fhir_ndjson([_record(
        chain="global", enrollment_id=None, subject_type=None, subject_id=None, actor_id="system",
        actor_role="system", action="schedule_created")])))
    assert (system["type"]["code"], system["action"], system["agent"][0]["requestor"]) == ("110100", "C", False)
    (entity,) = system["entity"]
    assert entity["what"]["identifier"] == {"system": "urn:portalflow:audit-chain", "value": "global"}


def test_no_pin_appears_in_any_export(flow: Any, history: History) -> None:
    with flow.db.connect() as conn:
        exports = {name: "".join(fmt.render(iter_history(conn, HistoryQuery()))) for name, fmt in FORMATS.items()}
    assert set(exports) == {"csv", "jsonl", "fhir"}
    for text in exports.values():
        assert history.lee in text
        for pin in history.pins:
            assert pin not in text
            assert pin.replace("-", "") not in text


def test_each_format_names_its_media_type() -> None:
    assert {name: fmt.media_type for name, fmt in FORMATS.items()} == {
        "csv": "text/csv", "jsonl": "application/x-ndjson", "fhir": "application/fhir+ndjson"}
    assert (FORMATS["csv"].render, FORMATS["jsonl"].render, FORMATS["fhir"].render) == (
        to_csv, to_jsonl, to_fhir_ndjson)


def _record(**changes: Any) -> AuditRecord:
    base = AuditRecord(
        id=7, chain="e-1", seq=2, at=datetime(2026, 3, 2, 14, 0, tzinfo=UTC), actor_id="ana", actor_role="staff",
        action="transition", outcome="ok", subject_type="patient", subject_id="p-jane", enrollment_id="e-1",
        from_state="a", to_state="b", trigger="go", inputs=None, reason=None, detail=None, hash="f" * 64,
        prev_hash="e" * 64)
    return replace(base, **changes)


def _assert_no_empty_values(value: object) -> None:
    """FHIR JSON has no nulls, empty strings, objects or arrays."""
    assert value is not None
    assert value not in ("", [], {})
    if isinstance(value, dict):
        for item in value.values():
            _assert_no_empty_values(item)
    elif isinstance(value, list):
        for item in value:
            _assert_no_empty_values(item)
