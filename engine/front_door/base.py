"""What every front-door service holds: the database (and its read-only view), the clock."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Engine

from engine.clock import Clock
from engine.storage.database import reading


class Door:
    def __init__(self, db: Engine, clock: Clock) -> None:
        self.db, self.clock = db, clock

    @cached_property
    def reader(self) -> Engine:
        """The database for reads only: on SQLite they neither wait for nor hold up writers. Made once: making
        it (`Engine.execution_options`) cost about as much as a read's statement, on every request."""
        return reading(self.db)
