"""Audit history exports for auditors: CSV for spreadsheets, JSON Lines for tools, FHIR R4 AuditEvent NDJSON.

Each exporter takes any iterable of `AuditRecord`s (e.g. `engine.audit.reading.iter_history`) and yields one
chunk per record (the CSV header first), so an export of any size streams without being held in memory.
They print only what the audit rows hold, and those never hold a PIN, token or password (`engine.audit.entry.redact`).

Times are written as `2026-03-02T14:00:00.000000Z`, the very text each row's hash covers, and the JSON Lines
export carries every hashed field unchanged: an auditor can recompute each hash and check the chains from the file
alone. The CSV export is for reading, not verifying: its formula guard prefixes some cells with an apostrophe.

FHIR mapping choices (R4 AuditEvent):
- type: DICOM 110110 "Patient Record" when the row concerns a patient (its subject is a patient or household, or
  it belongs to an enrollment, which always has one), else DICOM 110100 "Application Activity". Not the FHIR
  "rest" code: that one means a FHIR RESTful interaction, and these rows record workflow steps.
- subtype: the PortalFlow action under `urn:portalflow:audit-action`; action: C for starts and creations, U for
  transitions, steps and updates, E for everything else (messages, timers).
- outcome: ok 0 (success), refused 4 (minor failure), failed 8 (serious failure); outcomeDesc the row's detail.
- agent: the acting user or system with its role; requestor is true only for people (not system, integration
  or portal actors, which act on a rule or on someone else's behalf).
- entity: the subject (Patient/<id>, or the household as Group/<id>), and the enrollment (or, outside one, the
  record itself) carrying the row's chain, seq, hashes, states, trigger, reason and inputs as detail strings.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from engine.audit.reading import RECORD_FIELDS, AuditRecord

Exporter = Callable[[Iterable[AuditRecord]], Iterator[str]]

_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list: what spreadsheets read as a formula
_FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# str.splitlines() and some readers break lines here; json.dumps leaves them raw when ensure_ascii is off.
_LINE_BREAKERS: Final = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}

DCM: Final = "http://dicom.nema.org/resources/ontology/DCM"
ACTION_SYSTEM: Final = "urn:portalflow:audit-action"
ROLE_SYSTEM: Final = "urn:portalflow:actor-role"
ACTOR_SYSTEM: Final = "urn:portalflow:actor"
ENROLLMENT_SYSTEM: Final = "urn:portalflow:enrollment"
NOT_REQUESTORS: Final = frozenset({"system", "integration", "portal"})
FHIR_OUTCOMES: Final = {"ok": "0", "refused": "4", "failed": "8"}

_PATIENT_RECORD: Final = {"system": DCM, "code": "110110", "display": "Patient Record"}
_APPLICATION_ACTIVITY: Final = {"system": DCM, "code": "110100", "display": "Application Activity"}
_HUMAN_USER: Final = {"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                      "code": "humanuser", "display": "human user"}
_APPLICATION: Final = {"system": DCM, "code": "110150", "display": "Application"}
_SOURCE: Final = {"observer": {"display": "PortalFlow"}, "type": [{
    "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4",
    "display": "Application Server"}]}
_ENTITY_TYPE: Final = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE: Final = "http://terminology.hl7.org/CodeSystem/object-role"
_PERSON: Final = {"system": _ENTITY_TYPE, "code": "1", "display": "Person"}
_SYSTEM_OBJECT: Final = {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"}
_OTHER: Final = {"system": _ENTITY_TYPE, "code": "4", "display": "Other"}
_GROUP: Final = {"system": "http://hl7.org/fhir/resource-types", "code": "Group", "display": "Group"}
_PATIENT_ROLE: Final = {"system": _OBJECT_ROLE, "code": "1", "display": "Patient"}
_JOB_ROLE: Final = {"system": _OBJECT_ROLE, "code": "20", "display": "Job"}
_RECORD_DETAILS: Final = ("chain", "seq", "hash", "prev_hash", "from_state", "to_state", "trigger", "reason")


class ExportFormat(NamedTuple):
    render: Exporter
    media_type: str


def utc_text(at: datetime) -> str:
    """An instant as ISO 8601 UTC with microseconds and Z: the form `engine.audit.entry.canonical` hashes."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# ----- CSV -----------------------------------------------------------------------------------------------------

def to_csv(records: Iterable[AuditRecord]) -> Iterator[str]:
    """A header line, then one RFC 4180 line per record (CRLF, quoted where needed); `inputs` as compact JSON.

    A cell starting with =, +, -, @, tab or CR gets a leading apostrophe: auditors open these files in
    spreadsheets, and such a cell would otherwise run as a formula (CSV injection).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[str]) -> str:
        writer.writerow([_defused(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(RECORD_FIELDS)
    for record in records:
        yield line([_csv_cell(name, getattr(record, name)) for name in RECORD_FIELDS])


def _csv_cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc_text(value)
    if name == "inputs":
        return _compact_json(value)
    return str(value)


def _defused(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


# ----- JSON Lines ----------------------------------------------------------------------------------------------

def to_jsonl(records: Iterable[AuditRecord]) -> Iterator[str]:
    """One JSON object per line, every field of the row, times as UTC with Z."""
    for record in records:
        plain: dict[str, object] = {name: getattr(record, name) for name in RECORD_FIELDS}
        plain["at"] = utc_text(record.at)
        yield _json_line(plain)


# ----- FHIR R4 AuditEvent NDJSON -------------------------------------------------------------------------------

def to_fhir_ndjson(records: Iterable[AuditRecord]) -> Iterator[str]:
    """One FHIR R4 AuditEvent resource per line (FHIR Bulk Data's NDJSON)."""
    for record in records:
        yield _json_line(_audit_event(record))


def _audit_event(record: AuditRecord) -> dict[str, Any]:
    """The record as a FHIR R4 AuditEvent resource (a JSON-ready dict with no empty elements)."""
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"pf-{record.id}",
        "type": _PATIENT_RECORD if _concerns_a_patient(record) else _APPLICATION_ACTIVITY,
        "subtype": [{"system": ACTION_SYSTEM, "code": record.action}],
        "action": _fhir_action(record.action),
        "recorded": utc_text(record.at),
        # Only ok/refused/failed are ever written; an export must not stop at a row edited to something else
        # (verify is what finds that), so anything unknown reads as a serious failure.
        "outcome": FHIR_OUTCOMES.get(record.outcome, "8"),
    }
    description = record.detail or record.reason
    if description:
        resource["outcomeDesc"] = description
    resource["agent"] = [_agent(record)]
    resource["source"] = _SOURCE
    resource["entity"] = _entities(record)
    return resource


def _concerns_a_patient(record: AuditRecord) -> bool:
    return record.enrollment_id is not None or record.subject_type in ("patient", "household")


def _fhir_action(action: str) -> str:
    if action == "enrollment_started" or action.endswith("_created"):
        return "C"
    if action in ("transition", "step_completed", "migrated") or action.endswith("_updated"):
        return "U"
    return "E"


def _agent(record: AuditRecord) -> dict[str, Any]:
    person = record.actor_role not in NOT_REQUESTORS
    return {
        "type": {"coding": [_HUMAN_USER if person else _APPLICATION]},
        "role": [{"coding": [{"system": ROLE_SYSTEM, "code": record.actor_role}], "text": record.actor_role}],
        "who": {"identifier": {"system": ACTOR_SYSTEM, "value": record.actor_id},
                "display": f"{record.actor_id} ({record.actor_role})"},
        "requestor": person,
    }


def _entities(record: AuditRecord) -> list[dict[str, Any]]:
    """The subject, then the enrollment; outside an enrollment the row's own facts ride on the subject."""
    subject = _subject_entity(record)
    if record.enrollment_id is not None:
        holder: dict[str, Any] = {"what": _what(None, ENROLLMENT_SYSTEM, record.enrollment_id),
                                  "type": _SYSTEM_OBJECT, "role": _JOB_ROLE}
        entities = [subject, holder] if subject is not None else [holder]
    elif subject is not None:
        holder = subject
        entities = [subject]
    else:
        holder = {"what": {"identifier": {"system": "urn:portalflow:audit-chain", "value": record.chain}},
                  "type": _SYSTEM_OBJECT}
        entities = [holder]
    holder["detail"] = _details(record)
    return entities


def _subject_entity(record: AuditRecord) -> dict[str, Any] | None:
    kind, ident = record.subject_type, record.subject_id
    if kind is None or ident is None or kind == "enrollment":  # an enrollment subject is the enrollment entity
        return None
    if kind == "patient":
        return {"what": _what("Patient", "urn:portalflow:patient", ident), "type": _PERSON, "role": _PATIENT_ROLE}
    if kind == "household":
        return {"what": _what("Group", "urn:portalflow:household", ident), "type": _GROUP}
    return {"what": _what(None, f"urn:portalflow:{kind}", ident), "type": _OTHER}


def _what(resource_type: str | None, system: str, ident: str) -> dict[str, Any]:
    """PortalFlow's identifier, plus a literal reference (e.g. Patient/p-1) where the id is a valid FHIR id."""
    what: dict[str, Any] = {"identifier": {"system": system, "value": ident}}
    if resource_type is not None and _FHIR_ID.fullmatch(ident):
        what["reference"] = f"{resource_type}/{ident}"
    return what


def _details(record: AuditRecord) -> list[dict[str, str]]:
    # FHIR forbids empty strings, so absent or empty values are left out rather than written as "".
    values = {name: getattr(record, name) for name in _RECORD_DETAILS}
    if record.inputs is not None:
        values["inputs"] = _compact_json(record.inputs)
    return [{"type": name, "valueString": str(value)} for name, value in values.items()
            if value is not None and str(value) != ""]


# ----- shared --------------------------------------------------------------------------------------------------

def _compact_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _json_line(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _LINE_BREAKERS.items():
        text = text.replace(raw, escaped)  # only ever inside strings: json.dumps writes no such character outside
    return text + "\n"


FORMATS: Final[dict[str, ExportFormat]] = {
    "csv": ExportFormat(to_csv, "text/csv"),
    # No registered type exists for JSON Lines; application/x-ndjson is the one tools and proxies know.
    "jsonl": ExportFormat(to_jsonl, "application/x-ndjson"),
    "fhir": ExportFormat(to_fhir_ndjson, "application/fhir+ndjson"),
}
