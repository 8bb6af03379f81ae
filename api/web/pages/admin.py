"""The admin's pages: users (create with a first password they must change, change a role, the sites they work at,
reset a password with a reason, revoke every token), sites (new ones; details, the workflows they use, the
calendar: hours, holidays, closures, go-live), providers, and patients imported from a file."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from api.calendar_file import CalendarFileError, calendar_as_text, calendar_from_text
from api.deps import Flow
from api.web.responses import PageRoute, go, render
from api.web.session import Session, role
from engine.errors import AlreadyExists, InvalidInput, NotAllowed
from engine.front_door.flow import PortalFlow
from engine.imports.batches import ImportOptions
from engine.people.identity import MIN_PASSWORD, ROLES
from engine.people.practice import SiteRecord

router = APIRouter(prefix="/app/admin", route_class=PageRoute, include_in_schema=False)
AdminSession = Annotated[Session, role("admin")]
Text = Annotated[str, Form()]
MAX_IMPORT = 20 * 2**20


def _users(request: Request, session: Session, flow: PortalFlow, status_code: int = 200, **extra: Any
           ) -> Response:
    values: dict[str, Any] = {"error": None, "done": None, **extra}
    return render(request, "admin/users.html", session, status_code, users=flow.users.list(), roles=ROLES,
                  minimum=MIN_PASSWORD, sites=flow.practice.list_sites(), **values)


@router.get("/users")
def users(request: Request, session: AdminSession, flow: Flow, done: str | None = None) -> Response:
    return _users(request, session, flow, done=done)


@router.post("/users")
def create_user(request: Request, session: AdminSession, flow: Flow, user_id: Text = "", name: Text = "",
                user_role: Text = "staff", linked: Text = "", password: Text = "", csrf_token: Text = ""
                ) -> Response:
    """A new user with a first password set by the admin: an audited exception they must change at sign-in."""
    session.check(request, csrf_token)
    try:
        flow.users.create(session.user.actor, user_id.strip(), name, user_role, linked_to_staff_record=linked == "yes",
                          first_password=password)
    except (InvalidInput, AlreadyExists) as invalid:
        return _users(request, session, flow, 422, error=f"Not created: {invalid}.")
    return go(request, f"/app/admin/users?done=created+{user_id.strip()}")


@router.post("/users/{user_id}/role")
def change_role(request: Request, user_id: str, session: AdminSession, flow: Flow, user_role: Text = "",
                csrf_token: Text = "") -> Response:
    session.check(request, csrf_token)
    try:
        flow.users.change_role(session.user.actor, user_id, user_role)
    except InvalidInput as invalid:
        return _users(request, session, flow, 422, error=f"Role not changed: {invalid}.")
    return go(request, f"/app/admin/users?done=role+of+{user_id}")


@router.post("/users/{user_id}/password")
def reset_password(request: Request, user_id: str, session: AdminSession, flow: Flow, password: Text = "",
                   reason: Text = "", csrf_token: Text = "") -> Response:
    session.check(request, csrf_token)
    try:
        flow.users.set_password(session.user.actor, user_id, password, reason)
    except InvalidInput as invalid:
        return _users(request, session, flow, 422, error=f"Password not set: {invalid}.")
    return go(request, f"/app/admin/users?done=password+of+{user_id}")


@router.post("/users/{user_id}/sites")
def set_sites(request: Request, user_id: str, session: AdminSession, flow: Flow,
              sites: Annotated[list[str] | None, Form()] = None, csrf_token: Text = "") -> Response:
    """The sites the user works at, where alone they see and act (none ticked: every site); audited."""
    session.check(request, csrf_token)
    try:
        flow.users.set_sites(session.user.actor, user_id, sites or None)
    except InvalidInput as invalid:
        return _users(request, session, flow, 422, error=f"Sites not set: {invalid}.")
    return go(request, f"/app/admin/users?done=sites+of+{user_id}")


@router.post("/users/{user_id}/revoke")
def revoke(request: Request, user_id: str, session: AdminSession, flow: Flow, csrf_token: Text = "") -> Response:
    session.check(request, csrf_token)
    count = flow.users.revoke_tokens(session.user.actor, user_id)
    return go(request, f"/app/admin/users?done={count}+token(s)+of+{user_id}+revoked")


def _sites(request: Request, session: Session, flow: PortalFlow, status_code: int = 200, **extra: Any
           ) -> Response:
    sites = flow.practice.list_sites()
    values: dict[str, Any] = {"error": None, "done": None, "error_site": None, "calendar_text": {},
                              "imported": None, "imported_from": None, **extra}
    calendars = {ident: calendar_as_text(calendar) for ident, calendar in flow.practice.calendars().items()}
    calendars.update(values.pop("calendar_text"))
    return render(request, "admin/sites.html", session, status_code, sites=sites, calendars=calendars,
                  workflows=[flow.catalog.latest(i) for i in flow.catalog.ids()],
                  providers=flow.practice.list_providers(), **values)


@router.get("/sites")
def sites(request: Request, session: AdminSession, flow: Flow, done: str | None = None) -> Response:
    return _sites(request, session, flow, done=done)


@router.post("/sites/{site_id}")
async def update_site(request: Request, site_id: str, session: AdminSession, flow: Flow) -> Response:
    form = await request.form()
    session.check(request, str(form.get("csrf_token") or ""))
    changes: dict[str, Any] = {name: (str(form.get(name) or "").strip() or None)
                               for name in ("name", "portal_url", "phone", "from_address")}
    changes["specialist_office"] = form.get("specialist_office") == "yes"
    chosen = [str(w) for w in form.getlist("workflows")]
    changes["workflows"] = None if form.get("all_workflows") == "yes" else chosen
    calendar_text = str(form.get("calendar") or "")
    try:
        calendar = calendar_from_text(calendar_text)
        await run_in_threadpool(flow.practice.update_site, session.user.actor, site_id, changes, calendar)
    except (CalendarFileError, InvalidInput, NotAllowed) as invalid:
        return await run_in_threadpool(_sites, request, session, flow, 422, error=f"Not saved: {invalid}.",
                                error_site=site_id, calendar_text={site_id: calendar_text})
    return go(request, f"/app/admin/sites?done={site_id}")


@router.post("/sites")
def create_site(request: Request, session: AdminSession, flow: Flow, site_id: Text = "", name: Text = "",
                timezone: Text = "", portal_url: Text = "", phone: Text = "", csrf_token: Text = "") -> Response:
    session.check(request, csrf_token)
    try:
        flow.practice.create_site(session.user.actor, SiteRecord(site_id.strip(), name.strip(), timezone.strip(),
                                                                 portal_url.strip(), phone.strip() or None))
    except (InvalidInput, AlreadyExists, NotAllowed) as invalid:
        return _sites(request, session, flow, 422, error=f"Site not added: {invalid}.")
    return go(request, f"/app/admin/sites?done=site+{site_id.strip()}")


@router.post("/imports")
async def import_patients(request: Request, session: AdminSession, flow: Flow, file: UploadFile,
                          dry_run: Text = "", update: Text = "", csrf_token: Text = "") -> Response:
    """Patients and guardians from a CSV file or a FHIR R4 Bundle (JSON), as `portalflow import` takes them: only
    checked (a dry run), or correcting the patients who already exist, when ticked."""
    session.check(request, csrf_token)
    raw = await file.read(MAX_IMPORT + 1)
    name = file.filename or "the file"
    options = ImportOptions(dry_run=dry_run == "yes", update=update == "yes", source=f"import of {name} (web page)")
    try:
        if len(raw) > MAX_IMPORT:
            raise InvalidInput("file", f"{name} is over {MAX_IMPORT // 2**20} MiB: import it with `portalflow import`")
        text = raw.decode("utf-8-sig")
        if name.lower().endswith(".json"):
            report = await run_in_threadpool(flow.imports.fhir, session.user.actor, json.loads(text),
                                             options=options)
        else:
            report = await run_in_threadpool(flow.imports.csv, session.user.actor, text, options=options)
    except (InvalidInput, UnicodeDecodeError, json.JSONDecodeError) as invalid:
        return await run_in_threadpool(_sites, request, session, flow, 422,
                                       error=f"Nothing imported from {name}: {invalid}.")
    return await run_in_threadpool(_sites, request, session, flow, imported=report, imported_from=name)


@router.post("/providers")
def create_provider(request: Request, session: AdminSession, flow: Flow, provider_id: Text = "", name: Text = "",
                    csrf_token: Text = "") -> Response:
    session.check(request, csrf_token)
    try:
        flow.practice.create_provider(session.user.actor, provider_id.strip(), name.strip())
    except (InvalidInput, AlreadyExists) as invalid:
        return _sites(request, session, flow, 422, error=f"Provider not added: {invalid}.")
    return go(request, f"/app/admin/sites?done=provider+{provider_id.strip()}")

