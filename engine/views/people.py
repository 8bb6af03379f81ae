"""What staff read about a patient: the patient, the households they belong to, and their enrollments with each
one's business status in its own workflow version's words.

A page of patients (a search) is read in four queries whatever its length, never a round of queries per patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.sql.elements import ColumnElement

from engine.clock import as_utc
from engine.errors import NotFound
from engine.people.subjects import Patient
from engine.storage.tables import enrollments, household_members, households, patients, portal_accounts
from engine.versions.catalog import WorkflowCatalog

ENROLLMENTS_SHOWN = 100  # per patient, newest first
_PATIENT_FIELDS = tuple(f.name for f in fields(Patient))


@dataclass(frozen=True, slots=True)
class EnrollmentSummary:
    id: str
    workflow_id: str
    workflow_version: int
    patient_id: str | None
    household_id: str | None
    state: str
    status: str
    version: int
    started_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PatientRecord:
    patient: Patient
    households: tuple[str, ...]
    enrollments: tuple[EnrollmentSummary, ...]
    password_must_change: bool = False  # staff set the portal password; the patient's first login clears it


def patient_record(conn: Connection, catalog: WorkflowCatalog, patient_id: str) -> PatientRecord:
    """The patient, the households they belong to, and their enrollments (newest first); `NotFound` if unknown."""
    found = patient_records(conn, catalog, [patient_id])
    if not found:
        raise NotFound("patient", patient_id)
    return found[0]


def patient_records(conn: Connection, catalog: WorkflowCatalog, patient_ids: Sequence[str]) -> list[PatientRecord]:
    """The records of these patients, in the order given (unknown ids are left out), in four queries."""
    ids = list(dict.fromkeys(patient_ids))
    if not ids:
        return []
    rows = {r.id: r for r in conn.execute(select(patients).where(patients.c.id.in_(ids)))}
    people = [Patient(**{name: rows[i]._mapping[name] for name in _PATIENT_FIELDS}) for i in ids if i in rows]
    memberships: dict[str, list[str]] = {}
    for household_id, patient_id in conn.execute(
            select(household_members.c.household_id, household_members.c.patient_id)
            .where(household_members.c.patient_id.in_(ids)).order_by(household_members.c.household_id)):
        memberships.setdefault(patient_id, []).append(household_id)
    accounts = [p.portal_account_id for p in people if p.portal_account_id]
    must_change = set(conn.execute(select(portal_accounts.c.id).where(
        portal_accounts.c.id.in_(accounts) & portal_accounts.c.must_change_password)).scalars()) if accounts else set()
    theirs = _enrollments_of(conn, catalog, ids, sorted({h for hs in memberships.values() for h in hs}))
    return [PatientRecord(
        p, tuple(memberships.get(p.id, ())),
        tuple(e for e in theirs if e.patient_id == p.id or e.household_id in memberships.get(p.id, ()))[
            :ENROLLMENTS_SHOWN], p.portal_account_id in must_change) for p in people]


def _enrollments_of(conn: Connection, catalog: WorkflowCatalog, patient_ids: list[str],
                    household_ids: list[str]) -> list[EnrollmentSummary]:
    """The patients' own enrollments and their households', newest first."""
    subject: ColumnElement[bool] = enrollments.c.patient_id.in_(patient_ids)
    if household_ids:
        subject = subject | enrollments.c.household_id.in_(household_ids)
    query = select(enrollments).where(subject).order_by(enrollments.c.started_at.desc(), enrollments.c.id)
    return [_summary(catalog, r) for r in conn.execute(query)]


def find_enrollments(conn: Connection, catalog: WorkflowCatalog, *, patient_id: str | None = None,
                     household_id: str | None = None, workflow_id: str | None = None, state: str | None = None,
                     ids: Sequence[str] | None = None, limit: int = 50,
                     sites: frozenset[str] | None) -> list[EnrollmentSummary]:
    """Enrollments matching every filter, newest first; a patient's include its households' enrollments; only
    those whose subject is at `sites` when given (the viewer's walls)."""
    query = select(enrollments).order_by(enrollments.c.started_at.desc(), enrollments.c.id).limit(limit)
    if sites is not None:
        at = sorted(sites)
        query = query.where(enrollments.c.patient_id.in_(select(patients.c.id).where(patients.c.site_id.in_(at)))
                            | enrollments.c.household_id.in_(
                                select(households.c.id).where(households.c.site_id.in_(at))))
    if patient_id:
        query = query.where((enrollments.c.patient_id == patient_id) | enrollments.c.household_id.in_(
            select(household_members.c.household_id).where(household_members.c.patient_id == patient_id)))
    if household_id:
        query = query.where(enrollments.c.household_id == household_id)
    if workflow_id:
        query = query.where(enrollments.c.workflow_id == workflow_id)
    if state:
        query = query.where(enrollments.c.state == state)
    if ids is not None:
        query = query.where(enrollments.c.id.in_(list(ids)))
    return [_summary(catalog, r) for r in conn.execute(query)]


def _summary(catalog: WorkflowCatalog, r: Any) -> EnrollmentSummary:
    return EnrollmentSummary(r.id, r.workflow_id, r.workflow_version, r.patient_id, r.household_id, r.state,
                             catalog.get(r.workflow_id, r.workflow_version).state(r.state).status, r.version,
                             as_utc(r.started_at), as_utc(r.updated_at))
