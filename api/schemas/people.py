"""Bodies for sites, providers, patients and households."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import IsoDate, ident
from engine.people.practice import SiteRecord
from engine.people.subjects import Household
from engine.views.people import EnrollmentSummary, PatientRecord

WorkflowId = Annotated[str, Field(min_length=1, max_length=120)]


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id": "main", "name": "Maple Family Practice", "timezone": "America/New_York",
         "portal_url": "https://portal.example.test", "phone": "(617) 555-0142", "country": "US",
         "subdivision": "NY"}]})
    id: str = ident("site")
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(max_length=64, description="IANA time zone, e.g. America/New_York")
    portal_url: str = Field(max_length=500, description="https:// address links are built from")
    phone: str = Field(max_length=32, description=(
        "the number patients call, as they dial it (messages print it); stored in the site country's format"))
    specialist_office: bool = False
    go_live_on: IsoDate | None = None
    country: str | None = Field(default=None, max_length=8, description="public holidays, e.g. US")
    subdivision: str | None = Field(default=None, max_length=16, description="e.g. NY")
    from_address: str | None = Field(default=None, max_length=320)
    recipient_daily_cap: int | None = Field(default=None, ge=1)
    workflows: list[WorkflowId] | None = Field(default=None, max_length=100, description=(
        "the workflow ids the site uses: nothing starts for another one (null: every published workflow)"))


class SiteOut(SiteIn):
    phone: str | None = None  # type: ignore[assignment]  # a site set up before phones were asked for has none
    @classmethod
    def of(cls, s: SiteRecord) -> SiteOut:
        return cls(id=s.id, name=s.name, timezone=s.timezone, portal_url=s.portal_url, phone=s.phone,
                   specialist_office=s.specialist_office, go_live_on=s.go_live_on, country=s.country,
                   subdivision=s.subdivision, from_address=s.from_address, recipient_daily_cap=s.recipient_daily_cap,
                   workflows=list(s.workflows) if s.workflows is not None else None)


class SiteChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    portal_url: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=32)
    specialist_office: bool | None = None
    from_address: str | None = Field(default=None, max_length=320)
    recipient_daily_cap: int | None = Field(default=None, ge=1)
    workflows: list[WorkflowId] | None = Field(default=None, max_length=100, description=(
        "the workflow ids the site uses (null: every published workflow)"))


class CalendarBody(BaseModel):
    """The same shape as a calendar file (`portalflow calendar set`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"zone": "America/New_York", "country": "US", "subdivision": "NY", "go_live": "2026-01-05",
         "hours": {"mon": ["08:00-12:00", "13:00-17:00"], "tue": ["08:00-17:00"]},
         "closures": {"2026-12-24": "Christmas Eve"}}]})
    zone: str = Field(max_length=64)
    country: str | None = Field(default=None, max_length=8)
    subdivision: str | None = Field(default=None, max_length=16)
    go_live: IsoDate | None = None
    hours: dict[str, list[str]] | None = Field(default=None, description="weekday (mon..sun) to HH:MM-HH:MM spans")
    closures: dict[str, str] = Field(default_factory=dict, description="date (YYYY-MM-DD) to the reason")


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"id": "dr-pcp",
                                                                               "name": "Dr. Pat Primary"}]})
    id: str = ident("provider")
    name: str = Field(min_length=1, max_length=200)


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id": "p-1001", "site_id": "main", "given_name": "Jane", "family_name": "Doe", "birth_date": "1980-04-01",
         "birth_sex": "F", "zip": "02139", "email": "jane@example.test", "pcp_id": "dr-pcp"}]})
    id: str = ident("patient")
    site_id: str = Field(min_length=1, max_length=64)
    given_name: str | None = Field(default=None, max_length=120)
    family_name: str | None = Field(default=None, max_length=120)
    birth_date: IsoDate | None = None
    birth_sex: str | None = Field(default=None, description="F, M or UNK (US Core birth sex)")
    zip: str | None = Field(default=None, max_length=16)
    email: str | None = Field(default=None, max_length=320)
    cell_phone: str | None = Field(default=None, max_length=32)
    pcp_id: str | None = Field(default=None, max_length=64)
    responsible_provider_id: str | None = Field(default=None, max_length=64)
    name_is_placeholder: bool | None = Field(default=None, description="none: detected from 'Baby Boy' etc.")
    email_confirmed_personal: bool = False


class PatientChanges(BaseModel):
    """Only the fields sent change; null clears a demographic field. A change to a field the invite workflow
    requires re-triggers it, as an EHR change event would."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "jane.doe@example.test"}, {"pcp_id": "dr-other", "email_confirmed_personal": True}]})
    first_name: str | None = Field(default=None, max_length=120)
    last_name: str | None = Field(default=None, max_length=120)
    birth_date: IsoDate | None = None
    birth_sex: str | None = None
    zip: str | None = Field(default=None, max_length=16)
    email: str | None = Field(default=None, max_length=320)
    cell_phone: str | None = Field(default=None, max_length=32)
    pcp_id: str | None = Field(default=None, max_length=64)
    responsible_provider_id: str | None = Field(default=None, max_length=64)
    email_confirmed_personal: bool | None = None
    name_is_placeholder: bool | None = None


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
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id": "h-lee", "site_id": "main", "guardian_given_name": "Kim", "guardian_family_name": "Lee",
         "guardian_email": "kim@example.test", "members": ["c-ava", "c-cal"]}]})
    id: str = ident("household")
    site_id: str = Field(min_length=1, max_length=64)
    guardian_given_name: str = Field(min_length=1, max_length=120)
    guardian_family_name: str = Field(min_length=1, max_length=120)
    guardian_email: str | None = Field(default=None, max_length=320)
    guardian_email_confirmed_personal: bool = False
    members: list[str] = Field(default_factory=list, max_length=30, description="children's patient ids, in order")


class HouseholdChanges(BaseModel):
    """Only the fields sent change. A new email address must be confirmed as personal again (in the same change
    or later)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"guardian_email": "kim.lee@example.test", "guardian_email_confirmed_personal": True}]})
    guardian_given_name: str | None = Field(default=None, min_length=1, max_length=120)
    guardian_family_name: str | None = Field(default=None, min_length=1, max_length=120)
    guardian_email: str | None = Field(default=None, max_length=320)
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
