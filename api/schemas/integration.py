"""Bodies the EHR feed and the portal send, and the answers they get."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import IsoDate
from engine.enrollments.intake import IntakeResult


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"key": "ehr-7731-chart", "kind": "chart_added", "patient_id": "p-jane"},
        {"key": "ehr-7732", "kind": "demographics_changed", "patient_id": "p-jane",
         "changes": {"email": "jane.doe@example.test"}}]})
    key: str | None = Field(default=None, max_length=200,
                            description="the sender's idempotency key (or the Idempotency-Key header)")
    kind: str = Field(examples=["chart_added"],
                      description="chart_added, demographics_changed, new_encounter or new_appointment")
    patient_id: str = Field(min_length=1, max_length=64)
    changes: dict[str, Any] = Field(default_factory=dict,
                                    description="demographics_changed only: field name to new value (null clears)")


class EventOut(BaseModel):
    key: str
    kind: str
    patient_id: str
    outcome: str = Field(examples=["acted"], description="acted, refused or ignored")
    detail: str
    enrollment_ids: list[str]
    repeated: bool = Field(description="this key was handled before: nothing was done now")

    @classmethod
    def of(cls, r: IntakeResult) -> EventOut:
        return cls(key=r.key, kind=r.kind, patient_id=r.patient_id, outcome=r.outcome, detail=r.detail,
                   enrollment_ids=list(r.enrollment_ids), repeated=r.repeated)


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"pin": "7K4M-2QXD", "birth_date": "2018-06-01"}]})
    pin: str = Field(min_length=1, max_length=64)
    birth_date: IsoDate


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200, description="the token from the link the patient followed")


class ActivationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patient_id: str = Field(min_length=1, max_length=64)


class FirstLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"username": "jane.doe.2026"}]})
    username: str = Field(min_length=1, max_length=64, description="the account that logged in")


class SelfServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "jane@example.test", "birth_date": "1980-04-01"}]})
    email: str = Field(min_length=3, max_length=320, description="as the patient typed it on the login screen")
    birth_date: IsoDate


class PortalOut(BaseModel):
    outcome: str = Field(examples=["accepted"])
    status: str | None = Field(default=None, examples=["Registered"],
                               description="where the registration stands now (accepted answers only)")
