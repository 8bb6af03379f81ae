"""Bodies of the staff worklists and of bulk onboarding."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.enrollments import ShownOut


class _FromEngine(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ExpiringPinOut(_FromEngine):
    patient_id: str
    display_name: str
    site_id: str
    enrollment_id: str
    workflow_id: str
    state: str
    status: str
    issued_at: datetime
    expires_at: datetime
    days_left: int = Field(description="whole days left; negative once expired")
    expired: bool
    printed: bool = Field(description="the patient has this PIN only on paper")


class WaitingInviteOut(_FromEngine):
    enrollment_id: str
    workflow_id: str
    patient_id: str
    display_name: str
    email: str | None
    site_id: str
    state: str
    status: str
    waiting_since: datetime
    recent_invites: int = Field(description="invitations in the window, counted as the invite limit counts them")
    last_invited_at: datetime | None
    last_sent_at: datetime | None
    link_expires_at: datetime | None
    next_timer_at: datetime | None


class ChildOut(_FromEngine):
    patient_id: str
    display_name: str


class PartRegisteredOut(_FromEngine):
    enrollment_id: str
    workflow_id: str
    household_id: str
    guardian_name: str
    site_id: str
    state: str
    status: str
    registered: list[ChildOut]
    pending: list[ChildOut]
    waiting_since: datetime
    days_waiting: int


class FailedMessageOut(_FromEngine):
    outbox_id: int
    enrollment_id: str
    workflow_id: str
    patient_id: str | None
    household_id: str | None
    site_id: str
    message_id: str
    channel: str
    recipient: str | None
    subject: str | None
    status: str = Field(examples=["failed"])
    detail: str | None
    attempts: int
    created_at: datetime


class OnboardingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"workflow_id": "portal-invitation-reset-onboarding", "trigger": "enable_portal_access",
         "patient_ids": ["p-jane", "p-noemail"]}]})
    workflow_id: str = Field(min_length=1, max_length=120)
    trigger: str = Field(min_length=1, max_length=64, examples=["send_invitation"])
    patient_ids: list[str] = Field(min_length=1, max_length=500)
    inputs: dict[str, Any] = Field(default_factory=dict, description="step inputs, the same for every patient")
    reason: str | None = Field(default=None, max_length=500)


class OnboardingResult(BaseModel):
    patient_id: str
    outcome: str = Field(examples=["acted"], description="acted, refused, not_found or not_allowed")
    enrollment_id: str | None
    status: str | None = Field(description="the enrollment's status afterwards")
    reasons: list[str] = Field(description="why it was refused or not done")
    shown: list[ShownOut] = Field(default_factory=list, description="PINs to print now, shown once")


class OnboardingOut(BaseModel):
    acted: int
    refused: int
    results: list[OnboardingResult]
