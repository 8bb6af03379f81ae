"""Find a patient; a patient's page (details, with what a workflow still needs marked, households, enrollments)
and its corrections; a household's page; starting an enrollment from either."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from api.deps import Flow
from api.web.responses import PageRoute, go, render
from api.web.session import Session, StaffSession
from definitions.model import Subject, WorkflowDefinition
from engine.actors import ActorRef
from engine.enrollments.start import StartEnrollment
from engine.errors import InvalidInput, NotAllowed, NotFound, Refused
from engine.front_door.flow import PortalFlow
from engine.people.practice import SiteRecord
from engine.people.subjects import Patient
from engine.views.people import PatientRecord

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
Text = Annotated[str, Form()]
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def birth_date_in(text: str) -> date | None:
    """A birth date as staff type it: 1980-04-01 or 4/1/1980 (US order)."""
    us = _US_DATE.match(text)
    try:
        if us:
            return date(int(us[3]), int(us[1]), int(us[2]))
        return date.fromisoformat(text)
    except ValueError:
        return None


def search(flow: PortalFlow, text: str, viewer: ActorRef) -> list[PatientRecord]:
    """Patients whose MRN is the text, born on the date it is, or named by it ("Doe", "Doe Jane", "Doe, Jane",
    "Jane Doe": names by prefix, any case); only those at the `viewer`'s sites."""
    text = text.strip()
    born = birth_date_in(text)
    if born is not None:
        return flow.people.find_patients(birth_date=born, viewer=viewer)
    found: dict[str, PatientRecord] = {}
    try:
        exact = flow.people.read_patient(text, viewer=viewer)
        found[exact.patient.id] = exact
    except NotFound:
        pass
    words = [w for w in re.split(r"[\s,]+", text) if w]
    tries: list[tuple[str | None, str | None]] = []  # (family, given)
    if len(words) == 1:
        tries = [(words[0], None), (None, words[0])]
    elif len(words) >= 2:
        tries = [(words[0], " ".join(words[1:])), (words[-1], " ".join(words[:-1]))]
    for family, given in tries:
        for record in flow.people.find_patients(family_name=family, given_name=given, viewer=viewer):
            found.setdefault(record.patient.id, record)
    return list(found.values())


def needs(patient: Patient) -> dict[str, str]:
    """The details a workflow will ask for that are missing or not yet confirmed, in staff words."""
    missing: dict[str, str] = {}
    if not patient.email:
        missing["email"] = "no email address: PINs by email, invitations and links need one"
    elif not patient.email_confirmed_personal:
        missing["email_confirmed_personal"] = "the email is not confirmed as the patient's own"
    if patient.name_is_placeholder:
        missing["given_name"] = "a newborn's placeholder name: the portal account needs the real one"
    if not patient.birth_date:
        missing["birth_date"] = "no birth date: registration with a PIN needs it"
    if not patient.pcp_id:
        missing["pcp_id"] = "no primary care provider"
    return missing


@router.get("/patients")
def find(request: Request, session: StaffSession, flow: Flow, q: str = "") -> Response:
    results = search(flow, q, session.user.actor) if q.strip() else []
    return render(request, "patients/search.html", session, q=q, results=results, searched=bool(q.strip()))


def _patient_page(request: Request, session: Session, flow: PortalFlow, patient_id: str, status_code: int = 200,
                  **extra: Any) -> Response:
    viewer = session.user.actor
    record = flow.people.read_patient(patient_id, viewer=viewer)
    site = flow.practice.read_site(record.patient.site_id)
    households = flow.people.read_households(record.households, viewer=viewer)
    values: dict[str, Any] = {"error": None, "saved": None, **extra}
    return render(request, "patients/patient.html", session, status_code, record=record, p=record.patient,
                  site=site, households=households, workflows=workflows_of(flow, site, Subject.PATIENT),
                  providers=flow.practice.list_providers(), needs=needs(record.patient), **values)


@router.get("/patients/{patient_id}")
def patient(request: Request, patient_id: str, session: StaffSession, flow: Flow, saved: str | None = None
            ) -> Response:
    return _patient_page(request, session, flow, patient_id, saved=saved)


def workflows_of(flow: PortalFlow, site: SiteRecord, subject: Subject) -> list[WorkflowDefinition]:
    """The workflows a site uses that start for this kind of subject, newest versions."""
    latest = [flow.catalog.latest(i) for i in flow.catalog.ids()]
    return [d for d in latest if d.subject is subject and (site.workflows is None or d.id in site.workflows)]


def _text(value: str) -> str | None:
    return value.strip() or None


@router.post("/patients/{patient_id}")
def correct(request: Request, patient_id: str, session: StaffSession, flow: Flow, csrf_token: Text = "",
            first_name: Text = "", last_name: Text = "", email: Text = "", cell_phone: Text = "",
            email_confirmed_personal: Text = "", pcp_id: Text = "", responsible_provider_id: Text = "") -> Response:
    session.check(request, csrf_token)
    current = flow.people.read_patient(patient_id, viewer=session.user.actor).patient
    wanted: dict[str, Any] = {
        "first_name": (_text(first_name), current.given_name), "last_name": (_text(last_name), current.family_name),
        "email": (_text(email), current.email), "cell_phone": (_text(cell_phone), current.cell_phone),
        "email_confirmed_personal": (email_confirmed_personal == "yes", current.email_confirmed_personal),
        "pcp_id": (_text(pcp_id), current.pcp_id),
        "responsible_provider_id": (_text(responsible_provider_id), current.responsible_provider_id)}
    changes = {name: new for name, (new, old) in wanted.items() if new != old}
    if "email" in changes:  # a new address is unconfirmed unless this very form confirms it
        changes["email_confirmed_personal"] = email_confirmed_personal == "yes"
    if not changes:
        return go(request, f"/app/patients/{patient_id}?saved=nothing")
    try:
        flow.people.update_patient(session.user.actor, patient_id, changes, where="form")
    except InvalidInput as invalid:
        return _patient_page(request, session, flow, patient_id, 422, error=f"Not saved: {invalid}.")
    return go(request, f"/app/patients/{patient_id}?saved=" + ",".join(sorted(changes)))


@router.get("/households/{household_id}")
def household(request: Request, household_id: str, session: StaffSession, flow: Flow, saved: str | None = None
              ) -> Response:
    return _household_page(request, session, flow, household_id, saved=saved)


def _household_page(request: Request, session: Session, flow: PortalFlow, household_id: str,
                    status_code: int = 200, **extra: Any) -> Response:
    found = flow.people.read_household(household_id, viewer=session.user.actor)
    site = flow.practice.read_site(found.site_id)
    values: dict[str, Any] = {"error": None, "saved": None, **extra}
    return render(request, "patients/household.html", session, status_code, h=found, site=site,
                  workflows=workflows_of(flow, site, Subject.HOUSEHOLD),
                  enrollments=flow.find_enrollments(household_id=household_id, viewer=session.user.actor), **values)


@router.post("/households/{household_id}")
def correct_household(request: Request, household_id: str, session: StaffSession, flow: Flow,
                      csrf_token: Text = "", guardian_email: Text = "", confirmed: Text = "") -> Response:
    session.check(request, csrf_token)
    current = flow.people.read_household(household_id, viewer=session.user.actor)
    changes: dict[str, Any] = {}
    if _text(guardian_email) != current.guardian_email:
        changes["guardian_email"] = _text(guardian_email)
    if (confirmed == "yes") != current.guardian_email_confirmed_personal or "guardian_email" in changes:
        changes["guardian_email_confirmed_personal"] = confirmed == "yes"
    try:
        flow.people.update_household(session.user.actor, household_id, changes)
    except InvalidInput as invalid:
        return _household_page(request, session, flow, household_id, 422, error=f"Not saved: {invalid}.")
    return go(request, f"/app/households/{household_id}?saved=yes")


@router.post("/start")
def start(request: Request, session: StaffSession, flow: Flow, workflow_id: Text, csrf_token: Text = "",
          patient_id: Text = "", household_id: Text = "", children: Annotated[list[str] | None, Form()] = None
          ) -> Response:
    session.check(request, csrf_token)
    try:
        started = flow.start(StartEnrollment(workflow_id, session.user.actor, patient_id=patient_id or None,
                                             household_id=household_id or None,
                                             selected_children=tuple(children or ())))
    except (Refused, InvalidInput, NotAllowed) as refused:
        reasons = refused.reasons if isinstance(refused, Refused) else (str(refused),)
        text = "Not started: " + "; ".join(reasons) + "."
        if household_id:
            return _household_page(request, session, flow, household_id, 422, error=text)
        return _patient_page(request, session, flow, patient_id, 422, error=text)
    return go(request, f"/app/enrollments/{started.enrollment_id}")

