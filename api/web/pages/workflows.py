"""The designer's pages: the workflows and their published versions with what was left out and why, each
version's diagram (an enrollment's current state highlighted), a draft checked with each problem at its line, and
a message previewed for a site."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, UploadFile

from api.deps import Flow
from api.web.responses import PageRoute, render
from api.web.session import Session, role
from definitions import render_dot
from engine.views.preview import PreviewMessage

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
DesignerSession = Annotated[Session, role("designer", "admin")]
# The diagram is for anyone who reads workflows: staff reach it from an enrollment page.
ReaderSession = Annotated[Session, role("staff", "designer", "auditor", "admin")]
MAX_DRAFT = 512 * 1024


@router.get("/workflows")
def workflows(request: Request, session: DesignerSession, flow: Flow) -> Response:
    return render(request, "workflows/list.html", session, versions=flow.versions.listing(),
                  left_out=flow.catalog.left_out)


@router.get("/workflows/{workflow_id}/versions/{version}")
def version_page(request: Request, workflow_id: str, version: int, session: ReaderSession, flow: Flow,
                 state: str | None = None, enrollment: str | None = None) -> Response:
    definition = flow.catalog.get(workflow_id, version)
    current = next((s for s in definition.states if s.id == state), None)
    return render(request, "workflows/version.html", session, d=definition,
                  dot=render_dot(definition, current.id if current else None), current=current,
                  enrollment=enrollment, sites=flow.practice.list_sites())


@router.get("/workflows/check")
def check_page(request: Request, session: DesignerSession) -> Response:
    return render(request, "workflows/check.html", session, text="", outcome=None, name="draft.yaml",
                  error=None)


@router.post("/workflows/check")
async def check(request: Request, session: DesignerSession, flow: Flow, csrf_token: Annotated[str, Form()] = "",
                text: Annotated[str, Form()] = "", file: UploadFile | None = None) -> Response:
    session.check(request, csrf_token)
    name = "draft.yaml"
    if file is not None and file.filename:
        raw = await file.read(MAX_DRAFT + 1)
        name = file.filename
        if len(raw) > MAX_DRAFT:
            return render(request, "workflows/check.html", session, 422, text="", outcome=None, name=name,
                          error=f"{name} is over {MAX_DRAFT // 1024} KiB: a workflow is far smaller")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return render(request, "workflows/check.html", session, 422, text="", outcome=None, name=name,
                          error=f"{name} is not UTF-8 text")
    outcome = flow.versions.check_draft(text, name)
    by_line: dict[int, list[str]] = {}
    for problem in outcome.problems:
        by_line.setdefault(problem.position.line, []).append(str(problem))
    return render(request, "workflows/check.html", session, 200 if outcome.definition else 422, text=text,
                  outcome=outcome, name=name, error=None, lines=text.splitlines(), by_line=by_line)


@router.get("/workflows/{workflow_id}/versions/{version}/messages/{message_id}")
def preview(request: Request, workflow_id: str, version: int, message_id: str, site: str,
            session: DesignerSession, flow: Flow, patient: str = "") -> Response:
    shown = flow.preview(PreviewMessage(message_id, site, workflow_id, version, patient_id=patient.strip() or None),
                         viewer=session.user.actor)
    return render(request, "workflows/preview.html", session, p=shown, site_id=site, patient=patient)
