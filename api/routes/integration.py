"""The integration endpoints: events from the EHR, and the portal's callbacks.

Both need an integration credential. Portal answers never say whether a patient exists: a wrong PIN, a wrong
date of birth and an unknown patient read the same, and an activation report is acknowledged alike for everyone.
The PIN attempt limits are the engine's (a PIN locks after 100 failures; expiry is checked at use).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, status
from pydantic import WithJsonSchema

from api.deps import Flow, Integration
from api.errors import ApiError, responses
from api.schemas.integration import (
    ActivationIn,
    EventIn,
    EventOut,
    FirstLoginIn,
    LinkIn,
    PinIn,
    PortalOut,
    SelfServiceIn,
)
from engine.enrollments.intake import IntakeEvent
from engine.enrollments.portal import PresentPin

router = APIRouter(tags=["integration"], responses=responses(401, 403, 422))


@router.post("/integration/events", response_model=EventOut, responses=responses(404))
def receive_event(body: EventIn, user: Integration, flow: Flow,
                  idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200, description=(
                      "the event's idempotency key, unless the body has it in `key`; the same when both do")),
                      WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200})] = None,
                  ) -> EventOut:
    """An EHR event; each idempotency key is acted on once, and a repeat answers the first outcome. The key may
    not be reused for another patient or kind of event."""
    key = body.key or idempotency_key
    if body.key and idempotency_key and body.key != idempotency_key:
        raise ApiError(422, "invalid_request", "the Idempotency-Key header and body.key differ", field="body.key")
    if not key:
        raise ApiError(422, "invalid_request", "an idempotency key is required (body.key or Idempotency-Key)",
                       field="body.key")
    changes = body.changes.model_dump(exclude_unset=True)
    return EventOut.of(flow.receive(IntakeEvent(key, body.kind, body.patient_id, changes, source=user.id)))


@router.post("/portal/registrations", response_model=PortalOut, responses=responses(400))
def register_with_pin(body: PinIn, _: Integration, flow: Flow) -> PortalOut:
    """A guardian or patient creates the account with a PIN and date of birth."""
    moved = flow.present_pin(PresentPin(body.pin, body.birth_date))
    return PortalOut(outcome="accepted", status=moved.status)


@router.post("/portal/children", response_model=PortalOut, responses=responses(400))
def add_another_child(body: PinIn, _: Integration, flow: Flow) -> PortalOut:
    """A guardian adds another child to the account with that child's PIN and date of birth."""
    moved = flow.present_pin(PresentPin(body.pin, body.birth_date, trigger="add_another_child"))
    return PortalOut(outcome="accepted", status=moved.status)


@router.post("/portal/links", response_model=PortalOut, responses=responses(400))
def link_used(body: LinkIn, _: Integration, flow: Flow) -> PortalOut:
    """A patient followed an invitation or reset link (the token travels in the body, never in a URL)."""
    moved = flow.present_link(body.token)
    return PortalOut(outcome="accepted", status=moved.status)


@router.post("/portal/first-logins", response_model=PortalOut, status_code=status.HTTP_202_ACCEPTED)
def first_login(body: FirstLoginIn, _: Integration, flow: Flow) -> PortalOut:
    """The patient logged in for the first time and replaced the password staff set; the same answer whether or not
    anything was waiting for it."""
    flow.report_first_login(body.username)
    return PortalOut(outcome="received")


@router.post("/portal/self-service", response_model=PortalOut, status_code=status.HTTP_202_ACCEPTED)
def self_service(body: SelfServiceIn, _: Integration, flow: Flow) -> PortalOut:
    """A patient asked, on the login screen, to set up the account or reset the password. A link goes by email when
    the chart meets the conditions (portal access enabled, the email on file and confirmed personal); the answer is
    the same whether or not it does, and whether the patient exists."""
    flow.request_self_service(body.email, body.birth_date)
    return PortalOut(outcome="received")


@router.post("/portal/activations", response_model=PortalOut, status_code=status.HTTP_202_ACCEPTED)
def account_activated(body: ActivationIn, user: Integration, flow: Flow) -> PortalOut:
    """The portal reports an activated account; the same answer whether or not anything was waiting for it."""
    flow.report_activation(body.patient_id, user.actor)
    return PortalOut(outcome="received")
