"""Published workflow versions: loaded from the designers' folder, pinned by (id, version, content hash).

Publishing records each version's hash and source in `workflow_versions`. A version, once published, never
changes: a file whose content differs from the published hash of the same (id, version) is refused, and the
designer is told to publish it as a new version. Running enrollments stay on the version they started on.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, insert, select, text

from definitions import AuthoringError, DefinitionInvalid, WorkflowDefinition, check_paths
from definitions.vocabulary import Vocabulary
from engine.clock import Clock
from engine.errors import NotFound
from engine.storage.tables import workflow_versions

_PUBLISH_LOCK = 7_420_311_906  # the advisory lock publishing takes on PostgreSQL


class WorkflowCatalog:
    def __init__(self, definitions: list[WorkflowDefinition]) -> None:
        self._by_key = {(d.id, d.version): d for d in definitions}

    @classmethod
    def from_folder(cls, folder: Path, vocabulary: Vocabulary | None = None, *,
                    skip_invalid: bool = False) -> WorkflowCatalog:
        """Every workflow in `folder`; an invalid file is an error, or (the running service) is left out.

        The service skips an invalid file so one designer's typo does not stop every other workflow; its
        `/health` reports the file as invalid, and `portalflow validate` says what is wrong and where.
        """
        results = check_paths([folder], vocabulary)
        errors = tuple(p for r in results for p in r.outcome.errors)
        if errors and not skip_invalid:
            raise DefinitionInvalid(errors)
        return cls([r.outcome.definition for r in results if r.outcome.definition is not None])

    def publish(self, db: Engine, clock: Clock) -> list[tuple[str, int]]:
        """Record every version not yet published; refuse a published version whose content changed."""
        published: list[tuple[str, int]] = []
        with db.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several processes start at once (uvicorn workers): one publishes, the others then find it done.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK})
            known = {(r.workflow_id, r.version): r.content_hash for r in conn.execute(select(workflow_versions))}
            for (workflow_id, version), definition in sorted(self._by_key.items()):
                stored = known.get((workflow_id, version))
                if stored is None:
                    conn.execute(insert(workflow_versions).values(
                        workflow_id=workflow_id, version=version, content_hash=definition.content_hash,
                        source=Path(definition.path).read_text(encoding="utf-8"), published_at=clock.now()))
                    published.append((workflow_id, version))
                elif stored != definition.content_hash:
                    raise AuthoringError(
                        f"{definition.path}: version {version} of '{workflow_id}' was already published with "
                        f"different content; publish the change as version {version + 1}")
        return published

    def get(self, workflow_id: str, version: int) -> WorkflowDefinition:
        definition = self._by_key.get((workflow_id, version))
        if definition is None:
            raise NotFound("workflow version", f"{workflow_id} v{version}")
        return definition

    def latest(self, workflow_id: str) -> WorkflowDefinition:
        versions = [d for (wid, _), d in self._by_key.items() if wid == workflow_id]
        if not versions:
            raise NotFound("workflow", workflow_id)
        return max(versions, key=lambda d: d.version)

    def all(self) -> list[WorkflowDefinition]:
        return [self._by_key[k] for k in sorted(self._by_key)]
