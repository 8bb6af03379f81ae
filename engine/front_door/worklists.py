"""Staff worklists, what needs doing today: PINs expiring, invites waiting, households part-registered, messages
that failed; and the operator's counts behind /metrics (timers due, the outbox, transitions). Each a read at the
clock's now, and only within the viewer's walls (`engine.people.walls`), whom each read names: `EVERY_SITE` for
every site."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.clock import Clock
from engine.front_door.base import Door
from engine.people.walls import walls_of
from engine.versions.catalog import WorkflowCatalog
from engine.views import worklists
from engine.views.invites_waiting import WaitingInvite, invites_waiting
from engine.views.operations import (
    OperationCounts,
    TransitionTally,
    newest_audit_id,
    operation_counts,
    tally_transitions,
)
from engine.views.worklists import ExpiringPin, FailedMessage, PartRegisteredHousehold


class Worklists(Door):
    def __init__(self, db: Engine, clock: Clock, catalog: WorkflowCatalog) -> None:
        super().__init__(db, clock)
        self.catalog = catalog

    def pins_expiring(self, within_days: int = 7, *, include_expired: bool = True, site_id: str | None = None,
                      limit: int = worklists.DEFAULT_LIMIT, viewer: ActorRef) -> list[ExpiringPin]:
        with self.reader.connect() as conn:
            return worklists.pins_expiring(conn, self.clock.now(), self.catalog, within_days,
                                           include_expired=include_expired, site_id=site_id, limit=limit,
                                           sites=walls_of(viewer))

    def invites_waiting(self, *, window_days: int = 30, site_id: str | None = None,
                        limit: int = worklists.DEFAULT_LIMIT, viewer: ActorRef
                        ) -> list[WaitingInvite]:
        with self.reader.connect() as conn:
            return invites_waiting(conn, self.clock.now(), self.catalog, window_days=window_days,
                                   site_id=site_id, limit=limit, sites=walls_of(viewer))

    def households_part_registered(self, *, site_id: str | None = None,
                                   limit: int = worklists.DEFAULT_LIMIT, viewer: ActorRef
                                   ) -> list[PartRegisteredHousehold]:
        with self.reader.connect() as conn:
            return worklists.households_part_registered(conn, self.clock.now(), self.catalog, site_id=site_id,
                                                        limit=limit, sites=walls_of(viewer))

    def messages_failed(self, *, within_days: int | None = None, site_id: str | None = None,
                        limit: int = worklists.DEFAULT_LIMIT, viewer: ActorRef
                        ) -> list[FailedMessage]:
        with self.reader.connect() as conn:
            return worklists.messages_failed(conn, self.clock.now(), within_days=within_days, site_id=site_id,
                                             limit=limit, sites=walls_of(viewer))

    # ----- the operator's counts (metrics) ---------------------------------------------------------------------

    def operation_counts(self, overdue_after: timedelta) -> OperationCounts:
        """Timers due and overdue, the oldest due, and the outbox per open status, as the database holds them now."""
        with self.reader.connect() as conn:
            return operation_counts(conn, self.clock.now(), overdue_after)

    def tally_transitions(self, tally: TransitionTally, limit: int | None = None) -> TransitionTally:
        """`tally` (start from an empty one) brought up to date, or `limit` audit rows further: transitions per
        workflow and outcome, all time."""
        with self.reader.connect() as conn:
            return tally_transitions(conn, tally, limit)

    def newest_audit_id(self) -> int:
        """How far a transitions tally has to go (0 for an empty trail)."""
        with self.reader.connect() as conn:
            return newest_audit_id(conn)
