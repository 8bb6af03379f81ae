"""`PortalFlow`, the engine's front door: the enrollment commands, and the services hung on it for everything else.

Built by `engine.bootstrap.build`; the API, the CLI and the pages hold one and call it. Every method owns its
transaction; nothing here is specific to HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from sqlalchemy import Engine, text

from engine.actors import ActorRef
from engine.background.jobs import BackgroundJobs, one_round
from engine.background.sweep import Sweeper
from engine.enrollments.advance import AdvanceEnrollment, Advancer, EnrollmentAdvanced
from engine.enrollments.intake import EventIntake, IntakeEvent, IntakeResult
from engine.enrollments.onboarding import Onboard, Onboarded, Onboarding
from engine.enrollments.portal import PresentPin, present_link, present_pin, report_activation
from engine.enrollments.portal_accounts import SelfService, report_first_login
from engine.enrollments.start import EnrollmentStarted, StartEnrollment, start_enrollment
from engine.enrollments.steps import CompleteStep, complete_step
from engine.front_door.histories import Histories
from engine.front_door.imports import Imports
from engine.front_door.people import People
from engine.front_door.practice import Practice
from engine.front_door.users import Users
from engine.front_door.versions import Versions
from engine.front_door.worklists import Worklists
from engine.fsm.services import Services
from engine.messaging.delivery import DeliveryWorker
from engine.people import walls
from engine.storage.database import reading
from engine.versions.catalog import WorkflowCatalog
from engine.views.enrollment import EnrollmentView, describe_enrollment
from engine.views.people import EnrollmentSummary, find_enrollments
from engine.views.preview import MessagePreview, PreviewMessage, preview_message

ANCHOR_EVERY = timedelta(hours=1)  # the longest stretch of a patient's or user's history no anchor yet binds

@dataclass
class PortalFlow:
    """Commands in, events out; `people`, `practice`, `users`, `histories`, `worklists`, `imports` and `versions`
    for the rest."""

    db: Engine
    services: Services
    catalog: WorkflowCatalog
    advancer: Advancer
    sweeper: Sweeper
    delivery: DeliveryWorker
    intake: EventIntake
    people: People
    practice: Practice
    users: Users
    histories: Histories
    worklists: Worklists
    imports: Imports
    versions: Versions

    @cached_property
    def reader(self) -> Engine:
        """The database for reads only: on SQLite they neither wait for nor hold up writers. Made once: making
        it (`Engine.execution_options`) cost about as much as a read's statement, on every request."""
        return reading(self.db)

    # ----- enrollments --------------------------------------------------------------------------------------

    # Beyond the acting user's walls (engine.people.walls) a subject or an enrollment is not found: each command
    # and read here looks first, on the read side, and only when the actor is kept to some sites.

    def start(self, command: StartEnrollment) -> EnrollmentStarted:
        self._see(command.actor, patient_id=command.patient_id, household_id=command.household_id)
        return start_enrollment(self.db, self.services, self.catalog, command)

    def advance(self, command: AdvanceEnrollment) -> EnrollmentAdvanced:
        self._see(command.actor, enrollment_id=command.enrollment_id)
        return self.advancer(command)

    def complete_step(self, command: CompleteStep) -> int:
        self._see(command.actor, enrollment_id=command.enrollment_id)
        return complete_step(self.db, self.services, self.catalog, command)

    def describe(self, enrollment_id: str, actor: ActorRef) -> EnrollmentView:
        """The enrollment as `actor` sees it now: next actions with every reason they are blocked, guided steps,
        timers waiting and why, messages. Writes nothing."""
        self._see(actor, enrollment_id=enrollment_id)
        return describe_enrollment(self.reader, self.services, self.catalog, enrollment_id, actor)

    def _see(self, actor: ActorRef, *, patient_id: str | None = None, household_id: str | None = None,
             enrollment_id: str | None = None) -> None:
        if walls.walls_of(actor) is None:
            return
        with self.reader.connect() as conn:
            if patient_id is not None:
                walls.see_patient(conn, actor, patient_id)
            if household_id is not None:
                walls.see_household(conn, actor, household_id)
            if enrollment_id is not None:
                walls.see_enrollment(conn, actor, enrollment_id)

    def preview(self, query: PreviewMessage, *, viewer: ActorRef) -> MessagePreview:
        """A workflow's message as it would be written now for a site and a patient (or a sample one), with
        placeholders for its PIN or link, or the reason it would be held. Writes nothing. A real patient or
        household must be within the `viewer`'s walls."""
        self._see(viewer, patient_id=query.patient_id, household_id=query.household_id)
        with self.reader.connect() as conn:
            return preview_message(conn, self.services.renderer, self.catalog, query,
                                   self.services.clock.now().date())

    def find_enrollments(self, *, patient_id: str | None = None, household_id: str | None = None,
                         workflow_id: str | None = None, state: str | None = None,
                         ids: Sequence[str] | None = None, limit: int = 50,
                         viewer: ActorRef) -> list[EnrollmentSummary]:
        """Enrollments matching every filter, newest first (a patient's include their households'); only those
        within the `viewer`'s walls."""
        with self.reader.connect() as conn:
            return find_enrollments(conn, self.catalog, patient_id=patient_id, household_id=household_id,
                                    workflow_id=workflow_id, state=state, ids=ids, limit=limit,
                                    sites=walls.walls_of(viewer))

    def onboard(self, command: Onboard) -> list[Onboarded]:
        """One action for many patients, each handled alone; the answer says, per patient, what happened."""
        return Onboarding(self.db, self.catalog, self.start, self.advance)(command)

    # ----- the EHR and the portal -----------------------------------------------------------------------------

    def receive(self, event: IntakeEvent) -> IntakeResult:
        return self.intake(event)

    def present_pin(self, command: PresentPin) -> EnrollmentAdvanced:
        return present_pin(self.advancer, command)

    def present_link(self, token: str, trigger: str | None = None) -> EnrollmentAdvanced:
        return present_link(self.advancer, token, trigger)

    def report_activation(self, patient_id: str, source: ActorRef) -> list[EnrollmentAdvanced]:
        return report_activation(self.advancer, patient_id, source)

    def report_first_login(self, username: str) -> list[EnrollmentAdvanced]:
        """The portal says this account logged in and replaced its temporary password."""
        return report_first_login(self.advancer, username)

    def request_self_service(self, email: str, birth_date: date) -> int:
        """A patient asks, on the portal's login screen, to set up the account or reset the password; a link goes
        out when the chart meets the conditions. The number is for logs: the portal's answer never varies."""
        return SelfService(self.advancer)(email, birth_date)

    # ----- the service itself ---------------------------------------------------------------------------------

    def background_round(self) -> str:
        """Fire what is due, send what may go, then anchor the history if it grew and the last anchor is an hour
        old: one line of counts (never content)."""
        done = one_round(self.sweeper, self.delivery)
        anchored = self.histories.anchor_if_due(ANCHOR_EVERY)
        return f"{done}; anchor: {anchored if anchored is not None else 'none needed'}"

    def background_jobs(self, interval_seconds: float) -> BackgroundJobs:
        return BackgroundJobs(self.background_round, interval_seconds)

    def database_answers(self) -> str:
        """The database's dialect name, once it answered a trivial query (for health checks)."""
        with self.reader.connect() as conn:
            conn.execute(text("SELECT 1"))
        return self.db.dialect.name

    def close(self) -> None:
        """Release the database's connections (the process is done with this flow)."""
        self.db.dispose()
