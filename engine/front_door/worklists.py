"""Staff worklists, what needs doing today: PINs expiring, invites waiting, households part-registered, messages
that failed. Each a read at the clock's now."""

from __future__ import annotations

from sqlalchemy import Engine

from engine.clock import Clock
from engine.front_door.base import Door
from engine.versions.catalog import WorkflowCatalog
from engine.views import worklists
from engine.views.invites_waiting import WaitingInvite, invites_waiting
from engine.views.worklists import ExpiringPin, FailedMessage, PartRegisteredHousehold


class Worklists(Door):
    def __init__(self, db: Engine, clock: Clock, catalog: WorkflowCatalog) -> None:
        super().__init__(db, clock)
        self.catalog = catalog

    def pins_expiring(self, within_days: int = 7, *, include_expired: bool = True, site_id: str | None = None,
                      limit: int = worklists.DEFAULT_LIMIT) -> list[ExpiringPin]:
        with self.reader.connect() as conn:
            return worklists.pins_expiring(conn, self.clock.now(), self.catalog, within_days,
                                           include_expired=include_expired, site_id=site_id, limit=limit)

    def invites_waiting(self, *, window_days: int = 30, site_id: str | None = None,
                        limit: int = worklists.DEFAULT_LIMIT) -> list[WaitingInvite]:
        with self.reader.connect() as conn:
            return invites_waiting(conn, self.clock.now(), self.catalog, window_days=window_days,
                                   site_id=site_id, limit=limit)

    def households_part_registered(self, *, site_id: str | None = None,
                                   limit: int = worklists.DEFAULT_LIMIT) -> list[PartRegisteredHousehold]:
        with self.reader.connect() as conn:
            return worklists.households_part_registered(conn, self.clock.now(), self.catalog, site_id=site_id,
                                                        limit=limit)

    def messages_failed(self, *, within_days: int | None = None, site_id: str | None = None,
                        limit: int = worklists.DEFAULT_LIMIT) -> list[FailedMessage]:
        with self.reader.connect() as conn:
            return worklists.messages_failed(conn, self.clock.now(), within_days=within_days, site_id=site_id,
                                             limit=limit)
