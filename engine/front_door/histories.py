"""The auditor's door: find a history, export it, verify the hash chains, anchor their heads.

Reads only, except `anchor`. Exports stream page by page, each page in its own short read, so a slow download
never holds up the front desk.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.audit import anchors
from engine.audit.export import FORMATS
from engine.audit.reading import AuditRecord, HistoryQuery, find_history, stream_history
from engine.audit.verify import VerifyReport, verify
from engine.front_door.base import Door


class Histories(Door):
    def find(self, query: HistoryQuery) -> list[AuditRecord]:
        """The history matching every filter, oldest first, a page at a time."""
        with self.reader.connect() as conn:
            return find_history(conn, query)

    def export(self, query: HistoryQuery, format_name: str) -> tuple[Iterator[str], str]:
        """Every matching row as CSV, JSON lines or FHIR AuditEvent NDJSON, and its media type. The query is
        checked now, so a bad one fails here rather than half-way through a download."""
        render, media_type = FORMATS[format_name]
        return render(stream_history(self.reader, query)), media_type

    def verify(self) -> VerifyReport:
        """Recompute every hash chain and anchor; name the first altered row."""
        with self.reader.connect() as conn:
            return verify(conn)

    def anchor(self) -> int:
        """Bind the heads of all chains in a new anchor row; its id."""
        with self.db.begin() as conn:
            return anchors.anchor(conn, self.clock.now())
