"""Sites are walls: a staff user works at a set of sites (default: every site) and sees and acts only there.

The one place the front door asks. Beyond the walls a patient, household or enrollment is simply not found, in the
same words as one that does not exist: the caller never learns it is there. Lists and searches are filtered with
`only_at`. Systems and integrations (the EHR feed, the portal, the clock) are bound to no site.

Every walled read takes its viewer, with no default: a read that means every site says so (`EVERY_SITE`, or the
system's or a command's own actor), and one that forgets is a type error, not a read of every site.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.sql.elements import ColumnElement

from definitions.model import Actor
from engine.actors import ActorRef
from engine.errors import NotFound
from engine.storage.tables import enrollments, households, patients

Sites = frozenset[str] | None  # None: every site


def walls_of(actor: ActorRef) -> Sites:
    """The sites `actor` is kept to; None when every site is theirs (systems and integrations, `EVERY_SITE`)."""
    if actor.kind is not Actor.STAFF:
        return None
    return actor.sites


def only_at(column: Any, sites: Sites) -> ColumnElement[bool] | None:
    """The condition that keeps a query to `sites` (None: nothing to add)."""
    return None if sites is None else column.in_(sorted(sites))


def see_site(actor: ActorRef, site_id: str | None, kind: str, ident: str) -> None:
    """`NotFound` (as `kind` `ident`) when the site is beyond the actor's walls (None: there is no such thing)."""
    sites = walls_of(actor)
    if sites is not None and (site_id is None or site_id not in sites):
        raise NotFound(kind, ident)


def see_patient(conn: Connection, actor: ActorRef, patient_id: str) -> None:
    """`NotFound` unless the patient exists within the actor's walls."""
    if walls_of(actor) is None:
        return
    site = conn.execute(select(patients.c.site_id).where(patients.c.id == patient_id)).scalar()
    see_site(actor, site, "patient", patient_id)


def see_household(conn: Connection, actor: ActorRef, household_id: str) -> None:
    if walls_of(actor) is None:
        return
    site = conn.execute(select(households.c.site_id).where(households.c.id == household_id)).scalar()
    see_site(actor, site, "household", household_id)


def see_enrollment(conn: Connection, actor: ActorRef, enrollment_id: str) -> None:
    """`NotFound` unless the enrollment's subject (its patient, or its household) is within the actor's walls."""
    if walls_of(actor) is None:
        return
    row = conn.execute(select(enrollments.c.patient_id, enrollments.c.household_id)
                       .where(enrollments.c.id == enrollment_id)).first()
    table = households if row is not None and row.household_id else patients
    subject = (row.household_id or row.patient_id) if row is not None else None
    site = conn.execute(select(table.c.site_id).where(table.c.id == subject)).scalar() if subject else None
    see_site(actor, site, "enrollment", enrollment_id)
