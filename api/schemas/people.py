"""Bodies for patients and households.

The engine's rules on a person's details are stated in the schema (`api.schemas.demographics`), and so are the
pairs it insists on: an email can be confirmed as personal only when there is one. A birth date in the future is
refused too, but "the future" is the server's clock, which no schema knows: the field says so.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.schemas.common import IsoDate, absent_or, ident, needs_earlier, when_true_requires
from api.schemas.demographics import BirthSex, CellPhone, DemographicChanges, Email, PersonName, Zip
from engine.people.subjects import Household
from engine.views.people import EnrollmentSummary, PatientRecord

_NO_EMAIL = "there is no email address to confirm"
_CONFIRMED = "the email address is correct and the patient's own (it needs an email)"
_BIRTH_DATE = "YYYY-MM-DD, not after today (the server's date, with a day's slack for time zones)"



class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        **when_true_requires("email_confirmed_personal", "email"),
        "examples": [{"id": "p-1001", "site_id": "main", "given_name": "Jane", "family_name": "Doe",
                      "birth_date": "1980-04-01", "birth_sex": "F", "zip": "02139", "email": "jane@example.test",
                      "pcp_id": "dr-pcp"}]})
    id: str = ident("patient")
    site_id: str = Field(min_length=1, max_length=64)
    given_name: PersonName | None = None
    family_name: PersonName | None = None
    birth_date: IsoDate | None = Field(default=None, description=_BIRTH_DATE)
    birth_sex: BirthSex | None = None
    zip: Zip | None = None
    email: Email | None = None
    cell_phone: CellPhone | None = None
    pcp_id: str | None = Field(default=None, max_length=64)
    responsible_provider_id: str | None = Field(default=None, max_length=64)
    name_is_placeholder: bool | None = Field(default=None, description="none: detected from 'Baby Boy' etc.")
    email_confirmed_personal: Annotated[bool, AfterValidator(needs_earlier("email", _NO_EMAIL))] = Field(
        default=False, description=_CONFIRMED)


class PatientChanges(DemographicChanges):
    """Only the fields sent change; null clears a demographic field. A change to a field the invite workflow
    requires re-triggers it, as an EHR change event would. The practice's flags may be changed, not cleared."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "jane.doe@example.test"}, {"pcp_id": "dr-other", "email_confirmed_personal": True}]})
    pcp_id: str | None = Field(default=None, max_length=64)
    responsible_provider_id: str | None = Field(default=None, max_length=64)
    email_confirmed_personal: bool = absent_or(description=(
        "the email address is correct and the patient's own; a new email needs confirming again"))
    name_is_placeholder: bool = absent_or(description="the given name is a newborn's placeholder ('Baby Boy')")


class EnrollmentSummaryOut(BaseModel):
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

    @classmethod
    def of(cls, e: EnrollmentSummary) -> EnrollmentSummaryOut:
        return cls(id=e.id, workflow_id=e.workflow_id, workflow_version=e.workflow_version, patient_id=e.patient_id,
                   household_id=e.household_id, state=e.state, status=e.status, version=e.version,
                   started_at=e.started_at, updated_at=e.updated_at)


class PatientOut(BaseModel):
    id: str
    site_id: str
    given_name: str | None
    family_name: str | None
    name_is_placeholder: bool
    birth_date: date | None
    birth_sex: str | None
    zip: str | None
    email: str | None
    email_confirmed_personal: bool
    cell_phone: str | None
    pcp_id: str | None
    responsible_provider_id: str | None
    portal_access_enabled: bool
    has_portal_account: bool
    portal_password_must_change: bool = Field(description="staff set the portal password; cleared only by the "
                                                          "patient's first login")
    households: list[str]
    enrollments: list[EnrollmentSummaryOut]

    @classmethod
    def of(cls, record: PatientRecord) -> PatientOut:
        p = record.patient
        values: dict[str, Any] = {name: getattr(p, name) for name in cls.model_fields
                                  if name not in ("has_portal_account", "households", "enrollments",
                                                  "portal_password_must_change")}
        return cls(**values, has_portal_account=p.portal_account_id is not None,
                   portal_password_must_change=record.password_must_change, households=list(record.households),
                   enrollments=[EnrollmentSummaryOut.of(e) for e in record.enrollments])


class PatientUpdated(BaseModel):
    patient: PatientOut
    changed: list[str] = Field(description="the fields whose value really changed")
    event: str | None = Field(default=None, description="what the demographics change did to the invite workflow")


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        **when_true_requires("guardian_email_confirmed_personal", "guardian_email"),
        "examples": [{"id": "h-lee", "site_id": "main", "guardian_given_name": "Kim", "guardian_family_name": "Lee",
                      "guardian_email": "kim@example.test", "members": ["c-ava", "c-cal"]}]})
    id: str = ident("household")
    site_id: str = Field(min_length=1, max_length=64)
    guardian_given_name: PersonName
    guardian_family_name: PersonName
    guardian_email: Email | None = None
    guardian_email_confirmed_personal: Annotated[bool, AfterValidator(needs_earlier("guardian_email", _NO_EMAIL))] = (
        Field(default=False, description=_CONFIRMED))
    members: list[str] = Field(default_factory=list, max_length=30, description="children's patient ids, in order")


class HouseholdChanges(BaseModel):
    """Only the fields sent change. A new email address must be confirmed as personal again (in the same change
    or later)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"guardian_email": "kim.lee@example.test", "guardian_email_confirmed_personal": True}]})
    guardian_given_name: PersonName = absent_or(description="may be changed, not cleared")
    guardian_family_name: PersonName = absent_or(description="may be changed, not cleared")
    guardian_email: Email | None = None
    guardian_email_confirmed_personal: bool | None = None


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patient_id: str = Field(min_length=1, max_length=64)


class HouseholdOut(BaseModel):
    id: str
    site_id: str
    guardian_given_name: str
    guardian_family_name: str
    guardian_email: str | None
    guardian_email_confirmed_personal: bool
    has_portal_account: bool
    children: list[str]

    @classmethod
    def of(cls, h: Household) -> HouseholdOut:
        return cls(id=h.id, site_id=h.site_id, guardian_given_name=h.guardian_given_name,
                   guardian_family_name=h.guardian_family_name, guardian_email=h.guardian_email,
                   guardian_email_confirmed_personal=h.guardian_email_confirmed_personal,
                   has_portal_account=h.portal_account_id is not None, children=[c.id for c in h.children])
