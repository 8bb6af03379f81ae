"""Patients and households: staff create, find and read them, and correct a patient's details.

A change to a demographic field goes through event intake, as an EHR's change would: when it touches a field the
invite workflow requires, the invite is re-triggered (PxP handout), and the answer says what happened.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import Flow, Reader, Staff
from api.errors import responses
from api.schemas.people import (
    EnrollmentSummaryOut,
    HouseholdChanges,
    HouseholdIn,
    HouseholdOut,
    MemberIn,
    PatientChanges,
    PatientIn,
    PatientOut,
    PatientUpdated,
)
from engine import people, records
from engine.bootstrap import PortalFlow
from engine.demographics import COLUMNS, check_changes
from engine.intake import IntakeEvent
from engine.subjects import load_household, load_patient

router = APIRouter(tags=["people"], responses=responses(401, 403))
Limit = Annotated[int, Query(ge=1, le=500)]


def _status(flow: PortalFlow, summary: records.EnrollmentSummary) -> str:
    return flow.catalog.get(summary.workflow_id, summary.workflow_version).state(summary.state).status


def _patient(flow: PortalFlow, patient_id: str) -> PatientOut:
    with flow.reader.connect() as conn:
        patient = load_patient(conn, patient_id)
        households = records.households_of(conn, patient_id)
        found = records.find_enrollments(conn, patient_id=patient_id, limit=100)
    return PatientOut.of(patient, households, [EnrollmentSummaryOut.of(e, _status(flow, e)) for e in found])


@router.post("/patients", response_model=PatientOut, status_code=status.HTTP_201_CREATED,
             responses=responses(404, 409, 422))
def create_patient(body: PatientIn, user: Staff, flow: Flow) -> PatientOut:
    with flow.db.begin() as conn:
        people.create_patient(conn, flow.services.clock.now(), user.actor, people.NewPatient(**body.model_dump()),
                              where="body")
    return _patient(flow, body.id)


@router.get("/patients", response_model=list[PatientOut])
def find_patients(_: Reader, flow: Flow, site_id: str | None = None, family_name: str | None = None,
                  given_name: str | None = None, birth_date: date | None = None,
                  after: Annotated[str | None, Query(description="the last id of the previous page")] = None,
                  limit: Limit = 50) -> list[PatientOut]:
    """Patients matching every filter given (names by prefix, any case), in id order, a page at a time."""
    with flow.reader.connect() as conn:
        ids = records.find_patients(conn, site_id=site_id, family_name=family_name, given_name=given_name,
                                    birth_date=birth_date, limit=limit, after=after)
    return [_patient(flow, i) for i in ids]


@router.get("/patients/{patient_id}", response_model=PatientOut, responses=responses(404))
def read_patient(patient_id: str, _: Reader, flow: Flow) -> PatientOut:
    """The patient, the households they belong to, and their enrollments (newest first)."""
    return _patient(flow, patient_id)


@router.patch("/patients/{patient_id}", response_model=PatientUpdated, responses=responses(404, 422))
def update_patient(patient_id: str, body: PatientChanges, user: Staff, flow: Flow) -> PatientUpdated:
    sent = body.model_dump(exclude_unset=True)
    demographic = {k: v for k, v in sent.items() if k in COLUMNS}
    own = {k: v for k, v in sent.items() if k not in COLUMNS}
    # Every value is checked before anything is written; then the demographics (which may re-trigger the invite,
    # and say again whether a renamed newborn's name is a placeholder), then the practice's own fields, so a flag
    # sent explicitly wins.
    check_changes(demographic, where="body")
    with flow.reader.connect() as conn:
        load_patient(conn, patient_id)
        records.check_practice_fields(conn, own)
    changed: list[str] = []
    event = None
    after = None
    if demographic:
        before = _patient(flow, patient_id)
        result = flow.receive(IntakeEvent(f"staff:{user.id}:{uuid.uuid4().hex}", "demographics_changed",
                                          patient_id, demographic, source=user.id, source_role=user.role))
        after = _patient(flow, patient_id)
        changed += [k for k in demographic if getattr(before, COLUMNS[k]) != getattr(after, COLUMNS[k])]
        event = f"{result.outcome}: {result.detail}"
    if own:
        with flow.db.begin() as conn:
            changed += records.update_practice_fields(conn, flow.services.clock.now(), user.actor, patient_id, own)
        after = None  # read again: the practice's fields changed since
    return PatientUpdated(patient=after or _patient(flow, patient_id), changed=sorted(changed), event=event)


@router.post("/households", response_model=HouseholdOut, status_code=status.HTTP_201_CREATED,
             responses=responses(404, 409, 422))
def create_household(body: HouseholdIn, user: Staff, flow: Flow) -> HouseholdOut:
    """A guardian's household with its children, in order (the first child is the one the welcome goes to)."""
    values = body.model_dump(exclude={"members"})
    with flow.db.begin() as conn:
        people.create_household(conn, flow.services.clock.now(), user.actor, people.NewHousehold(**values),
                                body.members, where="body")
        return HouseholdOut.of(load_household(conn, body.id))


@router.get("/households", response_model=list[HouseholdOut])
def list_households(_: Reader, flow: Flow, site_id: str | None = None, after: str | None = None,
                    limit: Limit = 50) -> list[HouseholdOut]:
    with flow.reader.connect() as conn:
        return [HouseholdOut.of(load_household(conn, i))
                for i in records.list_households(conn, site_id=site_id, limit=limit, after=after)]


@router.get("/households/{household_id}", response_model=HouseholdOut, responses=responses(404))
def read_household(household_id: str, _: Reader, flow: Flow) -> HouseholdOut:
    with flow.reader.connect() as conn:
        return HouseholdOut.of(load_household(conn, household_id))


@router.patch("/households/{household_id}", response_model=HouseholdOut, responses=responses(404, 422))
def update_household(household_id: str, body: HouseholdChanges, user: Staff, flow: Flow) -> HouseholdOut:
    """Correct the guardian's name or email, or confirm the email is correct and personal."""
    with flow.db.begin() as conn:
        people.update_household(conn, flow.services.clock.now(), user.actor, household_id,
                                body.model_dump(exclude_unset=True))
        return HouseholdOut.of(load_household(conn, household_id))


@router.post("/households/{household_id}/members", response_model=HouseholdOut, responses=responses(404, 422))
def add_member(household_id: str, body: MemberIn, user: Staff, flow: Flow) -> HouseholdOut:
    """Add a child after the last one (nothing changes if the child is already a member)."""
    with flow.db.begin() as conn:
        people.add_household_member(conn, flow.services.clock.now(), user.actor, household_id, body.patient_id,
                                    where="body")
        return HouseholdOut.of(load_household(conn, household_id))
