"""The workflow versions this process runs, by (id, version): every version published, loaded from the database,
whatever the designers' folder holds now. New enrollments start on a workflow's newest version; running ones stay
on the version they started on."""

from __future__ import annotations

from dataclasses import dataclass

from definitions.model import WorkflowDefinition
from engine.errors import NotFound


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A workflow file the service did not take, and why, in the designer's words (`path:line:col: message`)."""

    path: str
    problems: tuple[str, ...]


class WorkflowCatalog:
    def __init__(self, definitions: list[WorkflowDefinition], left_out: tuple[LeftOut, ...] = ()) -> None:
        self._by_key = {(d.id, d.version): d for d in definitions}
        self.left_out = left_out

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

    def ids(self) -> list[str]:
        return sorted({workflow_id for workflow_id, _ in self._by_key})
