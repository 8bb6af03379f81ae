"""The `workflow_versions` rows: each published (id, version) with its YAML, the templates it uses, its content
hash, when and by whom. A row is written once and never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, text

from definitions.model import WorkflowDefinition
from engine.clock import as_utc
from engine.storage.tables import enrollments, workflow_versions

_PUBLISH_LOCK = 7_420_311_906  # the advisory lock publishing takes on PostgreSQL


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    workflow_id: str
    version: int
    content_hash: str
    source: str
    templates: dict[str, str] | None  # None: published before templates were kept (the folder's are used)
    published_at: datetime
    published_by: str | None
    file_name: str | None


def lock_for_publishing(conn: Connection) -> None:
    """Several processes start at once (uvicorn workers): one publishes, the others then find it done."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK})


def published_versions(conn: Connection) -> list[PublishedVersion]:
    rows = conn.execute(select(workflow_versions).order_by(workflow_versions.c.workflow_id,
                                                           workflow_versions.c.version))
    return [PublishedVersion(r.workflow_id, r.version, r.content_hash, r.source, r.templates,
                             as_utc(r.published_at), r.published_by, r.file_name) for r in rows]


def publish(conn: Connection, definition: WorkflowDefinition, by: str, now: datetime) -> None:
    conn.execute(insert(workflow_versions).values(
        workflow_id=definition.id, version=definition.version, content_hash=definition.content_hash,
        source=definition.text, templates=dict(definition.templates), published_at=now, published_by=by,
        file_name=Path(definition.path).name))


def running_per_version(conn: Connection, finals: dict[tuple[str, int], list[str]]) -> dict[tuple[str, int], int]:
    """How many enrollments of each (id, version) are not in one of that version's final states."""
    found = conn.execute(select(enrollments.c.workflow_id, enrollments.c.workflow_version, enrollments.c.state,
                                func.count()).group_by(enrollments.c.workflow_id, enrollments.c.workflow_version,
                                                       enrollments.c.state))
    counts: dict[tuple[str, int], int] = {}
    for workflow_id, version, state, count in found:
        key = (workflow_id, version)
        if state not in finals.get(key, ()):
            counts[key] = counts.get(key, 0) + int(count)
    return counts
