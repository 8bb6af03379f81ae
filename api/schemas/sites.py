"""Bodies for sites, their calendars, and providers.

The request bodies state the engine's rules where JSON Schema can: time zones and holiday countries as the enums
the server knows, opening hours as HH:MM-HH:MM, an https portal address, a non-blank name. What JSON Schema cannot
relate is checked here too, by the engine's own calendar, and described beside the field: a holiday subdivision
belongs to its country, a day's hours open before they close and do not overlap, and a phone number is one of the
site country's numbering plan (libphonenumber). Answers use plain types: a site saved before a rule existed still
reads back.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, time
from typing import Annotated, Any, Literal, get_args

from holidays.registry import EntityLoader
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from api.schemas.common import NOT_BLANK, FromAddress, HttpsUrl, IsoDate, Name, absent_or, ident, only_with, says
from engine.calendars.site_calendar import SiteCalendar
from engine.people.practice import SiteRecord

ZONES = sorted(zoneinfo.available_timezones())
# The registry's codes, not `holidays.list_supported_countries()`: that imports every country's module to list its
# subdivisions, ~11 MiB in each worker for the 1 or 2 countries a practice uses.
COUNTRIES = sorted(EntityLoader.get_country_codes(include_aliases=True))
_ZONES, _COUNTRIES = frozenset(ZONES), frozenset(COUNTRIES)


def _known(known: frozenset[str], what: str) -> Any:
    def check(value: str) -> str:
        if value not in known:
            raise ValueError(f"unknown {what} '{value}'")
        return value

    return AfterValidator(check)


TimeZone = Annotated[str, _known(_ZONES, "time zone"), Field(
    max_length=64, description="an IANA time zone, e.g. America/New_York", json_schema_extra={"enum": ZONES})]
Country = Annotated[str, _known(_COUNTRIES, "holidays country"), Field(
    max_length=8, description="the public holidays' country (the `holidays` package's code), e.g. US",
    json_schema_extra={"enum": COUNTRIES})]
_SUBDIVISION = ("the holidays' subdivision, e.g. NY: one the `holidays` package knows for that country, and only "
                "with a country")
_PHONE = ("the number patients call, as they dial it (messages print it): a valid number of the site country's "
          "numbering plan (libphonenumber; US when the site has no country), or written with its country code, "
          "e.g. +44 20 7946 0000; stored in the site country's format")
WorkflowId = Annotated[str, Field(min_length=1, max_length=120)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9]"
Span = Annotated[str, Field(pattern=f"^{_CLOCK}-{_CLOCK}$", examples=["08:00-12:00"]), says("is not HH:MM-HH:MM")]
SitePhone = Annotated[str, Field(max_length=32, pattern=NOT_BLANK), says("a site needs the phone number patients "
                                                                          "call: its messages print it")]


def _subdivision_of_country(value: str | None, info: ValidationInfo) -> str | None:
    """The engine's own check of a country and subdivision pair (the calendar a site is saved with)."""
    if value is None or "country" not in info.data:  # a refused country has said why already
        return value
    try:
        SiteCalendar(zone="UTC", hours={}, country=info.data["country"], subdivision=value)
    except ValueError as error:
        raise ValueError(str(error)) from None
    return value


Subdivision = Annotated[str | None, AfterValidator(_subdivision_of_country)]


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        **only_with("subdivision", "country"),
        "examples": [{"id": "main", "name": "Maple Family Practice", "timezone": "America/New_York",
                      "portal_url": "https://portal.example.test", "phone": "(617) 555-0142", "country": "US",
                      "subdivision": "NY"}]})
    id: str = ident("site")
    name: Name
    timezone: TimeZone
    portal_url: HttpsUrl = Field(description="the portal's https:// address, which links are built from")
    phone: SitePhone = Field(description=_PHONE)
    specialist_office: bool = False
    go_live_on: IsoDate | None = None
    country: Country | None = None
    subdivision: Subdivision = Field(default=None, max_length=16, description=_SUBDIVISION)
    from_address: FromAddress | None = Field(default=None, description=(
        "the From of the site's emails: an address, or 'Name <address>'"))
    recipient_daily_cap: int | None = Field(default=None, ge=1)
    workflows: list[WorkflowId] | None = Field(default=None, max_length=100, description=(
        "the ids of published workflows the site uses: nothing starts for another one (null: every one)"))


class SiteOut(BaseModel):
    id: str
    name: str
    timezone: str
    portal_url: str
    phone: str | None  # a site set up before phones were asked for has none
    specialist_office: bool
    go_live_on: date | None
    country: str | None
    subdivision: str | None
    from_address: str | None
    recipient_daily_cap: int | None
    workflows: list[str] | None

    @classmethod
    def of(cls, s: SiteRecord) -> SiteOut:
        return cls(id=s.id, name=s.name, timezone=s.timezone, portal_url=s.portal_url, phone=s.phone,
                   specialist_office=s.specialist_office, go_live_on=s.go_live_on, country=s.country,
                   subdivision=s.subdivision, from_address=s.from_address, recipient_daily_cap=s.recipient_daily_cap,
                   workflows=list(s.workflows) if s.workflows is not None else None)


class SiteChanges(BaseModel):
    """Only the fields sent change. The name, portal address, phone and specialist flag may be changed, not
    cleared: a site always has them."""

    model_config = ConfigDict(extra="forbid")
    name: Name = absent_or()
    portal_url: HttpsUrl = absent_or(description="the portal's https:// address, which links are built from")
    phone: SitePhone = absent_or(description=_PHONE)
    specialist_office: bool = absent_or()
    from_address: FromAddress | None = Field(default=None, description=(
        "the From of the site's emails: an address, or 'Name <address>'; null: the service's default"))
    recipient_daily_cap: int | None = Field(default=None, ge=1)
    workflows: list[WorkflowId] | None = Field(default=None, max_length=100, description=(
        "the ids of published workflows the site uses (null: every one)"))


_HOURS = ("weekday to its opening hours, HH:MM-HH:MM local time; each opens before it closes (a closing 00:00 is "
          "midnight) and a day's spans do not overlap; a day left out is closed; no hours at all: always open")


def _hours_the_calendar_takes(value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    """The engine's own check of the spans (order, overlaps), on the weekdays and HH:MM texts the schema took."""
    if value is None:
        return value
    days = list(get_args(Weekday))
    hours = {days.index(day): tuple((time.fromisoformat(s[:5]), time.fromisoformat(s[6:])) for s in spans)
             for day, spans in value.items()}
    try:
        SiteCalendar(zone="UTC", hours=hours)
    except ValueError as error:
        raise ValueError(str(error)) from None
    return value


class CalendarIn(BaseModel):
    """The same shape as a calendar file (`portalflow calendar set`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        **only_with("subdivision", "country"),
        "examples": [{"zone": "America/New_York", "country": "US", "subdivision": "NY", "go_live": "2026-01-05",
                      "hours": {"mon": ["08:00-12:00", "13:00-17:00"], "tue": ["08:00-17:00"]},
                      "closures": {"2026-12-24": "Christmas Eve"}}]})
    zone: TimeZone
    country: Country | None = None
    subdivision: Subdivision = Field(default=None, max_length=16, description=_SUBDIVISION)
    go_live: IsoDate | None = None
    hours: Annotated[dict[Weekday, list[Span]] | None, AfterValidator(_hours_the_calendar_takes)] = Field(
        default=None, description=_HOURS)
    closures: dict[IsoDate, str] = Field(default_factory=dict, description="date (YYYY-MM-DD) to the reason")


class CalendarOut(BaseModel):
    """A site's calendar as the calendar file would hold it."""

    zone: str
    country: str | None = None
    subdivision: str | None = None
    go_live: date | None = None
    hours: dict[str, list[str]] | None = Field(default=None, description="weekday (mon..sun) to HH:MM-HH:MM spans")
    closures: dict[str, str] = Field(default_factory=dict, description="date (YYYY-MM-DD) to the reason")


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"id": "dr-pcp",
                                                                               "name": "Dr. Pat Primary"}]})
    id: str = ident("provider")
    name: Name


class ProviderOut(BaseModel):
    id: str
    name: str
