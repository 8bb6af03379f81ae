"""Read and write a site's clinic calendar: its zone, weekly hours, holiday region, closures and go-live date.

A site with no weekly hours configured is treated as always open (every moment is an opening moment): nothing is
held back by a calendar nobody set up. `docs/operations.md` tells operators how to set one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from engine.calendars.site_calendar import SiteCalendar
from engine.errors import NotFound
from engine.storage.tables import site_closures, site_hours, sites


def load_calendar(conn: Connection, site_id: str) -> SiteCalendar:
    found = load_calendars(conn, [site_id])
    if site_id not in found:
        raise NotFound("site", site_id)
    return found[site_id]


def load_calendars(conn: Connection, site_ids: Sequence[str] | None = None) -> dict[str, SiteCalendar]:
    """The calendars of these sites (None: every site), by site id: three queries however many sites."""
    query = select(sites.c.id, sites.c.timezone, sites.c.country, sites.c.subdivision, sites.c.go_live_on)
    if site_ids is not None:
        query = query.where(sites.c.id.in_(list(site_ids)))
    found = {r.id: r for r in conn.execute(query)}
    if not found:
        return {}
    hours: dict[str, dict[int, tuple[tuple[time, time], ...]]] = {}
    for r in conn.execute(select(site_hours.c.site_id, site_hours.c.weekday, site_hours.c.opens, site_hours.c.closes)
                          .where(site_hours.c.site_id.in_(list(found)))
                          .order_by(site_hours.c.site_id, site_hours.c.weekday, site_hours.c.opens)):
        week = hours.setdefault(r.site_id, {})
        week[r.weekday] = (*week.get(r.weekday, ()), (r.opens, r.closes))
    closures: dict[str, dict[date, str]] = {}
    days = select(site_closures.c.site_id, site_closures.c.day, site_closures.c.reason)
    for site_id, day, reason in conn.execute(days.where(site_closures.c.site_id.in_(list(found)))):
        closures.setdefault(site_id, {})[day] = reason
    return {ident: _calendar(site, hours.get(ident), closures.get(ident, {})) for ident, site in found.items()}


def _calendar(site: Any, hours: dict[int, tuple[tuple[time, time], ...]] | None,
              closures: dict[date, str]) -> SiteCalendar:
    if not hours:
        always = SiteCalendar.always_open(site.timezone)
        return SiteCalendar(zone=always.zone, hours=always.hours, country=site.country,
                            subdivision=site.subdivision, closures=closures, go_live=site.go_live_on)
    return SiteCalendar(zone=site.timezone, hours=hours, country=site.country, subdivision=site.subdivision,
                        closures=closures, go_live=site.go_live_on)


def save_calendar(conn: Connection, site_id: str, calendar: SiteCalendar) -> None:
    """Replace the site's calendar (validated by `SiteCalendar` before anything is written)."""
    changed = conn.execute(update(sites).where(sites.c.id == site_id).values(
        timezone=calendar.zone, country=calendar.country, subdivision=calendar.subdivision,
        go_live_on=calendar.go_live))
    if changed.rowcount != 1:
        raise NotFound("site", site_id)
    conn.execute(delete(site_hours).where(site_hours.c.site_id == site_id))
    conn.execute(delete(site_closures).where(site_closures.c.site_id == site_id))
    hours = [{"site_id": site_id, "weekday": day, "opens": opens, "closes": closes}
             for day, spans in calendar.hours.items() for opens, closes in spans]
    if hours:
        conn.execute(insert(site_hours), hours)
    _save_closures(conn, site_id, calendar.closures)


def _save_closures(conn: Connection, site_id: str, closures: Mapping[date, str]) -> None:
    if closures:
        conn.execute(insert(site_closures), [{"site_id": site_id, "day": day, "reason": reason}
                                             for day, reason in sorted(closures.items())])
