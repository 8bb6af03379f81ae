"""Hand-written fakes for what tests may fake: the clock, and a mail channel whose process dies mid-send.

Everything else in the tests is real: SQLite files, PostgreSQL, an SMTP server on loopback, a folder of mail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.messaging.channels import ChannelAdapter, OutgoingMessage


class FakeClock:
    """A clock that only moves when told to; starts at a fixed, aware UTC moment."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FakeClock.set needs a timezone-aware time")
        self._now = moment.astimezone(UTC)


class WorkerDied(BaseException):
    """The process is gone. Not an `Exception`, so the worker's own `except Exception` never sees it."""


class DiesAfterHandOver:
    """A real channel, in a process that dies right after the server took the message, before anything is noted."""

    def __init__(self, channel: ChannelAdapter) -> None:
        self.channel = channel

    def send(self, message: OutgoingMessage) -> str:
        self.channel.send(message)
        raise WorkerDied
