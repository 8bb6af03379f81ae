"""Staff worklists (what needs doing today) and bulk onboarding of many patients at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Flow, Reader, Staff
from api.errors import responses
from api.schemas.enrollments import shown_over_http
from api.schemas.query import QueryBool
from api.schemas.worklists import (
    ExpiringPinOut,
    FailedMessageOut,
    OnboardingIn,
    OnboardingOut,
    OnboardingResult,
    PartRegisteredOut,
    WaitingInviteOut,
)
from engine.enrollments.onboarding import Onboard

router = APIRouter(tags=["worklists"], responses=responses(401, 403, 422))
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/worklists/pins-expiring", response_model=list[ExpiringPinOut])
def pins_expiring(user: Reader, flow: Flow, within_days: Annotated[int, Query(ge=0, le=365)] = 7,
                  include_expired: QueryBool = True, site_id: str | None = None,
                  limit: Limit = 200) -> list[ExpiringPinOut]:
    """Open PINs expiring within N days (and those already expired), soonest first: regenerate them."""
    found = flow.worklists.pins_expiring(within_days, include_expired=include_expired, site_id=site_id, limit=limit,
                                         viewer=user.actor)
    return [ExpiringPinOut.model_validate(f) for f in found]


@router.get("/worklists/invites-waiting", response_model=list[WaitingInviteOut])
def invites_waiting(user: Reader, flow: Flow, window_days: Annotated[int, Query(ge=1, le=365)] = 30,
                    site_id: str | None = None, limit: Limit = 200) -> list[WaitingInviteOut]:
    """Patients invited who have not activated yet, longest waiting first, with how many invites went out."""
    found = flow.worklists.invites_waiting(window_days=window_days, site_id=site_id, limit=limit,
                                           viewer=user.actor)
    return [WaitingInviteOut.model_validate(f) for f in found]


@router.get("/worklists/households-part-registered", response_model=list[PartRegisteredOut])
def households_part_registered(user: Reader, flow: Flow, site_id: str | None = None,
                               limit: Limit = 200) -> list[PartRegisteredOut]:
    """Households where the guardian registered some children but not all."""
    found = flow.worklists.households_part_registered(site_id=site_id, limit=limit, viewer=user.actor)
    return [PartRegisteredOut.model_validate(f) for f in found]


@router.get("/worklists/messages-failed", response_model=list[FailedMessageOut])
def messages_failed(user: Reader, flow: Flow, within_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
                    site_id: str | None = None, limit: Limit = 200) -> list[FailedMessageOut]:
    """Messages that failed, were held (an empty field) or wait for review, newest first."""
    found = flow.worklists.messages_failed(within_days=within_days, site_id=site_id, limit=limit,
                                           viewer=user.actor)
    return [FailedMessageOut.model_validate(f) for f in found]


@router.post("/onboarding", response_model=OnboardingOut, responses=responses(404))
def bulk_onboarding(body: OnboardingIn, user: Staff, flow: Flow) -> OnboardingOut:
    """Do one action for many patients; each is handled alone and the answer says, per patient, what happened."""
    done = flow.onboard(Onboard(body.workflow_id, body.trigger, body.patient_ids, user.actor, body.inputs,
                                 body.reason))
    results = [OnboardingResult(
        patient_id=d.patient_id, outcome=d.outcome, enrollment_id=d.enrollment_id, status=d.status,
        reasons=list(d.reasons), shown=shown_over_http(d.shown)) for d in done]
    return OnboardingOut(acted=sum(d.outcome == "acted" for d in done),
                         refused=sum(d.outcome != "acted" for d in done), results=results)
