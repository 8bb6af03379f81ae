"""What staff read about a patient: the patient, the households they belong to, and their enrollments with each
one's business status in its own workflow version's words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from engine.clock import as_utc
from engine.people.finding import households_of
from engine.people.subjects import Patient, load_patient
from engine.storage.tables import enrollments, household_members, portal_accounts
from engine.versions.catalog import WorkflowCatalog


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
    patient = load_patient(conn, patient_id)
    must_change = patient.portal_account_id is not None and bool(conn.execute(
        select(portal_accounts.c.must_change_password).where(portal_accounts.c.id == patient.portal_account_id)
    ).scalar())
    return PatientRecord(patient, tuple(households_of(conn, patient_id)),
                         tuple(find_enrollments(conn, catalog, patient_id=patient_id, limit=100)), must_change)


def find_enrollments(conn: Connection, catalog: WorkflowCatalog, *, patient_id: str | None = None,
                     household_id: str | None = None, workflow_id: str | None = None, state: str | None = None,
                     ids: Sequence[str] | None = None, limit: int = 50) -> list[EnrollmentSummary]:
    """Enrollments matching every filter, newest first; a patient's include its households' enrollments."""
    query = select(enrollments).order_by(enrollments.c.started_at.desc(), enrollments.c.id).limit(limit)
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
    return [EnrollmentSummary(r.id, r.workflow_id, r.workflow_version, r.patient_id, r.household_id, r.state,
                              catalog.get(r.workflow_id, r.workflow_version).state(r.state).status, r.version,
                              as_utc(r.started_at), as_utc(r.updated_at)) for r in conn.execute(query)]
