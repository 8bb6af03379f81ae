"""Patients and households: create, find, read and correct them, each call one transaction.

A patient's demographic fields change through event intake, as an EHR's change would (a field the invite
workflow requires re-triggers it), in the same transaction as the practice's own fields: a correction is applied
whole or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.clock import Clock
from engine.enrollments.corrections import correct_patient_in
from engine.enrollments.intake import EventIntake
from engine.front_door.base import Door
from engine.people import finding, patients, walls
from engine.people.demographics import COLUMNS, check_changes
from engine.people.subjects import Household, load_household, load_households
from engine.versions.catalog import WorkflowCatalog
from engine.views.people import PatientRecord, patient_record, patient_records


@dataclass(frozen=True, slots=True)
class PatientUpdated:
    record: PatientRecord
    changed: tuple[str, ...]  # the fields whose value really changed
    event: str | None  # what the demographic change did (e.g. "acted: ... invite re-sent"), when there was one


class People(Door):
    def __init__(self, db: Engine, clock: Clock, catalog: WorkflowCatalog, intake: EventIntake) -> None:
        super().__init__(db, clock)
        self.catalog, self.intake = catalog, intake

    # Every read takes its `viewer` and every write its actor, never by default: beyond their walls
    # (engine.people.walls) a patient or household is not found. A read of every site says so: `EVERY_SITE`.

    def create_patient(self, actor: ActorRef, new: patients.NewPatient, *, where: str = "") -> PatientRecord:
        walls.see_site(actor, new.site_id, "site", new.site_id)
        with self.db.begin() as conn:
            patients.create_patient(conn, self.clock.now(), actor, new, where=where)
        return self.read_patient(new.id, viewer=actor)

    def read_patient(self, patient_id: str, *, viewer: ActorRef) -> PatientRecord:
        with self.reader.connect() as conn:
            walls.see_patient(conn, viewer, patient_id)
            return patient_record(conn, self.catalog, patient_id)

    def find_patients(self, *, site_id: str | None = None, family_name: str | None = None,
                      given_name: str | None = None, birth_date: date | None = None, after: str | None = None,
                      limit: int = 50, viewer: ActorRef) -> list[PatientRecord]:
        """Patients matching every filter given (names by prefix, any case), in id order, a page at a time."""
        with self.reader.connect() as conn:
            ids = finding.find_patients(conn, site_id=site_id, family_name=family_name, given_name=given_name,
                                        birth_date=birth_date, limit=limit, after=after,
                                        sites=walls.walls_of(viewer))
            return patient_records(conn, self.catalog, ids)

    def update_patient(self, actor: ActorRef, patient_id: str, changes: Mapping[str, Any], *,
                       where: str = "") -> PatientUpdated:
        """Correct a patient's details in one transaction (`engine.enrollments.corrections`, the path an import's
        update takes too): every value is checked before anything is written; then the demographics (which may
        re-trigger the invite, and say again whether a renamed newborn's name is a placeholder), then the
        practice's own fields, so a flag sent explicitly wins."""
        check_changes({k: v for k, v in changes.items() if k in COLUMNS}, where=where or "changes")
        with self.db.begin() as conn:
            done = correct_patient_in(conn, self.intake, self.clock.now(), actor, patient_id, changes,
                                      where=where or "changes")
        return PatientUpdated(self.read_patient(patient_id, viewer=actor), done.changed, done.event)

    def create_household(self, actor: ActorRef, new: patients.NewHousehold, members: Sequence[str], *,
                         where: str = "") -> Household:
        """A guardian's household with its children, in order (the first child is the one the welcome goes to)."""
        walls.see_site(actor, new.site_id, "site", new.site_id)
        with self.db.begin() as conn:
            for member in members:
                walls.see_patient(conn, actor, member)
            patients.create_household(conn, self.clock.now(), actor, new, members, where=where)
            return load_household(conn, new.id)

    def read_household(self, household_id: str, *, viewer: ActorRef) -> Household:
        with self.reader.connect() as conn:
            walls.see_household(conn, viewer, household_id)
            return load_household(conn, household_id)

    def read_households(self, household_ids: Sequence[str], *, viewer: ActorRef) -> list[Household]:
        """These households in the order given, those beyond the `viewer`'s walls (or unknown) left out; in two
        queries however many (a patient's page shows each household the patient belongs to)."""
        with self.reader.connect() as conn:
            sites = walls.walls_of(viewer)
            return [h for h in load_households(conn, household_ids) if sites is None or h.site_id in sites]

    def list_households(self, *, site_id: str | None = None, after: str | None = None, limit: int = 50,
                        viewer: ActorRef) -> list[Household]:
        """Households in id order, a page at a time, with their children: three queries whatever the page's
        length."""
        with self.reader.connect() as conn:
            return load_households(conn, finding.list_households(conn, site_id=site_id, limit=limit, after=after,
                                                                 sites=walls.walls_of(viewer)))

    def update_household(self, actor: ActorRef, household_id: str, changes: Mapping[str, Any]) -> Household:
        """Correct the guardian's name or email, or confirm the email is correct and personal."""
        with self.db.begin() as conn:
            walls.see_household(conn, actor, household_id)
            patients.update_household(conn, self.clock.now(), actor, household_id, changes)
            return load_household(conn, household_id)

    def add_member(self, actor: ActorRef, household_id: str, patient_id: str, *, where: str = "") -> Household:
        """Add a child after the last one (nothing changes if the child is already a member)."""
        with self.db.begin() as conn:
            walls.see_household(conn, actor, household_id)
            walls.see_patient(conn, actor, patient_id)
            patients.add_household_member(conn, self.clock.now(), actor, household_id, patient_id, where=where)
            return load_household(conn, household_id)
