"""Read a site calendar file (YAML) into a `SiteCalendar`: what `portalflow calendar set` takes.

    zone: America/New_York        # IANA time zone (required)
    country: US                   # public holidays from the `holidays` package (optional)
    subdivision: NY               # (optional)
    go_live: 2026-01-05           # auto invites start on this local date (optional)
    hours:                        # local opening hours per weekday; a day left out is closed
      mon: ["08:00-12:00", "13:00-17:00"]
      tue: ["08:00-17:00"]
    closures:                     # the practice's own closed days, with the reason staff will read
      2026-12-24: Christmas Eve

No `hours` at all means open around the clock. Every mistake is reported with the file and what is wrong.
"""

from __future__ import annotations

import io
from datetime import date, time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from engine.calendars.site_calendar import SiteCalendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = ("zone", "country", "subdivision", "go_live", "hours", "closures")


class CalendarFileError(ValueError):
    pass


def read_calendar_file(path: Path) -> SiteCalendar:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as error:
        raise CalendarFileError(f"{path}: cannot read it: {error}") from None
    try:
        return calendar_from_mapping(data)
    except CalendarFileError as error:
        raise CalendarFileError(f"{path}: {error}") from None


def calendar_from_text(text: str) -> SiteCalendar:
    """The calendar file's text (as an admin types it in the site page)."""
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as error:
        raise CalendarFileError(f"not YAML: {error}") from None
    return calendar_from_mapping(data)


def calendar_as_text(calendar: SiteCalendar) -> str:
    """The calendar as the file would hold it (keys left empty are left out)."""
    stream = io.StringIO()
    writer = YAML(typ="safe")
    writer.default_flow_style = None
    writer.dump({k: v for k, v in calendar_as_mapping(calendar).items() if v}, stream)
    return stream.getvalue()


def calendar_from_mapping(data: Any) -> SiteCalendar:
    """The file's content (or the same shape as JSON, from the API) as a calendar; errors say what is wrong."""
    if not isinstance(data, dict):
        raise CalendarFileError(f"expected a mapping with keys {', '.join(KEYS)}")
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise CalendarFileError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    if not isinstance(data.get("zone"), str):
        raise CalendarFileError("'zone' is required, an IANA time zone such as America/New_York")
    try:
        hours = _hours(data.get("hours"))
        return SiteCalendar(
            zone=data["zone"], hours=hours if hours is not None else SiteCalendar.always_open(data["zone"]).hours,
            country=_text(data.get("country")), subdivision=_text(data.get("subdivision")),
            closures=_closures(data.get("closures")), go_live=_day(data.get("go_live"), "go_live"))
    except CalendarFileError:
        raise
    except ValueError as error:
        raise CalendarFileError(str(error)) from None


def calendar_as_mapping(calendar: SiteCalendar) -> dict[str, Any]:
    """The inverse of `calendar_from_mapping`, for reading a site's calendar back."""
    return {"zone": calendar.zone, "country": calendar.country, "subdivision": calendar.subdivision,
            "go_live": calendar.go_live.isoformat() if calendar.go_live else None,
            "hours": {DAYS[day]: [f"{o:%H:%M}-{c:%H:%M}" for o, c in spans]
                      for day, spans in sorted(calendar.hours.items())},
            "closures": {day.isoformat(): reason for day, reason in sorted(calendar.closures.items())}}


def _hours(raw: Any) -> dict[int, tuple[tuple[time, time], ...]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("'hours' must map weekdays (mon..sun) to lists like [\"08:00-17:00\"]")
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, spans in raw.items():
        if str(day).lower() not in DAYS:
            raise ValueError(f"'hours': unknown weekday {day!r}; use {', '.join(DAYS)}")
        if not isinstance(spans, list):
            raise ValueError(f"'hours.{day}' must be a list like [\"08:00-17:00\"]")
        hours[DAYS.index(str(day).lower())] = tuple(_span(str(s), str(day)) for s in spans)
    return hours


def _span(text: str, day: str) -> tuple[time, time]:
    opens, _, closes = text.partition("-")
    try:
        return time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())
    except ValueError:
        raise ValueError(f"'hours.{day}': {text!r} is not HH:MM-HH:MM") from None


def _closures(raw: Any) -> dict[date, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("'closures' must map dates (YYYY-MM-DD) to reasons")
    return {_day(day, "closures") or date.min: str(reason) for day, reason in raw.items()}


def _day(raw: Any, where: str) -> date | None:
    if raw is None or isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"'{where}': {raw!r} is not a date YYYY-MM-DD") from None


def _text(raw: Any) -> str | None:
    return None if raw is None else str(raw)
