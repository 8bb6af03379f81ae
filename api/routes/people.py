"""Patients and households: staff create, find and read them, and correct a patient's details.

A change to a demographic field goes through event intake, as an EHR's change would: when it touches a field the
invite workflow requires, the invite is re-triggered (PxP handout), and the answer says what happened.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import Flow, Reader, Staff
from api.errors import responses
from api.schemas.people import (
    HouseholdChanges,
    HouseholdIn,
    HouseholdOut,
    MemberIn,
    PatientChanges,
    PatientIn,
    PatientOut,
    PatientUpdated,
)
from api.schemas.query import QueryDate
from engine.people.patients import NewHousehold, NewPatient

router = APIRouter(tags=["people"], responses=responses(401, 403))
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("/patients", response_model=PatientOut, status_code=status.HTTP_201_CREATED,
             responses=responses(404, 409, 422))
def create_patient(body: PatientIn, user: Staff, flow: Flow) -> PatientOut:
    return PatientOut.of(flow.people.create_patient(user.actor, NewPatient(**body.model_dump()), where="body"))


@router.get("/patients", response_model=list[PatientOut])
def find_patients(user: Reader, flow: Flow, site_id: str | None = None, family_name: str | None = None,
                  given_name: str | None = None, birth_date: QueryDate | None = None,
                  after: Annotated[str | None, Query(description="the last id of the previous page")] = None,
                  limit: Limit = 50) -> list[PatientOut]:
    """Patients matching every filter given (names by prefix, any case), in id order, a page at a time."""
    found = flow.people.find_patients(site_id=site_id, family_name=family_name, given_name=given_name,
                                      birth_date=birth_date, after=after, limit=limit, viewer=user.actor)
    return [PatientOut.of(record) for record in found]


@router.get("/patients/{patient_id}", response_model=PatientOut, responses=responses(404))
def read_patient(patient_id: str, user: Reader, flow: Flow) -> PatientOut:
    """The patient, the households they belong to, and their enrollments (newest first)."""
    return PatientOut.of(flow.people.read_patient(patient_id, viewer=user.actor))


@router.patch("/patients/{patient_id}", response_model=PatientUpdated, responses=responses(404, 422))
def update_patient(patient_id: str, body: PatientChanges, user: Staff, flow: Flow) -> PatientUpdated:
    """Change the fields sent, all or none: a demographic change may re-trigger the invite, and says so."""
    done = flow.people.update_patient(user.actor, patient_id, body.model_dump(exclude_unset=True), where="body")
    return PatientUpdated(patient=PatientOut.of(done.record), changed=list(done.changed), event=done.event)


@router.post("/households", response_model=HouseholdOut, status_code=status.HTTP_201_CREATED,
             responses=responses(404, 409, 422))
def create_household(body: HouseholdIn, user: Staff, flow: Flow) -> HouseholdOut:
    """A guardian's household with its children, in order (the first child is the one the welcome goes to)."""
    new = NewHousehold(**body.model_dump(exclude={"members"}))
    return HouseholdOut.of(flow.people.create_household(user.actor, new, body.members, where="body"))


@router.get("/households", response_model=list[HouseholdOut])
def list_households(user: Reader, flow: Flow, site_id: str | None = None, after: str | None = None,
                    limit: Limit = 50) -> list[HouseholdOut]:
    return [HouseholdOut.of(h) for h in flow.people.list_households(site_id=site_id, after=after, limit=limit,
                                                                    viewer=user.actor)]


@router.get("/households/{household_id}", response_model=HouseholdOut, responses=responses(404))
def read_household(household_id: str, user: Reader, flow: Flow) -> HouseholdOut:
    return HouseholdOut.of(flow.people.read_household(household_id, viewer=user.actor))


@router.patch("/households/{household_id}", response_model=HouseholdOut, responses=responses(404, 422))
def update_household(household_id: str, body: HouseholdChanges, user: Staff, flow: Flow) -> HouseholdOut:
    """Correct the guardian's name or email, or confirm the email is correct and personal."""
    return HouseholdOut.of(flow.people.update_household(user.actor, household_id,
                                                        body.model_dump(exclude_unset=True)))


@router.post("/households/{household_id}/members", response_model=HouseholdOut, responses=responses(404, 422))
def add_member(household_id: str, body: MemberIn, user: Staff, flow: Flow) -> HouseholdOut:
    """Add a child after the last one (nothing changes if the child is already a member)."""
    return HouseholdOut.of(flow.people.add_member(user.actor, household_id, body.patient_id, where="body"))
