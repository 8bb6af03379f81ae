"""The home page (what needs doing today, by role) and the staff worklists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import Flow
from api.web.responses import PageRoute, problem, render
from api.web.session import PageSession, StaffSession
from engine.actors import ActorRef
from engine.front_door.flow import PortalFlow

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)

WORKLISTS = {
    "pins-expiring": ("PINs expiring", "PINs that expire within 7 days, or have expired, and nobody registered."),
    "invites-waiting": ("Invites waiting", "Patients invited to the portal who have not activated it yet."),
    "households-part-registered": ("Households part-registered",
                                   "Households where some children are registered and others are not."),
    "messages-failed": ("Messages failed or held",
                        "Messages that could not be sent, wait for review, or were held for a missing field."),
}


def _rows(flow: PortalFlow, name: str, viewer: ActorRef) -> list[Any]:
    """The worklist's rows at the sites the viewer works at."""
    lists = flow.worklists
    if name == "pins-expiring":
        return list(lists.pins_expiring(viewer=viewer))
    if name == "invites-waiting":
        return list(lists.invites_waiting(viewer=viewer))
    if name == "households-part-registered":
        return list(lists.households_part_registered(viewer=viewer))
    return list(lists.messages_failed(viewer=viewer))


@router.get("/home")
def home(request: Request, session: PageSession, flow: Flow, changed: str | None = None) -> Response:
    counts = {}
    if session.user.role in ("staff", "admin"):
        counts = {name: len(_rows(flow, name, session.user.actor)) for name in WORKLISTS}
    return render(request, "home.html", session, worklists=WORKLISTS, counts=counts,
                  changed=changed == "password")


@router.get("/worklists/{name}")
def worklist(request: Request, name: str, session: StaffSession, flow: Flow) -> Response:
    if name not in WORKLISTS:
        return problem(request, 404, "Not found", f"There is no worklist '{name}'.")
    zones = {site.id: site.timezone for site in flow.practice.list_sites()}
    title, about = WORKLISTS[name]
    return render(request, f"worklists/{name}.html", session, title=title, about=about,
                  rows=_rows(flow, name, session.user.actor), zones=zones)
