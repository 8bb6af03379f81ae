"""When a queued message may go out: the site's opening hours and the per-recipient cap across enrollments.

- A message marked `opening_hours` queued while the site is closed waits (`not_before`) for the next opening
  moment, and its row says why in words.
- Automatic emails (sent by the system or an integration, not by a person at the desk) to one address are capped
  per rolling 24 hours across every enrollment: three siblings' invite workflows must not each email their parent
  the same day. A send over the cap is deferred to the moment the oldest counted send leaves the window (then to
  an opening moment, if the message needs one) and the deferral is recorded in the enrollment's history. Staff
  sends are never held back: staff see what they send. The cap is the site's `recipient_daily_cap` (default 1;
  0 switches it off).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from definitions.model import Actor, Channel, Message
from engine.calendars.site_calendar import SiteCalendar
from engine.clock import as_utc
from engine.storage.tables import outbox, sites

DEFAULT_RECIPIENT_DAILY_CAP = 1
_WINDOW = timedelta(hours=24)
_COUNTED = ("queued", "sending", "sent", "review")


@dataclass(frozen=True, slots=True)
class SendWindow:
    not_before: datetime | None  # None: at once
    why: str | None  # words for the outbox row and the history; None when it goes at once
    capped: bool  # held back by the per-recipient cap


def recipient_cap(conn: Connection, site_id: str) -> int:
    cap = conn.execute(select(sites.c.recipient_daily_cap).where(sites.c.id == site_id)).scalar_one_or_none()
    return DEFAULT_RECIPIENT_DAILY_CAP if cap is None else int(cap)


def send_window(conn: Connection, message: Message, recipient: str | None, actor: Actor, now: datetime,
                calendar: SiteCalendar, cap: int) -> SendWindow:
    earliest, why, capped = now, None, False
    if message.channel is Channel.EMAIL and recipient and actor is not Actor.STAFF and cap > 0:
        free = _cap_frees_at(conn, recipient, now, cap)
        if free > now:
            earliest, capped = free, True
            why = (f"{cap} automatic email(s) to this address already planned within 24 hours; "
                   f"held until {free:%Y-%m-%d %H:%M} UTC")
    if message.opening_hours:
        opening = calendar.next_open(earliest)
        if opening.deferred:
            earliest = opening.at
            waiting = f"waits for opening hours: next send {opening.explain()}"
            why = f"{why}; {waiting}" if why else waiting
    return SendWindow(None if earliest == now else earliest, why, capped)


def _cap_frees_at(conn: Connection, recipient: str, now: datetime, cap: int) -> datetime:
    """The first moment a new send keeps at most `cap` sends to `recipient` in any 24 hours before it."""
    planned = func.coalesce(outbox.c.not_before, outbox.c.created_at)
    times = [as_utc(t) for t in conn.execute(
        select(planned).where((outbox.c.recipient == recipient) & (outbox.c.channel == Channel.EMAIL.value)
                              & outbox.c.status.in_(_COUNTED) & (planned > now - _WINDOW))
        .order_by(planned)).scalars()]
    if len(times) < cap:
        return now
    return max(now, times[-cap] + _WINDOW)
