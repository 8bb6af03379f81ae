"""The people an enrollment is about, and their site: read on first use, inside the caller's transaction.

A patient enrollment is about one patient; a household enrollment about its guardian and the children selected
(all of them when none is selected). Guards and effects ask for `people()` and apply to each.
"""

from __future__ import annotations

from sqlalchemy import Connection

from engine.calendars.site_calendar import SiteCalendar
from engine.calendars.store import load_calendar
from engine.fsm.rows import EnrollmentRow
from engine.people.subjects import Household, Patient, Site, load_household, load_patient, load_site


class EnrollmentSubject:
    def __init__(self, conn: Connection, row: EnrollmentRow) -> None:
        self._conn, self._row = conn, row
        self.selected: tuple[str, ...] = row.selected_children  # a children step may choose others
        self._patient: Patient | None = None
        self._household: Household | None = None
        self._site: Site | None = None
        self._calendar: SiteCalendar | None = None

    def is_household(self) -> bool:
        return self._row.household_id is not None

    def patient(self) -> Patient:
        if self._patient is None:
            if self._row.patient_id is None:
                raise LookupError("this enrollment is for a household, not a patient")
            self._patient = load_patient(self._conn, self._row.patient_id)
        return self._patient

    def household(self) -> Household:
        if self._household is None:
            if self._row.household_id is None:
                raise LookupError("this enrollment is for a patient, not a household")
            self._household = load_household(self._conn, self._row.household_id)
        return self._household

    def site(self) -> Site:
        if self._site is None:
            site_id = self.household().site_id if self.is_household() else self.patient().site_id
            self._site = load_site(self._conn, site_id)
        return self._site

    def calendar(self) -> SiteCalendar:
        if self._calendar is None:
            self._calendar = load_calendar(self._conn, self.site().id)
        return self._calendar

    def forget(self) -> None:
        """After an effect changed the subject's rows, read them afresh on next use."""
        self._patient = None
        self._household = None

    def selected_children(self) -> tuple[Patient, ...]:
        children = self.household().children
        chosen = set(self.selected)
        return tuple(c for c in children if c.id in chosen) if chosen else children

    def people(self) -> tuple[Patient, ...]:
        """The patients a per-patient guard or effect applies to: the patient, or the selected children."""
        return self.selected_children() if self.is_household() else (self.patient(),)

    def email(self) -> str | None:
        return self.household().guardian_email if self.is_household() else self.patient().email
