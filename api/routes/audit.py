"""The auditor's endpoints: find a history, export it (CSV, JSON lines, FHIR AuditEvent), verify the hash chains.

Auditors (and admins) read; nothing here writes. Exports stream page by page, each page in its own short read, so
a slow download never holds up the front desk.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.deps import Auditor, Flow
from api.errors import responses
from api.schemas.audit import AuditEventOut, HistoryPage, VerificationOut
from api.schemas.query import QueryDateTime
from engine.audit.reading import HistoryQuery

router = APIRouter(tags=["audit"], responses=responses(401, 403, 422))
Outcome = Literal["ok", "refused", "failed"]  # engine.audit.entry.OUTCOMES
_SINCE = "from (inclusive), with a UTC offset; earlier than until; within the years 1 to 9999 in UTC"
_UNTIL = "to (exclusive), with a UTC offset; later than since; within the years 1 to 9999 in UTC"


def history_query(
        enrollment_id: str | None = None, patient_id: str | None = None, household_id: str | None = None,
        actor_id: Annotated[str | None, Query(description="a staff user's (or system's) id")] = None,
        action: Annotated[str | None, Query(examples=["transition"])] = None,
        outcome: Annotated[Outcome | None, Query()] = None,
        since: Annotated[QueryDateTime | None, Query(description=_SINCE)] = None,
        until: Annotated[QueryDateTime | None, Query(description=_UNTIL)] = None,
        after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HistoryQuery:
    return HistoryQuery(enrollment_id=enrollment_id, patient_id=patient_id, household_id=household_id,
                        actor_id=actor_id, action=action, outcome=outcome, since=since, until=until,
                        after_id=after_id, limit=limit)


Query_ = Annotated[HistoryQuery, Depends(history_query)]


@router.get("/audit/events", response_model=HistoryPage)
def find_events(query: Query_, user: Auditor, flow: Flow) -> HistoryPage:
    """The history matching every filter, oldest first, a page at a time (for a reader kept to some sites, only
    the rows about their patients, households, enrollments and sites)."""
    found = flow.histories.find(query, viewer=user.actor)
    last = found[-1].id if len(found) == query.limit else None
    return HistoryPage(events=[AuditEventOut.model_validate(r) for r in found], next_after_id=last)


@router.get("/audit/export", response_class=StreamingResponse, responses={200: {"content": {
    "text/csv": {}, "application/x-ndjson": {}, "application/fhir+ndjson": {}},
    "description": "Every matching row (the limit is ignored), streamed"}})
def export(query: Query_, user: Auditor, flow: Flow,
           format: Annotated[Literal["csv", "jsonl", "fhir"], Query(description="csv, jsonl or fhir")] = "jsonl",
           ) -> StreamingResponse:
    """Export the whole matching history: CSV, JSON lines (every hashed field, to re-check the chains), or FHIR R4
    AuditEvent resources as NDJSON."""
    # A bad query is a 422 now, not a broken stream.
    lines, media_type = flow.histories.export(query, format, viewer=user.actor)
    extension = {"csv": "csv", "jsonl": "jsonl", "fhir": "ndjson"}[format]
    return StreamingResponse(lines, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="portalflow-audit.{extension}"'})


@router.get("/audit/verification", response_model=VerificationOut)
def verify(_: Auditor, flow: Flow) -> VerificationOut:
    """Recompute every hash chain and anchor; name the first altered row."""
    report = flow.histories.verify()
    return VerificationOut(ok=report.ok, events_checked=report.events_checked, chains=report.chains,
                           anchors_checked=report.anchors_checked, first_problem=report.first_problem)
