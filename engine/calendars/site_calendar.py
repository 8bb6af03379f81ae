"""A site's clinic calendar: when it is open, and the next open moment with the reasons for any wait.

Auto invites go out only in opening hours and only after the site's go-live date (seeds/nextgen-pxp-portal-invites).
A `SiteCalendar` holds a site's IANA time zone, weekly hours, public holidays (the `holidays` package) and the
practice's own closures. `next_open` walks the site's LOCAL dates one by one and turns each local wall time into
an instant with `zoneinfo`, so both DST changes are right: a wall time the clocks skip means the first real
instant after the skip, an ambiguous one means its first occurrence. Time is always passed in.

Text conventions (callers show it to staff): days read "Mon 24 Nov" (English names, day number without a
leading zero, so "Sun 8 Mar"), times "08:00", reasons are joined by "; ".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SEARCH_DAYS = 366
MIDNIGHT = time(0, 0)

Hours = Mapping[int, tuple[tuple[time, time], ...]]


def day_label(day: date) -> str:
    """'Mon 24 Nov': fixed English names, so the text does not depend on the server's locale."""
    return f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]}"


def moment_label(moment: datetime) -> str:
    """'Tue 25 Nov 08:00' for a moment in whatever zone it carries."""
    return f"{day_label(moment.date())} {moment:%H:%M}"


def clock_label(wall: time) -> str:
    return f"{wall:%H:%M}" if wall.second == 0 and wall.microsecond == 0 else wall.isoformat()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError covers malformed keys such as absolute paths, which are as unknown to us as a typo.
        raise ValueError(f"unknown time zone {name!r}") from None


def _require_aware(at: datetime) -> None:
    if at.utcoffset() is None:
        raise ValueError(f"a site calendar needs a timezone-aware time, got {at.isoformat()}")


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    # expand=False keeps each cached object to its own year: a lookup never grows a shared object.
    return holidays.country_holidays(country, subdiv=subdivision, years=year, expand=False)


def _check_holidays(country: str | None, subdivision: str | None) -> None:
    if country is None:
        if subdivision is not None:
            raise ValueError(f"holidays subdivision {subdivision!r} given without a country")
        return
    if country not in holidays.list_supported_countries():
        raise ValueError(f"unknown holidays country {country!r}")
    try:
        holidays.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError:
        raise ValueError(f"unknown holidays subdivision {subdivision!r} for country {country!r}") from None


def _closes_after(opens: time, closes: time) -> bool:
    return closes == MIDNIGHT or opens < closes


def _normalised_hours(hours: Hours) -> Hours:
    """Sorted, checked, read-only copy: a caller's later edit to its dict cannot change a frozen calendar."""
    checked: dict[int, tuple[tuple[time, time], ...]] = {}
    for weekday, intervals in hours.items():
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"opening hours for weekday {weekday!r}: weekdays run from 0 (Mon) to 6 (Sun)")
        label = f"opening hours for {DAY_NAMES[weekday]}"
        ordered = tuple(sorted(((opens, closes) for opens, closes in intervals), key=lambda pair: pair[0]))
        for opens, closes in ordered:
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError(f"{label}: {opens}-{closes} must be local wall times without a time zone")
            if not _closes_after(opens, closes):
                raise ValueError(f"{label}: {clock_label(opens)}-{clock_label(closes)} closes before it opens")
        for (a_open, a_close), (b_open, b_close) in pairwise(ordered):
            if a_close == MIDNIGHT or b_open < a_close:
                raise ValueError(f"{label}: {clock_label(a_open)}-{clock_label(a_close)} overlaps "
                                 f"{clock_label(b_open)}-{clock_label(b_close)}")
        if ordered:
            checked[weekday] = ordered
    return MappingProxyType(checked)


class _Interval(NamedTuple):
    opens: time
    closes: time
    start: datetime  # instants in UTC: comparing two datetimes of one ZoneInfo ignores fold, UTC ones cannot
    end: datetime


class _Reasons:
    """Collects why moments were skipped; runs of plain closed days merge into one 'Sat 22 Nov, Sun 23 Nov closed'."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._closed_run: list[date] = []

    def closed_day(self, day: date) -> None:
        self._closed_run.append(day)

    def add(self, text: str) -> None:
        self._flush()
        self._items.append(text)

    def result(self) -> tuple[str, ...]:
        self._flush()
        return tuple(self._items)

    def _flush(self) -> None:
        if self._closed_run:
            self._items.append(", ".join(day_label(d) for d in self._closed_run) + " closed")
            self._closed_run = []


@dataclass(frozen=True, slots=True)
class Opening:
    """The answer of `SiteCalendar.next_open`: when, and why not earlier (empty when not deferred)."""

    at: datetime  # UTC
    local: datetime  # the same moment in the site's zone
    deferred: bool
    reasons: tuple[str, ...]

    def explain(self, zone_name: str | None = None) -> str:
        """'Tue 25 Nov 08:00 America/New_York: <reasons>' or 'open now (...)'.

        `zone_name` shows the moment in another zone (e.g. the reader's); the reasons stay in site-local days.
        """
        shown = self.local if zone_name is None else self.at.astimezone(_zone(zone_name))
        name = zone_name if zone_name is not None else getattr(shown.tzinfo, "key", str(shown.tzinfo))
        when = f"{moment_label(shown)} {name}"
        if not self.deferred:
            return f"open now ({when})"
        return f"{when}: " + "; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class SiteCalendar:
    """One site's hours and closed days; validated on construction, read-only afterwards."""

    zone: str
    hours: Hours  # weekday 0=Mon..6=Sun -> [opens, closes) local wall times; closes 00:00 = midnight at day's end
    country: str | None = None
    subdivision: str | None = None
    closures: Mapping[date, str] = field(default_factory=dict)
    go_live: date | None = None

    def __post_init__(self) -> None:
        _zone(self.zone)
        _check_holidays(self.country, self.subdivision)
        # Frozen dataclass: object.__setattr__ is the sanctioned way to store the checked copies.
        object.__setattr__(self, "hours", _normalised_hours(self.hours))
        object.__setattr__(self, "closures", MappingProxyType(dict(self.closures)))

    @classmethod
    def always_open(cls, zone: str = "UTC") -> SiteCalendar:
        """24/7 with no holidays, for sites that have not configured hours."""
        return cls(zone=zone, hours={weekday: ((MIDNIGHT, MIDNIGHT),) for weekday in range(7)})

    def is_live(self, at: datetime) -> bool:
        _require_aware(at)
        return self.go_live is None or at.astimezone(self._tz).date() >= self.go_live

    def is_open(self, at: datetime) -> bool:
        _require_aware(at)
        day, moment = at.astimezone(self._tz).date(), at.astimezone(UTC)
        if self._closed_reason(day) is not None:
            return False
        return any(iv.start <= moment < iv.end for iv in self._intervals(day))

    def next_open(self, at: datetime) -> Opening:
        """The first moment at or after `at` when the site is open, with why any earlier moment was skipped."""
        _require_aware(at)
        first, moment = at.astimezone(self._tz).date(), at.astimezone(UTC)
        reasons = _Reasons()
        for offset in range(SEARCH_DAYS):
            day = first + timedelta(days=offset)
            found = self._open_on(day, moment, reasons)
            if found is not None:
                deferred = found != moment
                return Opening(at=found, local=found.astimezone(self._tz), deferred=deferred,
                               reasons=reasons.result() if deferred else ())
        last = first + timedelta(days=SEARCH_DAYS - 1)
        raise ValueError(f"site never opens within a year: no open moment in {self.zone} from "
                         f"{day_label(first)} {first.year} to {day_label(last)} {last.year}")

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)  # zoneinfo caches instances by key, so this is a dictionary lookup

    def _open_on(self, day: date, at: datetime, reasons: _Reasons) -> datetime | None:
        """`at` (UTC) if open then, else the start of the day's next interval; None (with a reason) if none."""
        closed = self._closed_reason(day)
        if closed is not None:
            reasons.add(closed)
            return None
        intervals = self._intervals(day)
        if not intervals:
            reasons.closed_day(day)
            return None
        for index, iv in enumerate(intervals):
            if iv.end <= at:
                continue
            if iv.start <= at:
                return at
            reasons.add(self._waiting_reason(day, intervals, index))
            return iv.start
        reasons.add(f"{day_label(day)} after closing at {clock_label(intervals[-1].closes)}")
        return None

    def _waiting_reason(self, day: date, intervals: list[_Interval], index: int) -> str:
        iv, label = intervals[index], day_label(day)
        if index == 0:
            text = f"{label} before opening at {clock_label(iv.opens)}"
        else:
            text = f"{label} closed between {clock_label(intervals[index - 1].closes)} and {clock_label(iv.opens)}"
        local_start = iv.start.astimezone(self._tz)
        if local_start.time() != iv.opens:
            text += f" (the clocks skip that time; it opens at {local_start:%H:%M})"
        return text

    def _closed_reason(self, day: date) -> str | None:
        """Why a whole local day is closed by a closure or a public holiday; None otherwise."""
        if day in self.closures:
            return f"{day_label(day)} closed: {self.closures[day]}"
        if self.country is not None:
            names = _public_holidays(self.country, self.subdivision, day.year).get_list(day)
            if names:
                return f"{day_label(day)} is {' and '.join(names)}"
        return None

    def _intervals(self, day: date) -> list[_Interval]:
        """The day's intervals as instants; one squeezed to nothing by a DST gap is dropped."""
        result: list[_Interval] = []
        for opens, closes in self.hours.get(day.weekday(), ()):
            end_day = day + timedelta(days=1) if closes == MIDNIGHT else day
            start, end = self._instant(day, opens), self._instant(end_day, closes)
            if start < end:  # both UTC
                result.append(_Interval(opens, closes, start, end))
        return result

    def _instant(self, day: date, wall: time) -> datetime:
        """Local wall time -> UTC instant: a time the clocks skip moves to the gap's end; fold=0 = first occurrence."""
        local = datetime.combine(day, wall, tzinfo=self._tz)
        instant = local.astimezone(UTC)
        if instant.astimezone(self._tz).replace(tzinfo=None) == local.replace(tzinfo=None):
            return instant
        return _end_of_gap(local, self._tz)


def _end_of_gap(local: datetime, zone: ZoneInfo) -> datetime:
    """The first real instant at or after a wall time the clocks skip.

    In a gap, fold=1 reads the wall time with the offset after the change (an instant before the change) and
    fold=0 with the offset before it (an instant after it); the change itself lies between, so bisect to it.
    """
    wall = local.replace(tzinfo=None)
    before = local.replace(fold=1).astimezone(UTC)
    after = local.replace(fold=0).astimezone(UTC)
    while after - before > timedelta(microseconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after
