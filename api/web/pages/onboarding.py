"""The onboarding list of the portal handout: every patient with their portal access in colour (disabled in red);
select many, then enable access and send the invitation email to each, with every row's outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from api.deps import Flow
from api.web.responses import PageRoute, render
from api.web.session import StaffSession
from engine.enrollments.onboarding import MAX_SELECTION, Onboard, Onboarded

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
WORKFLOW = "portal-invitation-reset-onboarding"
FROM_THE_TOOL = "onboarding_tool"


@router.get("/onboarding")
def onboarding(request: Request, session: StaffSession, flow: Flow, after: str = "") -> Response:
    patients = flow.people.find_patients(after=after or None, limit=MAX_SELECTION, viewer=session.user.actor)
    more = patients[-1].patient.id if len(patients) == MAX_SELECTION else None
    return render(request, "onboarding.html", session, patients=patients, more=more, results=None, error=None)


@router.post("/onboarding")
def onboard(request: Request, session: StaffSession, flow: Flow, csrf_token: Annotated[str, Form()] = "",
            patient_ids: Annotated[list[str] | None, Form()] = None, confirmed: Annotated[str, Form()] = ""
            ) -> Response:
    session.check(request, csrf_token)
    chosen = list(dict.fromkeys(patient_ids or ()))
    actor = session.user.actor
    patients = flow.people.find_patients(limit=MAX_SELECTION, viewer=actor)
    if not chosen:
        return render(request, "onboarding.html", session, 422, patients=patients, more=None, results=None,
                      error="Select at least one patient.")
    enabled = flow.onboard(Onboard(WORKFLOW, "enable_portal_access", chosen, actor,
                                   {"enable_access": FROM_THE_TOOL}))
    inputs: dict[str, object] = {"send_from": FROM_THE_TOOL}
    if confirmed == "yes":
        inputs["confirm_email_personal"] = True
    invited = flow.onboard(Onboard(WORKFLOW, "send_invitation", chosen, actor, inputs))
    names = {r.patient.id: r.patient.display_name for r in flow.people.find_patients(limit=MAX_SELECTION,
                                                                                       viewer=actor)}
    results: list[tuple[str, str, Onboarded, Onboarded]] = [
        (e.patient_id, names.get(e.patient_id, e.patient_id), e, i) for e, i in zip(enabled, invited, strict=True)]
    shown = flow.people.find_patients(limit=MAX_SELECTION, viewer=actor)
    return render(request, "onboarding.html", session, patients=shown, more=None, results=results, error=None)
