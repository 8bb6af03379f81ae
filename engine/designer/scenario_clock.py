"""The simulator's clock: it stands still, and moves only forward, to each scenario step's moment."""

from __future__ import annotations

from datetime import UTC, datetime


class ScenarioClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a scenario starts at a timezone-aware moment")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def move_to(self, moment: datetime) -> None:
        """Steps are played in order: a moment before the current one is a mistake in the scenario's reading."""
        if moment.tzinfo is None:
            raise ValueError("a scenario step's moment must be timezone-aware")
        if moment < self._now:
            raise ValueError(f"a scenario cannot go back in time ({moment.isoformat()} < {self._now.isoformat()})")
        self._now = moment.astimezone(UTC)
