"""The practice's own records: sites (with their portal address and go-live) and providers.

Each write runs in the caller's transaction, checks every field before writing, and is audited on the record's
chain (`site:<id>`, `provider:<id>`) with the names of the fields set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

import holidays
import phonenumbers
from sqlalchemy import Connection, insert, select, update

from engine.actors import ActorRef
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.calendars.site_calendar import SiteCalendar
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.storage.tables import providers, sites

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CHAIN_LENGTH = 64  # the id is part of its audit chain's key ("provider:<id>")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^<>]*<[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>$")


@dataclass(frozen=True, slots=True)
class SiteRecord:
    id: str
    name: str
    timezone: str
    portal_url: str
    phone: str | None = None
    specialist_office: bool = False
    go_live_on: date | None = None
    country: str | None = None
    subdivision: str | None = None
    from_address: str | None = None
    recipient_daily_cap: int | None = None
    workflows: tuple[str, ...] | None = None  # the workflow ids the site uses; None: every one


EDITABLE_SITE_FIELDS = ("name", "portal_url", "phone", "specialist_office", "from_address", "recipient_daily_cap",
                        "workflows")


def _check_id(ident: str, kind: str) -> None:
    longest = _CHAIN_LENGTH - len(kind) - 1
    if not _ID.match(ident) or len(ident) > longest:
        raise InvalidInput("id", f"1-{longest} letters, digits, '.', '_' or '-', starting with a letter or digit")


def _check_site_values(values: dict[str, Any], country: str | None) -> None:
    """Check (and normalise, in place) the fields being written; `country` is the site's, for its phone."""
    for required in ("name", "portal_url", "specialist_office"):
        if required in values and values[required] is None:
            raise InvalidInput(required, "cannot be empty")
    if "phone" in values:
        values["phone"] = site_phone(values["phone"], country)
    if "name" in values and not str(values["name"] or "").strip():
        raise InvalidInput("name", "a name is required")
    if "portal_url" in values:
        url = urlparse(str(values["portal_url"] or ""))
        if url.scheme != "https" or not url.netloc:
            raise InvalidInput("portal_url", "the portal's address must be an https:// URL (links are built from it)")
    if values.get("from_address") and not _EMAIL.match(str(values["from_address"])):
        raise InvalidInput("from_address", "an email address, optionally as 'Name <address>'")
    cap = values.get("recipient_daily_cap")
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        raise InvalidInput("recipient_daily_cap", "a whole number of at least 1, or null for no cap")
    workflows = values.get("workflows")
    if workflows is not None and (not isinstance(workflows, list | tuple)
                                  or not all(isinstance(w, str) and w for w in workflows)):
        raise InvalidInput("workflows", "a list of workflow ids, or null for every workflow")


@lru_cache(maxsize=64)
def phone_region(country: str | None) -> str:
    """The two-letter region libphonenumber dials from, for a site's holidays country, which may be written with
    three letters ('USA'): the holidays package knows both. US when the site names no country."""
    if country is None:
        return "US"
    try:
        return str(holidays.country_holidays(country, years=()).country)
    except NotImplementedError:  # not a holidays country: refused as the site's country, with its own message
        return country.upper()


def site_phone(text: object, country: str | None) -> str:
    """The number patients call, as they would dial it from the site's country (messages print it): checked by
    libphonenumber, the rules phones themselves use, rather than by a pattern of our own."""
    region = phone_region(country)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("phone", "a site needs the phone number patients call: its messages print it")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", f"'{text.strip()}' is not a phone number in {region}: write it as a patient "
                                    "would dial it, e.g. (617) 555-0142, or with its country code, "
                                    "e.g. +44 20 7946 0000")
    local = phonenumbers.region_code_for_number(number) == region
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if local
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _record(conn: Connection, now: datetime, actor: ActorRef, kind: str, ident: str, action: str,
            names: list[str]) -> None:
    append_to_subject(conn, about_subject(kind, ident, now, actor, action, inputs={"fields": sorted(names)}))


def create_site(conn: Connection, now: datetime, actor: ActorRef, site: SiteRecord) -> None:
    """A new site; its calendar (zone, hours, holidays, go-live) is checked by `SiteCalendar` when saved."""
    _check_id(site.id, "site")
    values = {f.name: getattr(site, f.name) for f in fields(site)}
    _check_site_values(values, site.country)
    if values["workflows"] is not None:
        values["workflows"] = list(values["workflows"])
    try:
        SiteCalendar.always_open(site.timezone)
    except ValueError as error:
        raise InvalidInput("timezone", str(error)) from None
    try:
        SiteCalendar(zone=site.timezone, hours={}, country=site.country, subdivision=site.subdivision)
    except ValueError as error:
        raise InvalidInput("country", str(error)) from None
    if conn.execute(select(sites.c.id).where(sites.c.id == site.id)).first() is not None:
        raise AlreadyExists("site", site.id)
    conn.execute(insert(sites).values(**values))
    _record(conn, now, actor, "site", site.id, "site_created", [k for k, v in values.items() if v not in (None, False)])


def update_site(conn: Connection, now: datetime, actor: ActorRef, site_id: str, changes: dict[str, Any]) -> None:
    unknown = sorted(set(changes) - set(EDITABLE_SITE_FIELDS))
    if unknown:
        raise InvalidInput(unknown[0], f"not editable here; editable: {', '.join(EDITABLE_SITE_FIELDS)} "
                                       "(zone, hours, holidays and go-live are the site's calendar)")
    if not changes:
        return
    changes = dict(changes)
    country = conn.execute(select(sites.c.country).where(sites.c.id == site_id)).scalar_one_or_none()
    _check_site_values(changes, country)
    if conn.execute(update(sites).where(sites.c.id == site_id).values(**changes)).rowcount != 1:
        raise NotFound("site", site_id)
    _record(conn, now, actor, "site", site_id, "site_updated", list(changes))


def read_site(conn: Connection, site_id: str) -> SiteRecord:
    row = conn.execute(select(sites).where(sites.c.id == site_id)).first()
    if row is None:
        raise NotFound("site", site_id)
    return _site_record(row)


def list_sites(conn: Connection) -> list[SiteRecord]:
    return [_site_record(r) for r in conn.execute(select(sites).order_by(sites.c.id))]


def _site_record(row: Any) -> SiteRecord:
    values = {f.name: row._mapping[f.name] for f in fields(SiteRecord)}
    if values["workflows"] is not None:
        values["workflows"] = tuple(values["workflows"])
    return SiteRecord(**values)


def create_provider(conn: Connection, now: datetime, actor: ActorRef, provider_id: str, name: str) -> None:
    _check_id(provider_id, "provider")
    if not name.strip():
        raise InvalidInput("name", "a name is required")
    if conn.execute(select(providers.c.id).where(providers.c.id == provider_id)).first() is not None:
        raise AlreadyExists("provider", provider_id)
    conn.execute(insert(providers).values(id=provider_id, name=name.strip()))
    _record(conn, now, actor, "provider", provider_id, "provider_created", ["name"])


def list_providers(conn: Connection) -> list[tuple[str, str]]:
    return [(r.id, r.name) for r in conn.execute(select(providers.c.id, providers.c.name).order_by(providers.c.id))]


def read_provider(conn: Connection, provider_id: str) -> tuple[str, str]:
    row = conn.execute(select(providers.c.id, providers.c.name).where(providers.c.id == provider_id)).first()
    if row is None:
        raise NotFound("provider", provider_id)
    return row.id, row.name


def record_calendar_change(conn: Connection, now: datetime, actor: ActorRef, site_id: str) -> None:
    """A site's calendar was replaced (`engine.calendars.store.save_calendar`): who did it, in its history."""
    _record(conn, now, actor, "site", site_id, "calendar_replaced", ["calendar"])
