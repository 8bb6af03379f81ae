"""When a timer falls due: `after` a duration, or `at` the next local wall-clock time of the site (zoneinfo, so a
DST change does not shift it); an `opening_hours` timer that would fall due while the site is closed waits for
the site's next opening moment, and says why in words. Pure: the calendar is asked for only when needed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from definitions.model import Timer
from engine.calendars.site_calendar import SiteCalendar


def next_local_time(now: datetime, timer: Timer, zone: str) -> datetime:
    assert timer.at is not None
    local = now.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=timer.at.hour, minute=timer.at.minute, second=0, microsecond=0)
    if candidate <= local:
        day = (local + timedelta(days=1)).date()
        candidate = datetime(day.year, day.month, day.day, timer.at.hour, timer.at.minute, tzinfo=ZoneInfo(zone))
    return candidate.astimezone(now.tzinfo)


def due_at(now: datetime, timer: Timer, zone: str | None) -> datetime:
    if timer.after is not None:
        return now + timer.after.delta
    return next_local_time(now, timer, zone or "UTC")


def plan(now: datetime, timer: Timer, calendar: Callable[[], SiteCalendar]) -> tuple[datetime, str | None]:
    """When `timer`, armed at `now`, falls due, and why it waits longer than declared (None when it doesn't)."""
    site = calendar() if timer.at is not None or timer.opening_hours else None
    due = due_at(now, timer, site.zone if site else None)
    if site is None or not timer.opening_hours:
        return due, None
    opening = site.next_open(due)
    if not opening.deferred:
        return due, None
    return opening.at, f"waits for opening hours: next firing {opening.explain()}"
