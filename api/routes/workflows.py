"""Workflows as published: list them, read one version, its diagram (Mermaid); preview a message and move running
enrollments onto a newer version (designers and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from api.deps import Designer, Flow, WorkflowReader
from api.errors import responses
from api.schemas.workflows import (
    MessagePreviewOut,
    MigrationIn,
    MigrationOut,
    WorkflowOut,
    WorkflowSummary,
    summary,
)
from definitions import render_mermaid
from definitions.model import WorkflowDefinition
from engine.enrollments.migration import MigrateWorkflow
from engine.front_door.flow import PortalFlow
from engine.views.preview import PreviewMessage

router = APIRouter(tags=["workflows"], responses=responses(401, 403))
# Two query parameters cannot be related in OpenAPI: the rule is told in words, and the engine answers 422 naming it.
_PERSON = "a real {0} at the site, if the workflow is about a {0} (not with `{1}`); none: a sample one"


def _find(flow: PortalFlow, workflow_id: str, version: int | None = None) -> WorkflowDefinition:
    return flow.catalog.latest(workflow_id) if version is None else flow.catalog.get(workflow_id, version)


@router.get("/workflows", response_model=list[WorkflowSummary])
def list_workflows(_: WorkflowReader, flow: Flow) -> list[WorkflowSummary]:
    """Every published version, newest last per workflow."""
    return [summary(d) for d in sorted(flow.catalog.all(), key=lambda d: (d.id, d.version))]


@router.get("/workflows/{workflow_id}", response_model=WorkflowOut, responses=responses(404))
def read_latest(workflow_id: str, _: WorkflowReader, flow: Flow) -> WorkflowOut:
    """The newest version: what a new enrollment starts on."""
    return WorkflowOut.of(_find(flow, workflow_id))


@router.get("/workflows/{workflow_id}/versions/{version}", response_model=WorkflowOut, responses=responses(404))
def read_version(workflow_id: str, version: int, _: WorkflowReader, flow: Flow) -> WorkflowOut:
    return WorkflowOut.of(_find(flow, workflow_id, version))


# The answer is text, its errors JSON like every other: the route keeps the JSON default so the errors are documented
# as JSON, and the 200 declares its own media type.
_DIAGRAM: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {"schema": {"type": "string"},
                                             "example": "stateDiagram-v2\n  [*] --> not_invited\n"}},
                  "description": "A Mermaid stateDiagram-v2"}}


@router.get("/workflows/{workflow_id}/diagram", response_model=None, responses={**responses(404), **_DIAGRAM})
def diagram(workflow_id: str, _: WorkflowReader, flow: Flow, version: int | None = None) -> PlainTextResponse:
    """The workflow as a Mermaid state diagram (paste it into any Mermaid viewer)."""
    return PlainTextResponse(render_mermaid(_find(flow, workflow_id, version)))


@router.post("/workflows/{workflow_id}/migrations", response_model=MigrationOut, responses=responses(404, 422))
def migrate(workflow_id: str, body: MigrationIn, designer: Designer, flow: Flow) -> MigrationOut:
    """Move the running enrollments on older versions to `to_version`, each in its own transaction with its history
    entry (from version/state, to version/state, who, why); or, with `dry_run`, say what would happen to each.
    Blocked ones stay as they are and say why. Run it again to move what is left: each moves once."""
    report = flow.versions.migrate(MigrateWorkflow(workflow_id, body.to_version, designer.actor, body.map,
                                                   body.reason, body.dry_run, body.limit))
    return MigrationOut.of(report)


@router.get("/workflows/{workflow_id}/messages/{message_id}/preview", response_model=MessagePreviewOut,
            responses=responses(404, 422))
def preview(workflow_id: str, message_id: str, site: str, user: Designer, flow: Flow, version: int | None = None,
            patient: Annotated[str | None, Query(description=_PERSON.format("patient", "household"))] = None,
            household: Annotated[str | None, Query(description=_PERSON.format("household", "patient"))] = None,
            ) -> MessagePreviewOut:
    """The message as it would be written now for `site` and a real `patient` or `household` (default: a sample
    one), with [PIN] or [one-time link] where the secret goes; `held` says why it would not be sent instead."""
    return MessagePreviewOut.of(flow.preview(PreviewMessage(message_id, site, workflow_id, version, patient,
                                                            household), viewer=user.actor))
