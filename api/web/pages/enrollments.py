"""An enrollment's page: where it stands, what this user can do now (each guided step a control of its input's
kind), what is blocked and why, what waits on the clock or the portal; and doing an action.

An action carries the enrollment version the page was drawn from: if someone changed the enrollment meanwhile,
nothing is written and the page says who changed it and offers a reload. A PIN or letter is shown in the answer to
the action only, once (every answer is `no-store`), with a print layout for the letters.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.deps import Flow
from api.web.responses import PageRoute, render
from api.web.session import ReaderSession, Session, StaffSession
from engine.actors import ActorRef
from engine.audit.reading import HistoryQuery
from engine.enrollments.advance import AdvanceEnrollment, EnrollmentAdvanced
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound, Refused
from engine.front_door.flow import PortalFlow
from engine.views.enrollment import EnrollmentView, TriggerView

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
_TYPED = ("text", "username", "email", "date")
_BY = {"system": "the system", "portal": "the patient on the portal", "integration": "the EHR"}


def _subject(flow: PortalFlow, view: EnrollmentView, viewer: ActorRef) -> dict[str, Any]:
    if view.household_id:
        household = flow.people.read_household(view.household_id, viewer=viewer)
        name = f"{household.guardian_given_name} {household.guardian_family_name}'s household"
        return {"name": name, "href": f"/app/households/{household.id}", "site_id": household.site_id,
                "children": household.children, "patient": None}
    record = flow.people.read_patient(view.patient_id or "", viewer=viewer)
    return {"name": record.patient.display_name, "href": f"/app/patients/{record.patient.id}",
            "site_id": record.patient.site_id, "children": (), "patient": record.patient}


def who_changed(flow: PortalFlow, enrollment_id: str, viewer: ActorRef) -> str:
    """The name of whoever moved the enrollment last (a person's display name, or what the system is)."""
    moved = [r for r in flow.histories.find(HistoryQuery(enrollment_id=enrollment_id, limit=1000), viewer=viewer)
             if r.to_state is not None and r.outcome == "ok"]
    if not moved:
        return "someone"
    actor = moved[-1].actor_id
    try:
        return flow.users.get(actor).name
    except NotFound:
        return _BY.get(actor, actor)


def page(request: Request, session: Session, flow: PortalFlow, enrollment_id: str, status_code: int = 200,
         **extra: Any) -> Response:
    view = flow.describe(enrollment_id, session.user.actor)
    subject = _subject(flow, view, session.user.actor)
    site = flow.practice.read_site(subject["site_id"])
    values: dict[str, Any] = {"refused": None, "refused_trigger": None, "entered": {}, "stale": None,
                              "error": None, **extra}
    refusals = flow.histories.find(HistoryQuery(enrollment_id=enrollment_id, action="credential_refused", limit=20),
                                   viewer=session.user.actor)
    return render(request, "enrollments/enrollment.html", session, status_code, e=view, subject=subject,
                  site=site, providers=flow.practice.list_providers(), by_words=_BY, refusals=refusals, **values)


@router.get("/enrollments/{enrollment_id}")
def enrollment(request: Request, enrollment_id: str, session: ReaderSession, flow: Flow) -> Response:
    """Anyone who reads enrollments sees where it stands; only staff get the action forms."""
    return page(request, session, flow, enrollment_id)


def inputs_of(trigger: TriggerView, form: FormData) -> dict[str, Any]:
    """The form's values for the trigger's steps, as `advance` takes them. A typed box is sent even when empty
    (its rule judges it: "leave the Route to box empty" is an answer); an unticked box or an unanswered choice is
    left out, and then refused as not done unless optional."""
    values: dict[str, Any] = {}
    for step in trigger.steps:
        name = f"step.{step.id}"
        if step.input_type == "children":
            chosen = form.getlist(name)
            if chosen:
                values[step.id] = [str(c) for c in chosen]
            continue
        raw = form.get(name)
        if not isinstance(raw, str) or (step.input_type is None and raw != "done"):
            continue
        if raw == "" and step.input_type not in _TYPED:
            continue  # an unticked box, an unanswered choice, an empty password: not done
        values[step.id] = True if step.input_type in (None, "confirmation") else raw
    return values


def _entered(trigger: TriggerView, form: FormData) -> dict[str, Any]:
    """What to put back in the form after a refusal: everything but secrets."""
    kept = {s.id for s in trigger.steps if s.input_type != "password"}
    return {k[5:]: (form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k)) for k in form
            if k.startswith("step.") and k[5:] in kept} | {"reason": form.get("reason") or ""}


@router.post("/enrollments/{enrollment_id}/act/{trigger_name}")
async def act(request: Request, enrollment_id: str, trigger_name: str, session: StaffSession, flow: Flow
              ) -> Response:
    form = await request.form()
    session.check(request, str(form.get("csrf_token") or ""))
    version = str(form.get("version") or "")
    view = await run_in_threadpool(flow.describe, enrollment_id, session.user.actor)
    version = version if version.isascii() and version.isdigit() and len(version) < 12 else ""
    if version and int(version) != view.version:  # drawn before someone's change: say whose
        return await run_in_threadpool(_stale, request, session, flow, enrollment_id, int(version), view)
    trigger = next((t for t in view.triggers if t.trigger == trigger_name), None)
    if trigger is None or not version.isdigit():
        return await run_in_threadpool(page, request, session, flow, enrollment_id, 422,
                                       error=f"'{trigger_name}' is not an action of this enrollment now.")
    reason = str(form.get("reason") or "").strip() or None
    command = AdvanceEnrollment(enrollment_id, trigger_name, session.user.actor, int(version),
                                inputs_of(trigger, form), reason)
    try:
        moved: EnrollmentAdvanced = await run_in_threadpool(flow.advance, command)
    except Conflict as conflict:  # changed between this page's read and the advance
        return await run_in_threadpool(_stale, request, session, flow, enrollment_id, conflict.expected, None)
    except Refused as refused:
        return await run_in_threadpool(page, request, session, flow, enrollment_id, 422, refused=refused.reasons,
                                       refused_trigger=trigger_name, entered=_entered(trigger, form))
    except (NotAllowed, InvalidInput) as failure:
        return await run_in_threadpool(page, request, session, flow, enrollment_id, 422, error=str(failure),
                                       refused_trigger=trigger_name, entered=_entered(trigger, form))
    return await run_in_threadpool(_done, request, session, flow, moved, trigger)


def _stale(request: Request, session: Session, flow: PortalFlow, enrollment_id: str, seen: int,
           view: EnrollmentView | None) -> Response:
    now = view or flow.describe(enrollment_id, session.user.actor)
    return page(request, session, flow, enrollment_id, 409, stale={
        "who": who_changed(flow, enrollment_id, session.user.actor), "status": now.status, "seen": seen,
        "now": now.version})


def _done(request: Request, session: Session, flow: PortalFlow, moved: EnrollmentAdvanced,
          trigger: TriggerView) -> Response:
    view = flow.describe(moved.enrollment_id, session.user.actor)
    subject = _subject(flow, view, session.user.actor)
    site = flow.practice.read_site(subject["site_id"])
    names = {c.id: c.display_name for c in subject["children"]}
    if subject["patient"] is not None:
        names[subject["patient"].id] = subject["patient"].display_name
    return render(request, "enrollments/done.html", session, e=view, moved=moved, trigger=trigger,
                  subject=subject, site=site, names=names)

