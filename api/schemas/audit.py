"""Bodies of the auditor's endpoints: history rows and the verification report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    chain: str
    seq: int
    at: datetime
    actor_id: str = Field(examples=["ana"])
    actor_role: str = Field(examples=["staff"])
    action: str = Field(examples=["transition"])
    outcome: str = Field(examples=["ok"])
    subject_type: str | None
    subject_id: str | None
    enrollment_id: str | None
    from_state: str | None
    to_state: str | None
    trigger: str | None
    inputs: dict[str, Any] | None
    reason: str | None
    detail: str | None
    hash: str
    prev_hash: str


class HistoryPage(BaseModel):
    events: list[AuditEventOut]
    next_after_id: int | None = Field(description="pass it as after_id for the next page; null on the last page")


class VerificationOut(BaseModel):
    ok: bool
    events_checked: int
    chains: int
    anchors_checked: int
    first_problem: str | None = Field(description="the first altered row, named; null when the history is intact")
