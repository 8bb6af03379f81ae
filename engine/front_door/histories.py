"""The auditor's door: find a history, export it, verify the hash chains, anchor their heads.

Reads only, except `anchor`. Exports stream page by page, each page in its own short read, so a slow download
never holds up the front desk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.audit import anchors
from engine.audit.export import FORMATS
from engine.audit.keeping import AnchorKeeper
from engine.audit.reading import AuditRecord, HistoryQuery, find_history, stream_history
from engine.audit.verify import VerifyReport, verify
from engine.clock import Clock
from engine.front_door.base import Door
from engine.people.walls import walls_of


def _walled(query: HistoryQuery, viewer: ActorRef) -> HistoryQuery:
    sites = walls_of(viewer)
    return query if sites is None else replace(query, sites=sites)


class Histories(Door):
    def find(self, query: HistoryQuery, *, viewer: ActorRef) -> list[AuditRecord]:
        """The history matching every filter, oldest first, a page at a time; a `viewer` kept to some sites reads
        only the rows about them (engine.people.walls)."""
        with self.reader.connect() as conn:
            return find_history(conn, _walled(query, viewer))

    def export(self, query: HistoryQuery, format_name: str, *, viewer: ActorRef
               ) -> tuple[Iterator[str], str]:
        """Every matching row as CSV, JSON lines or FHIR AuditEvent NDJSON, and its media type. The query is
        checked now, so a bad one fails here rather than half-way through a download."""
        render, media_type = FORMATS[format_name]
        return render(stream_history(self.reader, _walled(query, viewer))), media_type

    def __init__(self, db: Engine, clock: Clock, keeper: AnchorKeeper | None = None) -> None:
        super().__init__(db, clock)
        self.keeper = keeper

    def verify(self) -> VerifyReport:
        """Recompute every hash chain and anchor, check each enrollment's head, the anchors' seals and the anchor
        log; name the first problem."""
        with self.reader.connect() as conn:
            return verify(conn, self.keeper)

    def anchor_if_due(self, every: timedelta) -> int | None:
        """The background round's anchor: when the last is `every` old or more and the history grew since.

        An anchor reads the head of every chain (seconds at millions of rows, holding SQLite's write lock), so it
        is not made every round; between anchors an enrollment's newest rows are still covered by its head."""
        with self.reader.connect() as conn:
            last = anchors.newest_anchor_at(conn)
        if last is not None and last > self.clock.now() - every:
            return None
        return self.anchor(only_if_new=True)

    def anchor(self, *, only_if_new: bool = False) -> int | None:
        """Bind the heads of all chains in a new sealed anchor row, then append it to the anchor log; its id (None
        when `only_if_new` and nothing was recorded since the last anchor)."""
        seal = self.keeper.seal if self.keeper is not None else None
        with self.db.begin() as conn:
            now = self.clock.now()
            made = anchors.anchor_if_new(conn, now, seal) if only_if_new else anchors.anchor(conn, now, seal)
        if made is None:
            return None
        if self.keeper is not None:
            self.keeper.record(made)  # after the commit: the log never holds an anchor the database lacks
        return made.id
