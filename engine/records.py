"""Find and read patients, households and enrollments for staff, and change a patient's non-demographic fields.

Demographic fields (names, birth date, birth sex, zip, email, cell phone) change through event intake, so a change
to a field the invite workflow requires re-triggers it as an EHR change would (`engine.intake`). The fields here
are the practice's own: the PCP, the responsible provider, "email confirmed correct and personal", and whether
the name is a newborn's placeholder. Each change is audited with the names of the fields, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from engine import audit
from engine.clock import as_utc
from engine.context import ActorRef
from engine.errors import InvalidInput, NotFound
from engine.storage.tables import enrollments, household_members, households, patients, providers

PRACTICE_FIELDS = ("pcp_id", "responsible_provider_id", "email_confirmed_personal", "name_is_placeholder")


@dataclass(frozen=True, slots=True)
class EnrollmentSummary:
    id: str
    workflow_id: str
    workflow_version: int
    patient_id: str | None
    household_id: str | None
    state: str
    version: int
    started_at: datetime
    updated_at: datetime


def check_practice_fields(conn: Connection, changes: dict[str, Any]) -> None:
    """`InvalidInput` naming the first field that is not one of ours or has a wrong value; writes nothing."""
    for name, value in changes.items():
        if name not in PRACTICE_FIELDS:
            raise InvalidInput(name, f"not one of {', '.join(PRACTICE_FIELDS)}")
        if name.endswith("_id") and value is not None and conn.execute(
                select(providers.c.id).where(providers.c.id == value)).first() is None:
            raise InvalidInput(name, f"no provider '{value}'")
        if not name.endswith("_id") and not isinstance(value, bool):
            raise InvalidInput(name, "true or false")


def update_practice_fields(conn: Connection, now: datetime, actor: ActorRef, patient_id: str,
                           changes: dict[str, Any]) -> list[str]:
    """Apply the practice's own fields; returns the names that really changed."""
    check_practice_fields(conn, changes)
    row = conn.execute(select(*[patients.c[n] for n in PRACTICE_FIELDS]).where(patients.c.id == patient_id)
                       .with_for_update()).first()
    if row is None:
        raise NotFound("patient", patient_id)
    changed = {n: v for n, v in changes.items() if row._mapping[n] != v}
    if changed:
        conn.execute(update(patients).where(patients.c.id == patient_id).values(**changed))
        audit.append_standalone(conn, audit.AuditEntry(
            chain=audit.chain_key(subject_type="patient", subject_id=patient_id), at=now, actor_id=actor.id,
            actor_role=actor.role, action="patient_updated", outcome="ok", subject_type="patient",
            subject_id=patient_id, inputs={"fields": sorted(changed)}))
    return sorted(changed)


def find_patients(conn: Connection, *, site_id: str | None = None, family_name: str | None = None,
                  given_name: str | None = None, birth_date: date | None = None, limit: int = 50,
                  after: str | None = None) -> list[str]:
    """Patient ids matching every filter given (names case-insensitively, by prefix), in id order."""
    query = select(patients.c.id).order_by(patients.c.id).limit(limit)
    if site_id:
        query = query.where(patients.c.site_id == site_id)
    if family_name:
        query = query.where(func.lower(patients.c.family_name).startswith(family_name.lower(), autoescape=True))
    if given_name:
        query = query.where(func.lower(patients.c.given_name).startswith(given_name.lower(), autoescape=True))
    if birth_date:
        query = query.where(patients.c.birth_date == birth_date)
    if after:
        query = query.where(patients.c.id > after)
    return list(conn.execute(query).scalars())


def households_of(conn: Connection, patient_id: str) -> list[str]:
    return list(conn.execute(select(household_members.c.household_id).where(
        household_members.c.patient_id == patient_id).order_by(household_members.c.household_id)).scalars())


def list_households(conn: Connection, *, site_id: str | None = None, limit: int = 50,
                    after: str | None = None) -> list[str]:
    query = select(households.c.id).order_by(households.c.id).limit(limit)
    if site_id:
        query = query.where(households.c.site_id == site_id)
    if after:
        query = query.where(households.c.id > after)
    return list(conn.execute(query).scalars())


def find_enrollments(conn: Connection, *, patient_id: str | None = None, household_id: str | None = None,
                     workflow_id: str | None = None, state: str | None = None,
                     limit: int = 50) -> list[EnrollmentSummary]:
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
    return [EnrollmentSummary(r.id, r.workflow_id, r.workflow_version, r.patient_id, r.household_id, r.state,
                              r.version, as_utc(r.started_at), as_utc(r.updated_at)) for r in conn.execute(query)]
