"""What a patient does about the portal account itself: the first login that replaces a staff-set password, and
asking on the portal's login screen to set the account up or reset its password.

Neither answer says anything to the caller: an unknown patient, one whose chart does not meet the conditions and
one that was helped read the same (`no answer reveals whether an account exists`). What happened, and why not,
is in the patient's or the enrollment's history for staff.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from definitions.model import Actor, Subject, WorkflowDefinition
from engine.actors import PORTAL_ACTOR
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.enrollments.advance import AdvanceEnrollment, Advancer, EnrollmentAdvanced
from engine.enrollments.start import StartEnrollment, start_in
from engine.errors import Conflict, NotAllowed, Refused
from engine.fsm.rows import running_for
from engine.people.subjects import load_site
from engine.storage.tables import enrollments, patients, portal_accounts

FIRST_LOGIN = "first_login_password_changed"
SELF_SERVICE = "self_service_requested"


def report_first_login(advancer: Advancer, username: str) -> list[EnrollmentAdvanced]:
    """The portal says the account `username` logged in and replaced its temporary password: each running
    enrollment of its patients waiting for that moves (and the account no longer must change its password)."""
    with advancer.db.connect() as conn:
        owners = select(patients.c.id).join(portal_accounts, portal_accounts.c.id == patients.c.portal_account_id)\
            .where(func.lower(portal_accounts.c.username) == username.strip().lower())
        rows = conn.execute(select(enrollments.c.id, enrollments.c.workflow_id, enrollments.c.workflow_version,
                                   enrollments.c.state).where(enrollments.c.patient_id.in_(owners))).all()
    moved: list[EnrollmentAdvanced] = []
    for row in rows:
        definition = advancer.catalog.get(row.workflow_id, row.workflow_version)
        if any(t.trigger == FIRST_LOGIN and t.by is Actor.PORTAL for t in definition.transitions_from(row.state)):
            try:
                moved.append(advancer(AdvanceEnrollment(row.id, FIRST_LOGIN, PORTAL_ACTOR)))
            except (Refused, Conflict, NotAllowed):
                continue  # recorded in the enrollment's history by the advancer
    return moved


class SelfService:
    """A patient asks, on the portal's login screen, to set up the account or reset the password."""

    def __init__(self, advancer: Advancer) -> None:
        self.advancer = advancer

    def __call__(self, email: str, birth_date: date) -> int:
        """How many enrollments sent a link (for the caller's log only: the portal's answer is always the same)."""
        with self.advancer.db.connect() as conn:
            found = conn.execute(select(patients.c.id, patients.c.site_id).where(
                (func.lower(patients.c.email) == email.strip().lower()) & (patients.c.birth_date == birth_date)
            ).order_by(patients.c.id)).all()
        sent = 0
        for patient_id, site_id in found:
            for definition in self._offering(site_id):
                sent += self._request(patient_id, definition)
        return sent

    def _offering(self, site_id: str) -> list[WorkflowDefinition]:
        catalog = self.advancer.catalog
        with self.advancer.db.connect() as conn:
            site = load_site(conn, site_id)
        newest = [catalog.latest(workflow_id) for workflow_id in catalog.ids()]
        return [d for d in newest if d.subject is Subject.PATIENT and site.uses(d.id)
                and any(t.trigger == SELF_SERVICE and t.by is Actor.PORTAL for t in d.transitions)]

    def _request(self, patient_id: str, definition: WorkflowDefinition) -> int:
        """The running enrollment, or a new one, fires the request; a new one that is refused is not kept."""
        try:
            with self.advancer.db.begin() as conn:
                running = running_for(conn, definition, patient_id=patient_id)
                enrollment_id = running[0] if running else self._start(conn, definition, patient_id)
                try:
                    self.advancer.advance_in(conn, AdvanceEnrollment(enrollment_id, SELF_SERVICE, PORTAL_ACTOR))
                except (Refused, NotAllowed) as refusal:
                    if running is None:
                        raise _Undo(refusal) from None
                    return 0  # its history has the refusal (the advancer recorded it)
                return 1
        except _Undo as undo:  # nothing was started: the refusal goes into the patient's own history
            with self.advancer.db.begin() as conn:
                append_to_subject(conn, about_subject(
                    "patient", patient_id, self.advancer.services.clock.now(), PORTAL_ACTOR, SELF_SERVICE,
                    "refused", detail=f"{definition.id}: {undo.refusal}"))
            return 0

    def _start(self, conn: Connection, definition: WorkflowDefinition, patient_id: str) -> str:
        started = start_in(conn, self.advancer.services, definition,
                           StartEnrollment(definition.id, PORTAL_ACTOR, patient_id=patient_id))
        return started.enrollment_id


class _Undo(Exception):
    def __init__(self, refusal: Exception) -> None:
        self.refusal = refusal
