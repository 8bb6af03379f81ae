"""Sites (with their calendars) and providers: admins set them up; staff read them."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.calendar_file import CalendarFileError, calendar_as_mapping, calendar_from_mapping
from api.deps import Admin, Flow, Reader
from api.errors import ApiError, responses
from api.schemas.sites import CalendarIn, CalendarOut, ProviderIn, ProviderOut, SiteChanges, SiteIn, SiteOut
from engine.people.practice import SiteRecord

router = APIRouter(tags=["practice"], responses=responses(401, 403))


@router.get("/sites", response_model=list[SiteOut])
def list_sites(_: Reader, flow: Flow) -> list[SiteOut]:
    return [SiteOut.of(s) for s in flow.practice.list_sites()]


@router.post("/sites", response_model=SiteOut, status_code=status.HTTP_201_CREATED, responses=responses(409, 422))
def create_site(body: SiteIn, admin: Admin, flow: Flow) -> SiteOut:
    return SiteOut.of(flow.practice.create_site(admin.actor, SiteRecord(**body.model_dump())))


@router.get("/sites/{site_id}", response_model=SiteOut, responses=responses(404))
def read_site(site_id: str, _: Reader, flow: Flow) -> SiteOut:
    return SiteOut.of(flow.practice.read_site(site_id))


@router.patch("/sites/{site_id}", response_model=SiteOut, responses=responses(404, 422))
def update_site(site_id: str, body: SiteChanges, admin: Admin, flow: Flow) -> SiteOut:
    """Change the fields sent; the zone, hours, holidays and go-live are the calendar's (PUT .../calendar)."""
    return SiteOut.of(flow.practice.update_site(admin.actor, site_id, body.model_dump(exclude_unset=True)))


@router.get("/sites/{site_id}/calendar", response_model=CalendarOut, responses=responses(404))
def read_calendar(site_id: str, _: Reader, flow: Flow) -> CalendarOut:
    return CalendarOut.model_validate(calendar_as_mapping(flow.practice.calendar(site_id)))


@router.put("/sites/{site_id}/calendar", response_model=CalendarOut, responses=responses(404, 422))
def replace_calendar(site_id: str, body: CalendarIn, admin: Admin, flow: Flow) -> CalendarOut:
    """Replace the site's zone, weekly hours, holiday region, closures and go-live date."""
    try:
        calendar = calendar_from_mapping(body.model_dump(exclude_none=True))
    except CalendarFileError as error:
        raise ApiError(422, "invalid_input", str(error), field="body") from None
    return CalendarOut.model_validate(calendar_as_mapping(flow.practice.replace_calendar(admin.actor, site_id,
                                                                                         calendar)))


@router.get("/providers", response_model=list[ProviderOut])
def list_providers(_: Reader, flow: Flow) -> list[ProviderOut]:
    return [ProviderOut(id=i, name=n) for i, n in flow.practice.list_providers()]


@router.post("/providers", response_model=ProviderOut, status_code=status.HTTP_201_CREATED,
             responses=responses(409, 422))
def create_provider(body: ProviderIn, admin: Admin, flow: Flow) -> ProviderOut:
    flow.practice.create_provider(admin.actor, body.id, body.name)
    ident, name = flow.practice.read_provider(body.id)
    return ProviderOut(id=ident, name=name)


@router.get("/providers/{provider_id}", response_model=ProviderOut, responses=responses(404))
def read_provider(provider_id: str, _: Reader, flow: Flow) -> ProviderOut:
    ident, name = flow.practice.read_provider(provider_id)
    return ProviderOut(id=ident, name=name)
