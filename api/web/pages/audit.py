"""The auditor's pages: a history as a timeline (an enrollment's, a patient's with their households', a user's, or
any filter), whether the hash chains verify, and the exports as downloads. Read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import Flow
from api.web.responses import PageRoute, render
from api.web.session import Session, role
from engine.actors import ActorRef
from engine.audit.reading import AuditRecord, HistoryQuery
from engine.errors import InvalidInput, NotFound
from engine.front_door.flow import PortalFlow

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)
AuditorSession = Annotated[Session, role("auditor", "admin")]
PAGE = 100
_SYSTEMS = {"system": "the system (timers, delivery)", "portal": "the portal", "integration": "the EHR"}


@dataclass(frozen=True, slots=True)
class Filters:
    enrollment_id: str = ""
    patient_id: str = ""
    household_id: str = ""
    actor_id: str = ""
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None  # inclusive, as people say "to the 5th"

    def query(self, after_id: int = 0, limit: int = PAGE) -> HistoryQuery:
        def day(d: date | None, plus: int = 0) -> datetime | None:
            return datetime.combine(d + timedelta(days=plus), time(), UTC) if d else None

        return HistoryQuery(enrollment_id=self.enrollment_id or None, patient_id=self.patient_id or None,
                            household_id=self.household_id or None, actor_id=self.actor_id or None,
                            action=self.action or None, outcome=self.outcome or None, since=day(self.since),
                            until=day(self.until, 1), after_id=after_id, limit=limit)

    def params(self) -> str:
        return urlencode({k: getattr(self, k) for k in self.__slots__ if getattr(self, k)})


def _day(text: str, name: str) -> date | None:
    """A form's date box: empty, or YYYY-MM-DD (what a browser's date control sends)."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
        if day >= date.max:  # "to" adds a day
            raise ValueError
        return day
    except ValueError:
        raise InvalidInput(name, f"'{text}' is not a date written YYYY-MM-DD") from None


def filters(enrollment_id: str = "", patient_id: str = "", household_id: str = "", actor_id: str = "",
            action: str = "", outcome: Annotated[Literal["", "ok", "refused", "failed"], Query()] = "",
            since: str = "", until: str = "") -> Filters:
    return Filters(enrollment_id.strip(), patient_id.strip(), household_id.strip(), actor_id.strip(),
                   action.strip(), outcome, _day(since, "from"), _day(until, "to"))


FiltersQ = Annotated[Filters, Depends(filters)]


@dataclass(frozen=True, slots=True)
class Line:
    """One audit row as an auditor reads it."""

    record: AuditRecord
    who: str
    workflow: str
    from_status: str
    to_status: str


def _zone(flow: PortalFlow, wanted: Filters, viewer: ActorRef) -> str | None:
    """The timezone to show beside UTC: the subject's site, or the practice's when every site shares one."""
    try:
        if wanted.patient_id:
            patient = flow.people.read_patient(wanted.patient_id, viewer=viewer).patient
            return flow.practice.read_site(patient.site_id).timezone
        if wanted.household_id:
            household = flow.people.read_household(wanted.household_id, viewer=viewer)
            return flow.practice.read_site(household.site_id).timezone
    except NotFound:
        return None
    zones = {s.timezone for s in flow.practice.list_sites()}
    return zones.pop() if len(zones) == 1 else None


def lines_of(flow: PortalFlow, records: list[AuditRecord], viewer: ActorRef) -> list[Line]:
    names = {u.id: u.name for u in flow.users.list()}
    ids = sorted({r.enrollment_id for r in records if r.enrollment_id})
    where = {e.id: (e.workflow_id, e.workflow_version)
             for e in flow.find_enrollments(ids=ids, limit=len(ids) or 1, viewer=viewer)}

    def status(enrollment_id: str | None, state: str | None) -> str:
        if not state or enrollment_id not in where:
            return state or ""
        definition = flow.catalog.get(*where[enrollment_id])
        found = next((s for s in definition.states if s.id == state), None)
        return found.status if found else state

    return [Line(r, names.get(r.actor_id, _SYSTEMS.get(r.actor_id, r.actor_id)),
                 "{} v{}".format(*where[r.enrollment_id]) if r.enrollment_id in where else "",
                 status(r.enrollment_id, r.from_state), status(r.enrollment_id, r.to_state)) for r in records]


@router.get("/audit")
def timeline(request: Request, session: AuditorSession, flow: Flow, wanted: FiltersQ, after_id: int = 0) -> Response:
    searched = bool(wanted.params())
    records = flow.histories.find(wanted.query(after_id), viewer=session.user.actor) if searched else []
    more = records[-1].id if len(records) == PAGE else None
    return render(request, "audit/timeline.html", session, f=wanted, lines=lines_of(flow, records, session.user.actor),
                  searched=searched, zone=_zone(flow, wanted, session.user.actor), more=more,
                  users=flow.users.list())


@router.get("/audit/verification")
def verification(request: Request, session: AuditorSession, flow: Flow) -> Response:
    return render(request, "audit/verification.html", session, report=flow.histories.verify())


@router.get("/audit/export")
def export(session: AuditorSession, flow: Flow, wanted: FiltersQ,
           format: Annotated[Literal["csv", "jsonl", "fhir"], Query()] = "csv") -> StreamingResponse:
    lines, media_type = flow.histories.export(wanted.query(), format, viewer=session.user.actor)
    extension = {"csv": "csv", "jsonl": "jsonl", "fhir": "ndjson"}[format]
    return StreamingResponse(lines, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="portalflow-audit.{extension}"'})
