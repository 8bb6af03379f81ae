"""Start an enrollment for a patient or a household, in one transaction with its first audit row and timers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from definitions.model import Subject, WorkflowDefinition
from engine.actors import ActorRef
from engine.audit.entry import GENESIS_HEAD, about_enrollment
from engine.audit.trail import ChainTip, prepare, write
from engine.calendars.store import load_calendar
from engine.errors import NotAllowed, Refused
from engine.fsm.rows import insert_enrollment, running_for
from engine.fsm.services import Services
from engine.ids import new_id
from engine.people.subjects import load_household, load_patient, load_site
from engine.storage.tables import households, patients
from engine.timers.rows import arm_state_timers
from engine.versions.catalog import WorkflowCatalog


@dataclass(frozen=True, slots=True)
class StartEnrollment:
    workflow_id: str
    actor: ActorRef
    patient_id: str | None = None
    household_id: str | None = None
    selected_children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EnrollmentStarted:
    enrollment_id: str
    workflow_id: str
    workflow_version: int
    state: str
    status: str
    version: int


def start_enrollment(db: Engine, services: Services, catalog: WorkflowCatalog,
                     command: StartEnrollment) -> EnrollmentStarted:
    definition = catalog.latest(command.workflow_id)
    household = definition.subject is Subject.HOUSEHOLD
    if household != (command.household_id is not None) or (command.patient_id is None) == (
            command.household_id is None):
        wanted = "a household" if household else "a patient"
        raise NotAllowed(f"workflow '{definition.id}' is for {wanted}: give exactly one "
                         f"{'household_id' if household else 'patient_id'}")
    with db.begin() as conn:
        return start_in(conn, services, definition, command)


def start_in(conn: Connection, services: Services, definition: WorkflowDefinition,
             command: StartEnrollment) -> EnrollmentStarted:
    """Start an enrollment of `definition` in the caller's transaction (checked by `start_enrollment`)."""
    now = services.clock.now()
    household = definition.subject is Subject.HOUSEHOLD
    # Lock the subject's row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so two starts for
    # one subject at once cannot both find nothing running.
    subject_table = households if household else patients
    conn.execute(select(subject_table.c.id).where(
        subject_table.c.id == (command.household_id or command.patient_id)).with_for_update())
    site_id = (load_household(conn, command.household_id).site_id if command.household_id
               else load_patient(conn, str(command.patient_id)).site_id)
    site = load_site(conn, site_id)
    if not site.uses(definition.id):  # workflows are enabled per site: nothing starts for one the site does not use
        raise NotAllowed(site.not_using(definition.id, definition.title))
    active = running_for(conn, definition, patient_id=command.patient_id, household_id=command.household_id)
    if active is not None:
        active_id, state = active
        raise Refused((f"an enrollment in '{definition.title}' is already running for this "
                       f"{'household' if household else 'patient'} ({active_id}, "
                       f"'{definition.state(state).status}')",))
    enrollment_id = new_id()
    tip = ChainTip(enrollment_id, command.patient_id, command.household_id, definition.initial, GENESIS_HEAD.seq,
                   GENESIS_HEAD.hash)
    entry = about_enrollment(tip, now, command.actor, "enrollment_started", "ok", from_state=None,
                             to_state=definition.initial, detail=f"{definition.id} v{definition.version}")
    audit_rows, head = prepare([entry], GENESIS_HEAD)
    insert_enrollment(conn, enrollment_id, definition, patient_id=command.patient_id,
                      household_id=command.household_id, site_id=site_id, selected=command.selected_children,
                      head=head.hash, now=now)
    write(conn, audit_rows)
    arm_state_timers(conn, definition, enrollment_id, definition.initial, now, lambda: load_calendar(conn, site_id))
    return EnrollmentStarted(enrollment_id, definition.id, definition.version, definition.initial,
                             definition.state(definition.initial).status, 1)
