"""Load the workflow versions to run: every version published, from the database, and the designers' folder
checked against them — a new version is published, a file that changed a published version is left out.

One rule for every workflow file that cannot be taken: it is left out, with its problems (`path:line:col:
message`), and the service goes on with the rest. A broken file and a file that changed a published version
without raising `version` are the same kind of mistake, and neither stops the front desk. `portalflow validate
--database-url` reports both before they matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from definitions import check_paths
from definitions.builder import Surroundings
from definitions.catalog import FileOutcome
from definitions.errors import Position, Problem, Severity
from definitions.loader import read_workflow, surroundings_of
from definitions.model import WorkflowDefinition
from definitions.vocabulary import Vocabulary
from engine.versions.catalog import LeftOut, WorkflowCatalog
from engine.versions.store import PublishedVersion, lock_for_publishing, publish, published_versions

SERVICE = "service"  # who publishes the new versions the service finds on start


@dataclass(frozen=True, slots=True)
class FolderCheck:
    """The designers' folder against the published versions: the new versions it holds, and what it gets wrong."""

    new: tuple[WorkflowDefinition, ...]
    left_out: tuple[LeftOut, ...]
    problems: tuple[Problem, ...]  # every error, as validate prints them
    changed: tuple[Problem, ...] = ()  # those that change a published version without raising `version`


def load(db: Engine, folder: Path | None, vocabulary: Vocabulary, now: datetime, *, publish_new: bool = True,
         by: str = SERVICE) -> tuple[WorkflowCatalog, FolderCheck]:
    """Publish the folder's new versions (unless told not to: then the folder only lends its templates to versions
    published before templates were kept), then every published version, and the files left out and why."""
    with db.begin() as conn:
        lock_for_publishing(conn)
        stored = published_versions(conn)
        check = FolderCheck((), (), ())
        if folder is not None and publish_new:
            check = check_folder(folder, stored, vocabulary)
        for definition in check.new:
            publish(conn, definition, by, now)
    definitions, broken = from_rows([*stored, *check.new], vocabulary, folder)
    return WorkflowCatalog(definitions, (*check.left_out, *broken)), check


def from_rows(rows: list[PublishedVersion | WorkflowDefinition], vocabulary: Vocabulary,
              folder: Path | None) -> tuple[list[WorkflowDefinition], list[LeftOut]]:
    """The definitions of published versions, each read from its own stored text and templates."""
    definitions: list[WorkflowDefinition] = []
    broken: list[LeftOut] = []
    folder_templates = dict(surroundings_of(folder).template_texts) if folder is not None and folder.is_dir() else {}
    for row in rows:
        if isinstance(row, WorkflowDefinition):
            definitions.append(row)
            continue
        definition, problem = read_published(row, vocabulary, folder_templates)
        if definition is None:
            broken.append(LeftOut(f"published {row.workflow_id} v{row.version}", (problem,)))
        else:
            definitions.append(definition)
    return definitions, broken


def read_published(row: PublishedVersion, vocabulary: Vocabulary,
                   folder_templates: dict[str, str]) -> tuple[WorkflowDefinition | None, str]:
    """A published version as it was published; (None, why) when it no longer reads the same."""
    templates = row.templates if row.templates is not None else folder_templates
    surroundings = Surroundings(templates=frozenset(templates), sources_root=None,
                                template_texts=tuple(sorted(templates.items())))
    where = f"{row.workflow_id} v{row.version} (published)"
    outcome = read_workflow(row.source, where, vocabulary, surroundings)
    if outcome.definition is None:
        return None, "; ".join(str(p) for p in outcome.errors) or "it no longer reads as a workflow"
    if outcome.definition.content_hash != row.content_hash:
        return None, (f"{where}: its templates are no longer the ones it was published with (it was published "
                      "before templates were kept with their version): restore them from version control")
    return outcome.definition, ""


def check_folder(folder: Path, stored: list[PublishedVersion], vocabulary: Vocabulary) -> FolderCheck:
    """Each file of `folder`: invalid (left out), the same as its published version, a changed published version
    (left out: an error naming the fix), or a new version."""
    return against_published(check_paths([folder], vocabulary), stored)


def against_published(results: list[FileOutcome], stored: list[PublishedVersion]) -> FolderCheck:
    published = {(r.workflow_id, r.version): r for r in stored}
    newest: dict[str, int] = {}
    for r in stored:
        newest[r.workflow_id] = max(newest.get(r.workflow_id, 0), r.version)
    new: list[WorkflowDefinition] = []
    left_out: list[LeftOut] = []
    problems: list[Problem] = []
    changed: list[Problem] = []
    for result in results:
        errors = result.outcome.errors
        definition = result.outcome.definition
        if definition is not None:
            known = published.get((definition.id, definition.version))
            if known is None:
                new.append(definition)
                continue
            if known.content_hash == definition.content_hash:
                continue
            errors = (_changed(result.path, definition, known, newest[definition.id]),)
            changed += errors
        problems += errors
        left_out.append(LeftOut(str(result.path), tuple(str(p) for p in errors)))
    return FolderCheck(tuple(new), tuple(left_out), tuple(problems), tuple(changed))


def _changed(path: Path, definition: WorkflowDefinition, known: PublishedVersion, newest: int) -> Problem:
    by = f" by {known.published_by}" if known.published_by else ""
    return Problem(Position(str(path), _version_line(definition.text), 1),
                   f"version {definition.version} of '{definition.id}' was already published{by} on "
                   f"{known.published_at:%Y-%m-%d %H:%M} UTC with different content: raise `version` to "
                   f"{newest + 1} to publish the change (running enrollments stay on version {definition.version})",
                   Severity.ERROR)


def _version_line(text: str) -> int:
    found = re.search(r"^version\s*:", text, re.M)
    return text.count("\n", 0, found.start()) + 1 if found else 1
