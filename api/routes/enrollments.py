"""Enrollments: start one, read where it stands, complete a guided step, fire a trigger.

Writes carry the enrollment version the caller saw, in `If-Match` (the ETag of a read) or in the body: a
concurrent change is answered 409 with the enrollment as it is now, never a lost update. A refusal is 422 and lists
every reason. PINs and links shown by a trigger are in that answer only (`Cache-Control: no-store`).
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Query, Request, Response, status

from api.deps import Flow, IfMatch, Reader, Staff, get_flow, reader_by_hand
from api.errors import ApiError, responses
from api.hand_resolved import hand_resolved
from api.nul_characters import refuse_nul_characters
from api.schemas.enrollments import AdvancedOut, EnrollmentOut, StartedOut, StartIn, StepDone, StepIn, TriggerIn
from api.schemas.people import EnrollmentSummaryOut
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.enrollments.steps import CompleteStep

router = APIRouter(tags=["enrollments"], responses=responses(401, 403))

# Enrollment reads a worker runs at once; the others wait their turn, first come first served. A read is mostly
# Python holding the interpreter lock, so more threads only make them take turns at random: with the thread pool's
# 40, 32 clients' reads at 1,000,000 enrollments took 30 % more CPU each and had twice the p99 (`make bench-reads`).
# Four still overlap a read's waits on the disk or on PostgreSQL. Writes keep the pool's 40: they wait for the
# write lock in a thread, and group commit gathers what is waiting (engine/storage/group_commit.py).
READS_AT_ONCE = CapacityLimiter(4)


def _version(header: int | None, body: int | None) -> int | None:
    if header is not None and body is not None and header != body:
        raise ApiError(422, "invalid_request", f"If-Match says version {header} but the body says {body}",
                       field="body.version")
    return header if header is not None else body


def etag(version: int) -> str:
    return f'"{version}"'


async def _resolve_read(request: Request, response: Response) -> dict[str, Any]:
    """read_enrollment's arguments, as FastAPI's solver would find them (api/hand_resolved.py)."""
    await refuse_nul_characters(request)  # the app's own dependency comes first
    flow = await get_flow(request)
    user = await reader_by_hand(request, flow)
    return {"enrollment_id": request.path_params["enrollment_id"], "user": user, "flow": flow, "response": response}


async def read_enrollment(enrollment_id: str, user: Reader, flow: Flow, response: Response) -> EnrollmentOut:
    """Where it stands: state and business status, each next action with what blocks it, the guided steps with
    what is done and what each needs, the timers waiting (and why), and the messages queued or sent."""
    # The hottest read: an async route sends only the engine's work to a thread; a plain `def` would go there once
    # for it and once more for FastAPI's check of the answer (it validates a `def` route's answer there).
    view = await to_thread.run_sync(flow.describe, enrollment_id, user.actor, limiter=READS_AT_ONCE)
    response.headers["ETag"] = etag(view.version)
    return EnrollmentOut.model_validate(view)


# First in the app (api/app.py includes this router first): routes are tried in order, and this is the busiest.
router.add_api_route("/enrollments/{enrollment_id}", read_enrollment, methods=["GET"], response_model=EnrollmentOut,
                     responses=responses(404), route_class_override=hand_resolved(_resolve_read))


@router.post("/enrollments", response_model=StartedOut, status_code=status.HTTP_201_CREATED,
             responses=responses(404, 422))
def start(body: StartIn, user: Staff, flow: Flow, response: Response) -> StartedOut:
    """Start an enrollment for a patient or a household (with the children selected, if the workflow asks)."""
    started = flow.start(StartEnrollment(body.workflow_id, user.actor, patient_id=body.patient_id,
                                         household_id=body.household_id,
                                         selected_children=tuple(body.selected_children)))
    response.headers["ETag"] = etag(started.version)
    response.headers["Location"] = f"/enrollments/{started.enrollment_id}"
    return StartedOut.of(started)


@router.post("/enrollments/{enrollment_id}/steps/{step_id}", response_model=StepDone,
             responses=responses(404, 409, 422))
def complete_step(enrollment_id: str, step_id: str, body: StepIn, user: Staff, flow: Flow,
                  if_match: IfMatch) -> StepDone:
    """Tick one guided step (with its input) ahead of the action it belongs to; the checklist remembers it."""
    version = flow.complete_step(CompleteStep(enrollment_id, body.trigger, step_id, body.value, user.actor,
                                              _version(if_match, body.version)))
    return StepDone(enrollment_id=enrollment_id, step_id=step_id, trigger=body.trigger, version=version)


@router.post("/enrollments/{enrollment_id}/triggers/{trigger}", response_model=AdvancedOut,
             responses=responses(404, 409, 422))
def fire_trigger(enrollment_id: str, trigger: str, body: TriggerIn, user: Staff, flow: Flow, if_match: IfMatch,
                 response: Response) -> AdvancedOut:
    """Do an action: every step and guard is checked; all of it happens, or nothing and the reasons why."""
    moved = flow.advance(AdvanceEnrollment(enrollment_id, trigger, user.actor, _version(if_match, body.version),
                                           body.inputs, body.reason))
    response.headers["ETag"] = etag(moved.version)
    return AdvancedOut.of(moved)


@router.get("/enrollments", response_model=list[EnrollmentSummaryOut])
def find_enrollments(user: Reader, flow: Flow, patient_id: str | None = None, household_id: str | None = None,
                     workflow_id: str | None = None, state: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[EnrollmentSummaryOut]:
    """Enrollments matching every filter, newest first (a patient's include their households')."""
    found = flow.find_enrollments(patient_id=patient_id, household_id=household_id, workflow_id=workflow_id,
                                  state=state, limit=limit, viewer=user.actor)
    return [EnrollmentSummaryOut.of(e) for e in found]
