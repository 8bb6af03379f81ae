"""Bodies for users, tokens, logging in and passwords. Tokens and passwords travel in bodies, never in URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Name, ident
from engine.people.identity import MIN_PASSWORD, User

Role = Literal["staff", "designer", "auditor", "admin", "integration"]  # engine.people.identity.ROLES


class UserOut(BaseModel):
    id: str = Field(examples=["ana"])
    name: str = Field(examples=["Ana Front Desk"])
    role: str = Field(examples=["staff"])
    active: bool
    linked_to_staff_record: bool
    must_change_password: bool
    sites: list[str] | None = Field(description="the sites they work at, and alone see and act at; null: every site",
                                    examples=[["main"]])

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, name=user.name, role=user.role, active=user.active,
                   linked_to_staff_record=user.linked_to_staff_record,
                   must_change_password=user.must_change_password,
                   sites=sorted(user.sites) if user.sites is not None else None)


class SitesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sites: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        max_length=1000, description="the sites the user works at; null or []: every site", examples=[["main"]])


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = ident("staff", examples=["ana"])
    name: Name = Field(examples=["Ana Front Desk"])
    role: Role = Field(examples=["staff"])
    linked_to_staff_record: bool = Field(default=False, description="the EHR's user is linked to a staff record")


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(default="api", min_length=1, max_length=120, examples=["front desk PC 2"])
    valid_days: int | None = Field(default=None, ge=1, le=3650, description="none: valid until revoked")


class TokenOut(BaseModel):
    token: str = Field(description="shown once: store it now; only its digest is kept",
                       examples=["pf_3q2-…"])
    user_id: str
    label: str
    expires_at: datetime | None


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=64, examples=["ana"])
    password: str = Field(min_length=1, max_length=1000)


class LoginOut(BaseModel):
    token: str = Field(description="a session token, valid 12 hours")
    expires_at: datetime | None
    user: UserOut


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=MIN_PASSWORD, max_length=1000)
    reason: str | None = Field(default=None, max_length=500, description=(
        "required, not blank, when an admin sets another user's password (PUT /users/{user_id}/password); "
        "ignored when you change your own"))


class Revoked(BaseModel):
    revoked: int
