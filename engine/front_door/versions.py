"""The designer's door to published workflow versions: check files against what is published."""

from __future__ import annotations

from sqlalchemy import Engine

from definitions.catalog import FileOutcome
from definitions.errors import Problem
from engine.clock import Clock
from engine.front_door.base import Door
from engine.versions.catalog import WorkflowCatalog
from engine.versions.loading import against_published
from engine.versions.store import published_versions


class Versions(Door):
    def __init__(self, db: Engine, clock: Clock, catalog: WorkflowCatalog) -> None:
        super().__init__(db, clock)
        self.catalog = catalog

    def changed_published(self, results: list[FileOutcome]) -> list[Problem]:
        """Each checked file that changes a version this database has published without raising `version`: an
        error naming the file, the version and the fix."""
        with self.reader.connect() as conn:
            stored = published_versions(conn)
        return list(against_published(results, stored).changed)
