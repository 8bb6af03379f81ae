"""Bodies for starting enrollments, completing steps and firing triggers, and what each answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from engine.enrollments.advance import EnrollmentAdvanced
from engine.enrollments.start import EnrollmentStarted
from engine.fsm.services import ShownSecret

_VERSION = "the enrollment version you saw, or send it in If-Match; when both are sent they must agree"


def _one_subject(household_id: str | None, info: ValidationInfo) -> str | None:
    if "patient_id" not in info.data:  # refused itself: its own error says why
        return household_id
    if (info.data["patient_id"] is None) == (household_id is None):
        raise ValueError("give exactly one of patient_id and household_id (which one is the workflow's subject)")
    return household_id


class StartIn(BaseModel):
    """Exactly one of `patient_id` and `household_id`: the one the workflow is about (its `subject`; a workflow
    for households also takes `selected_children`, the household's children to enroll)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"properties": {"patient_id": {"type": "string"}}, "required": ["patient_id"]},
                  {"properties": {"household_id": {"type": "string"}}, "required": ["household_id"]}],
        "examples": [{"workflow_id": "nextgen-regenerate-expired-pin", "patient_id": "p-jane"},
                     {"workflow_id": "intellichart-pins-for-siblings", "household_id": "h-lee",
                      "selected_children": ["c-ava"]}]})
    workflow_id: str = Field(min_length=1, max_length=120)
    patient_id: str | None = Field(default=None, max_length=64)
    household_id: Annotated[str | None, AfterValidator(_one_subject)] = Field(
        default=None, max_length=64, validate_default=True)
    selected_children: list[str] = Field(default_factory=list, max_length=50)


class StartedOut(BaseModel):
    enrollment_id: str
    workflow_id: str
    workflow_version: int
    state: str
    status: str
    version: int

    @classmethod
    def of(cls, s: EnrollmentStarted) -> StartedOut:
        return cls(enrollment_id=s.enrollment_id, workflow_id=s.workflow_id, workflow_version=s.workflow_version,
                   state=s.state, status=s.status, version=s.version)


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"trigger": "regenerate_pin", "value": True, "version": 2},
        {"trigger": "regenerate_pin", "value": "dr-pcp"}]})
    trigger: str = Field(min_length=1, max_length=64, description="the action the step belongs to")
    value: Any = Field(default=True, description="the step's input; true for a plain checklist step")
    version: int | None = Field(default=None, ge=1, description=_VERSION)


class StepDone(BaseModel):
    enrollment_id: str
    step_id: str
    trigger: str
    version: int = Field(description="the enrollment version the step applies to (it does not change it)")


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"inputs": {"confirm_email": True}, "version": 1},
        {"reason": "patient asked at the desk", "version": 3}]})
    inputs: dict[str, Any] = Field(default_factory=dict, description="step inputs not completed earlier")
    reason: str | None = Field(default=None, max_length=500, description=(
        "why, for the history; required by some actions (the enrollment's `reason_required`)"))
    version: int | None = Field(default=None, ge=1, description=_VERSION)


class ShownOut(BaseModel):
    """A PIN or link shown once, in this answer only: print it or hand it over now; it is not kept."""

    patient_id: str
    kind: str = Field(examples=["pin"])
    value: str
    expires_at: datetime
    do_not_send: bool


def shown_over_http(shown: Sequence[ShownSecret]) -> list[ShownOut]:
    """PINs, for staff to hand over; never an access link: it grants access with no further check, so it goes only
    to the patient's confirmed address (portal-invitation handout), not to the screen of whoever clicked."""
    return [ShownOut(patient_id=s.patient_id, kind=s.kind, value=s.value, expires_at=s.expires_at,
                     do_not_send=s.do_not_send) for s in shown if s.kind != "link"]


class DocumentOut(BaseModel):
    message_id: str = Field(examples=["pin_letter"])
    body: str


class HeldOut(BaseModel):
    message_id: str = Field(examples=["enrollment_notification"])
    reason: str = Field(examples=["held: the site's phone number is empty (template ..., line 15: ...); fill it "
                                  "in, then do the step again"])


class AdvancedOut(BaseModel):
    enrollment_id: str
    trigger: str
    from_state: str
    to_state: str
    status: str = Field(examples=["Pending Registration"])
    version: int
    shown: list[ShownOut] = Field(description="PINs to hand over now; shown once, never again")
    documents: list[DocumentOut] = Field(description="printouts to print now (they may carry a PIN)")
    held: list[HeldOut] = Field(default_factory=list, description=(
        "messages not sent because a field their template prints is empty: fill it in, then do the step again"))

    @classmethod
    def of(cls, a: EnrollmentAdvanced) -> AdvancedOut:
        return cls(enrollment_id=a.enrollment_id, trigger=a.trigger, from_state=a.from_state, to_state=a.to_state,
                   status=a.status, version=a.version,
                   shown=shown_over_http(a.shown),
                   documents=[DocumentOut(message_id=d.message_id, body=d.body) for d in a.documents],
                   held=[HeldOut(message_id=h.message_id, reason=h.reason) for h in a.held])


class _FromEngine(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StepViewOut(_FromEngine):
    id: str
    instruction: str
    optional: bool
    input_type: str | None = Field(description="none: a plain checklist step")
    label: str | None
    options: list[str]
    done: bool = Field(description="completed ahead of the action, in this state")
    value: Any = Field(description="the value recorded (a password shows '[redacted]')")
    needs_input: bool
    with_trigger: bool = Field(description="a secret: give it with the action, never ahead")


class TriggerViewOut(_FromEngine):
    trigger: str = Field(examples=["regenerate_pin"])
    description: str | None
    by: str = Field(examples=["staff"])
    to_state: str
    to_status: str
    available: bool = Field(description="you could do it now")
    blocked: list[str] = Field(description="every reason it cannot be done now, in the engine's words")
    reason_required: bool
    steps: list[StepViewOut]


class TimerViewOut(_FromEngine):
    timer_id: str
    trigger: str
    status: str
    armed_at: datetime
    due_at: datetime
    attempts: int
    explanation: str = Field(examples=["fires 'expire_pin' 30 days after entering 'PIN Issued'"])
    description: str | None


class MessageViewOut(_FromEngine):
    id: int
    message_id: str
    channel: str
    status: str = Field(examples=["sent"])
    recipient: str | None
    subject: str | None
    created_at: datetime
    not_before: datetime | None
    sent_at: datetime | None
    attempts: int
    detail: str | None


class EnrollmentOut(_FromEngine):
    id: str
    workflow_id: str
    workflow_version: int
    workflow_title: str
    patient_id: str | None
    household_id: str | None
    state: str
    status: str = Field(examples=["Pending Registration"])
    final: bool
    version: int = Field(description="send it back in If-Match (or body.version) when you act")
    selected_children: list[str]
    started_at: datetime
    updated_at: datetime
    triggers: list[TriggerViewOut]
    timers: list[TimerViewOut]
    messages: list[MessageViewOut]
