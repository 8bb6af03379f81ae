"""Bodies the EHR feed and the portal send, and the answers they get."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from api.schemas.common import IsoDate
from api.schemas.demographics import DemographicChanges
from engine.enrollments.intake import IntakeResult

EventKind = Literal["chart_added", "demographics_changed", "new_encounter", "new_appointment"]  # intake.EVENT_KINDS
_CHANGED = "demographics_changed"


def _changes_of_kind(changes: DemographicChanges, info: ValidationInfo) -> DemographicChanges:
    if "kind" not in info.data:  # refused itself: its own error says why
        return changes
    if info.data["kind"] == _CHANGED and not changes.model_fields_set:
        raise ValueError("a demographics_changed event must say which fields changed and to what")
    if info.data["kind"] != _CHANGED and changes.model_fields_set:
        raise ValueError("only a demographics_changed event carries changes")
    return changes


class EventIn(BaseModel):
    """An idempotency key is required, in `key` or in the Idempotency-Key header (the same in both when both are
    sent). `changes` goes with a demographics_changed event, and only with it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"kind": {"const": _CHANGED}}, "required": ["kind"]},
        "then": {"properties": {"changes": {"minProperties": 1}}, "required": ["changes"]},
        "else": {"properties": {"changes": {"maxProperties": 0}}},
        "examples": [{"key": "ehr-7731-chart", "kind": "chart_added", "patient_id": "p-jane"},
                     {"key": "ehr-7732", "kind": "demographics_changed", "patient_id": "p-jane",
                      "changes": {"email": "jane.doe@example.test"}}]})
    key: str | None = Field(default=None, min_length=1, max_length=200,
                            description="the sender's idempotency key (or the Idempotency-Key header)")
    kind: EventKind = Field(examples=["chart_added"])
    patient_id: str = Field(min_length=1, max_length=64)
    changes: Annotated[DemographicChanges, AfterValidator(_changes_of_kind)] = Field(
        default_factory=DemographicChanges, validate_default=True,
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
