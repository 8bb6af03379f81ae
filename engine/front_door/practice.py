"""Sites (with their calendars) and providers: admins set them up, staff read them, each call one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.calendars.site_calendar import Opening, SiteCalendar
from engine.calendars.store import load_calendar, load_calendars, save_calendar
from engine.clock import Clock
from engine.errors import InvalidInput
from engine.front_door.base import Door
from engine.people import practice
from engine.people.practice import SiteRecord
from engine.versions.catalog import WorkflowCatalog


class Practice(Door):
    def __init__(self, db: Engine, clock: Clock, catalog: WorkflowCatalog) -> None:
        super().__init__(db, clock)
        self.catalog = catalog

    def _check_workflows(self, workflows: object) -> None:
        """A site may only name workflows that are published (an empty list: it uses none)."""
        if not isinstance(workflows, list | tuple):
            return
        known = self.catalog.ids()
        for workflow_id in workflows:
            if workflow_id not in known:
                raise InvalidInput("workflows", f"no workflow '{workflow_id}'; published: {', '.join(known)}")

    def list_sites(self) -> list[SiteRecord]:
        with self.reader.connect() as conn:
            return practice.list_sites(conn)

    def create_site(self, actor: ActorRef, site: SiteRecord) -> SiteRecord:
        self._check_workflows(site.workflows)
        with self.db.begin() as conn:
            practice.create_site(conn, self.clock.now(), actor, site)
            return practice.read_site(conn, site.id)

    def read_site(self, site_id: str) -> SiteRecord:
        with self.reader.connect() as conn:
            return practice.read_site(conn, site_id)

    def update_site(self, actor: ActorRef, site_id: str, changes: dict[str, Any],
                    calendar: SiteCalendar | None = None) -> SiteRecord:
        """Change the fields given; the zone, hours, holidays and go-live are the calendar's (given one, it is
        replaced in the same transaction: both or neither). `workflows`: the ids the site uses (null: every one)."""
        self._check_workflows(changes.get("workflows"))
        with self.db.begin() as conn:
            now = self.clock.now()
            practice.update_site(conn, now, actor, site_id, changes)
            if calendar is not None:
                save_calendar(conn, site_id, calendar)
                practice.record_calendar_change(conn, now, actor, site_id)
            return practice.read_site(conn, site_id)

    def calendar(self, site_id: str) -> SiteCalendar:
        with self.reader.connect() as conn:
            return load_calendar(conn, site_id)

    def calendars(self) -> dict[str, SiteCalendar]:
        """Every site's calendar, by site id, in one short read (the admin's sites page shows them all)."""
        with self.reader.connect() as conn:
            return load_calendars(conn)

    def replace_calendar(self, actor: ActorRef, site_id: str, calendar: SiteCalendar) -> SiteCalendar:
        """Replace the site's zone, weekly hours, holiday region, closures and go-live date; audited."""
        with self.db.begin() as conn:
            save_calendar(conn, site_id, calendar)
            practice.record_calendar_change(conn, self.clock.now(), actor, site_id)
            return load_calendar(conn, site_id)

    def next_opening(self, site_id: str, at: datetime) -> Opening:
        """When the site next opens after `at`, and why not earlier: what a deferred send would say."""
        return self.calendar(site_id).next_open(at)

    def list_providers(self) -> list[tuple[str, str]]:
        with self.reader.connect() as conn:
            return practice.list_providers(conn)

    def create_provider(self, actor: ActorRef, provider_id: str, name: str) -> None:
        with self.db.begin() as conn:
            practice.create_provider(conn, self.clock.now(), actor, provider_id, name)

    def read_provider(self, provider_id: str) -> tuple[str, str]:
        with self.reader.connect() as conn:
            return practice.read_provider(conn, provider_id)
