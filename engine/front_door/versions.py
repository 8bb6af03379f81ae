"""The designer's door to published workflow versions: list them, compare two, publish the folder's new ones,
move running enrollments onto a newer one, and check files against what is published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from definitions.catalog import FileOutcome
from definitions.errors import Problem
from definitions.loader import Outcome, read_workflow, surroundings_of
from definitions.model import WorkflowDefinition
from definitions.vocabulary import Vocabulary
from engine.clock import Clock
from engine.enrollments.migration import MigrateWorkflow, MigrationReport, Migrator
from engine.errors import NotFound
from engine.front_door.base import Door
from engine.versions.catalog import LeftOut, WorkflowCatalog
from engine.versions.diff import Section, diff
from engine.versions.loading import against_published, check_folder, from_rows, read_published
from engine.versions.store import (
    PublishedVersion,
    lock_for_publishing,
    publish,
    published_versions,
    running_per_version,
)


@dataclass(frozen=True, slots=True)
class VersionInfo:
    workflow_id: str
    version: int
    title: str
    published_at: datetime
    published_by: str | None
    file_name: str | None
    running: int  # enrollments on this version not yet in a final state
    newest: bool  # new enrollments start on it


@dataclass(frozen=True, slots=True)
class Published:
    versions: tuple[tuple[str, int], ...]  # published now
    left_out: tuple[LeftOut, ...]  # files not published, and why


class Versions(Door):
    def __init__(self, db: Engine, clock: Clock, catalog: WorkflowCatalog, vocabulary: Vocabulary,
                 folder: Path | None = None) -> None:
        super().__init__(db, clock)
        self.catalog, self.vocabulary, self.folder = catalog, vocabulary, folder

    def _folder_templates(self) -> dict[str, str]:
        """For versions published before templates were kept with them: the folder's (checked by hash)."""
        if self.folder is None or not self.folder.is_dir():
            return {}
        return dict(surroundings_of(self.folder).template_texts)

    def check_draft(self, text: str, name: str) -> Outcome:
        """A designer's draft checked as the service would load it beside the workflows folder (its templates and
        handouts); writes nothing and never raises for the draft's mistakes."""
        surroundings = surroundings_of(self.folder) if self.folder is not None and self.folder.is_dir() else None
        return read_workflow(text, name, self.vocabulary, surroundings)

    def listing(self) -> list[VersionInfo]:
        """Every published version, oldest first per workflow, with how many enrollments still run on it."""
        with self.reader.connect() as conn:
            stored = published_versions(conn)
            definitions, _ = from_rows(list(stored), self.vocabulary, self.folder)
            finals = {(d.id, d.version): [s.id for s in d.states if s.final] for d in definitions}
            running = running_per_version(conn, finals)
        titles = {(d.id, d.version): d.title for d in definitions}
        newest = {row.workflow_id: row.version for row in stored}  # rows come in version order
        return [VersionInfo(r.workflow_id, r.version, titles.get((r.workflow_id, r.version), "(does not load)"),
                            r.published_at, r.published_by, r.file_name, running.get((r.workflow_id, r.version), 0),
                            newest[r.workflow_id] == r.version) for r in stored]

    def diff(self, workflow_id: str, old: int, new: int) -> tuple[Section, ...]:
        """What changed from version `old` to version `new` of a workflow, both as published."""
        with self.reader.connect() as conn:
            stored = {(r.workflow_id, r.version): r for r in published_versions(conn)}
        return diff(self._read(stored, workflow_id, old), self._read(stored, workflow_id, new))

    def _read(self, stored: dict[tuple[str, int], PublishedVersion], workflow_id: str,
              version: int) -> WorkflowDefinition:
        row = stored.get((workflow_id, version))
        if row is None:
            raise NotFound("published workflow version", f"{workflow_id} v{version}")
        definition, problem = read_published(row, self.vocabulary, self._folder_templates())
        if definition is None:
            raise NotFound("readable workflow version", f"{workflow_id} v{version} ({problem})")
        return definition

    def publish(self, folder: Path, by: str) -> Published:
        """Publish the folder's new versions as `by`; files that cannot be published are left out and said why."""
        with self.db.begin() as conn:
            lock_for_publishing(conn)
            check = check_folder(folder, published_versions(conn), self.vocabulary)
            now = self.clock.now()
            for definition in check.new:
                publish(conn, definition, by, now)
        return Published(tuple((d.id, d.version) for d in check.new), check.left_out)

    def migrate(self, command: MigrateWorkflow) -> MigrationReport:
        """Move (or, in a dry run, say what would happen to) every running enrollment on older versions."""
        return Migrator(self.db, self.catalog, self.clock)(command)

    def changed_published(self, results: list[FileOutcome]) -> list[Problem]:
        """Each checked file that changes a version this database has published without raising `version`: an
        error naming the file, the version and the fix."""
        with self.reader.connect() as conn:
            stored = published_versions(conn)
        return list(against_published(results, stored).changed)
