"""Staff worklists: what needs a person's attention, across enrollments.

- `pins_expiring`: open PINs (not used, revoked or locked) of patients without a portal account, expiring within
  the next days. Already expired ones are included by default (`include_expired`), flagged, with negative
  `days_left`: an expired PIN nobody replaced still leaves a patient unable to register, and regenerating it is
  the very next thing staff do. A patient with a portal account needs no PIN, so theirs are left out.
- `invites_waiting` (in `engine.views.invites_waiting`): invitations waiting for the patient to follow them.
- `households_part_registered`: household enrollments, not finished, where some but not all of the selected
  children (all children when none were selected) already have a portal account.
- `messages_failed`: outbox rows that failed, were held (a field their template prints is empty) or wait for
  review, newest first. Never the body.

Each takes a connection and the current time, an optional site, a limit, and the viewer's walls (`sites`).
Lists are ordered so the most urgent rows come first (soonest expiry, longest wait), except failed messages (newest
first: the oldest are the most likely to have been dealt with already).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from definitions.model import Subject
from engine.clock import as_utc
from engine.errors import NotFound
from engine.storage.tables import credentials, enrollments, household_members, households, outbox, patients
from engine.versions.catalog import WorkflowCatalog
from engine.views.ordered import first_rows

DEFAULT_LIMIT = 200
FAILED_STATUSES = ("failed", "review", "held")  # what the failed-messages worklist lists
Sites = frozenset[str] | None  # the viewer's walls (engine.people.walls): None is every site


@dataclass(frozen=True, slots=True)
class ExpiringPin:
    patient_id: str
    display_name: str
    site_id: str
    enrollment_id: str
    workflow_id: str
    state: str
    status: str
    issued_at: datetime
    expires_at: datetime
    days_left: int  # whole days, rounded down: negative once expired
    expired: bool
    printed: bool  # marked "do not send PIN": the patient only has it on paper


@dataclass(frozen=True, slots=True)
class Child:
    patient_id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class PartRegisteredHousehold:
    enrollment_id: str
    workflow_id: str
    household_id: str
    guardian_name: str
    site_id: str
    state: str
    status: str
    registered: tuple[Child, ...]
    pending: tuple[Child, ...]
    waiting_since: datetime
    days_waiting: int


@dataclass(frozen=True, slots=True)
class FailedMessage:
    outbox_id: int
    enrollment_id: str
    workflow_id: str
    patient_id: str | None
    household_id: str | None
    site_id: str
    message_id: str
    channel: str
    recipient: str | None
    subject: str | None
    status: str  # failed | review | held
    detail: str | None
    attempts: int
    created_at: datetime


def pins_expiring(conn: Connection, now: datetime, catalog: WorkflowCatalog, within_days: int = 7, *,
                  include_expired: bool = True, site_id: str | None = None,
                  limit: int = DEFAULT_LIMIT, sites: Sites) -> list[ExpiringPin]:
    horizon = now + timedelta(days=within_days)
    window = credentials.c.expires_at <= horizon
    if not include_expired:
        window = window & (credentials.c.expires_at > now)
    query = (select(credentials.c.patient_id, credentials.c.created_at, credentials.c.expires_at,
                    credentials.c.do_not_send, patients.c.given_name, patients.c.family_name, patients.c.site_id,
                    enrollments.c.id.label("enrollment_id"), enrollments.c.workflow_id,
                    enrollments.c.workflow_version, enrollments.c.state)
             .join(patients, patients.c.id == credentials.c.patient_id)
             .join(enrollments, enrollments.c.id == credentials.c.enrollment_id)
             .where((credentials.c.kind == "pin") & credentials.c.used_at.is_(None)
                    & credentials.c.revoked_at.is_(None) & credentials.c.locked_at.is_(None)
                    & patients.c.portal_account_id.is_(None) & window)
             .order_by(credentials.c.expires_at, credentials.c.patient_id).limit(limit))
    if site_id is not None:
        query = query.where(patients.c.site_id == site_id)
    if sites is not None:
        query = query.where(patients.c.site_id.in_(sorted(sites)))
    found: list[ExpiringPin] = []
    for r in conn.execute(query):
        expires = as_utc(r.expires_at)
        found.append(ExpiringPin(
            patient_id=r.patient_id, display_name=display_name(r.given_name, r.family_name, r.patient_id),
            site_id=r.site_id, enrollment_id=r.enrollment_id, workflow_id=r.workflow_id, state=r.state,
            status=status_of(catalog, r.workflow_id, r.workflow_version, r.state), issued_at=as_utc(r.created_at),
            expires_at=expires, days_left=(expires - now).days, expired=expires <= now, printed=r.do_not_send))
    return found


def households_part_registered(conn: Connection, now: datetime, catalog: WorkflowCatalog, *,
                               site_id: str | None = None, limit: int = DEFAULT_LIMIT, sites: Sites
                               ) -> list[PartRegisteredHousehold]:
    found: list[PartRegisteredHousehold] = []
    after: tuple[datetime, str] | None = None
    while len(found) < limit:  # a page at a time: the selection (JSON) can still rule a household out, below
        page = _part_registered_page(conn, catalog, site_id, sites, after, limit)
        children = _children_of(conn, [r.household_id for r in page])
        for r in page:
            registered, pending = _split(children.get(r.household_id, []), tuple(r.selected_children or ()))
            if registered and pending and len(found) < limit:
                since = as_utc(r.updated_at)
                found.append(PartRegisteredHousehold(
                    enrollment_id=r.id, workflow_id=r.workflow_id, household_id=r.household_id,
                    guardian_name=display_name(r.guardian_given_name, r.guardian_family_name, r.household_id),
                    site_id=r.site_id, state=r.state,
                    status=status_of(catalog, r.workflow_id, r.workflow_version, r.state), registered=registered,
                    pending=pending, waiting_since=since, days_waiting=(now - since).days))
        if len(page) < limit:
            break
        after = (page[-1].updated_at, page[-1].id)
    return found


def _part_registered_page(conn: Connection, catalog: WorkflowCatalog, site_id: str | None, sites: Sites,
                          after: tuple[datetime, str] | None, limit: int) -> list[Any]:
    """Household enrollments in a state that is not final, with registered and unregistered children, oldest
    move first, after `after` (updated_at, id): one branch per such state, each in ix_enrollments_waiting's order."""
    member = household_members.alias("member")
    child = patients.alias("child")

    def some_child(registered: bool) -> Any:
        account = child.c.portal_account_id.is_not(None) if registered else child.c.portal_account_id.is_(None)
        return exists().where((member.c.household_id == enrollments.c.household_id)
                              & (child.c.id == member.c.patient_id) & account)

    query = (select(enrollments.c.id, enrollments.c.workflow_id, enrollments.c.workflow_version,
                    enrollments.c.state, enrollments.c.selected_children, enrollments.c.updated_at,
                    households.c.id.label("household_id"), households.c.guardian_given_name,
                    households.c.guardian_family_name, households.c.site_id)
             .join(households, households.c.id == enrollments.c.household_id)
             .where(some_child(True) & some_child(False)).order_by(enrollments.c.updated_at, enrollments.c.id))
    if after is not None:
        query = query.where((enrollments.c.updated_at > after[0])
                            | ((enrollments.c.updated_at == after[0]) & (enrollments.c.id > after[1])))
    states = [(enrollments.c.workflow_id == d.id) & (enrollments.c.workflow_version == d.version)
              & (enrollments.c.state == s.id)
              for d in catalog.all() if d.subject is Subject.HOUSEHOLD for s in d.states if not s.final]
    return first_rows(conn, per_site(query, states, sites_wanted(site_id, sites)), lambda r: (r.updated_at, r.id),
                      limit)


def sites_wanted(site_id: str | None, sites: Sites) -> Sites:
    """The sites a worklist is kept to: the one asked for, if within the viewer's walls; None: every site."""
    if site_id is None:
        return sites
    return frozenset({site_id}) if sites is None or site_id in sites else frozenset()


def per_site(query: Select[Any], branches: Sequence[ColumnElement[bool]], sites: Sites) -> list[Select[Any]]:
    """`query` once per branch (a workflow version's state) and, when kept to `sites`, per site too: each an
    equality prefix of ix_enrollments_waiting (or ix_enrollments_site_waiting), so each is read in updated_at order
    up to the limit, never the whole practice's rows filtered by site."""
    if sites is None:
        return [query.where(branch) for branch in branches]
    return [query.where((enrollments.c.site_id == site) & branch) for site in sorted(sites) for branch in branches]


def _children_of(conn: Connection, household_ids: list[str]) -> dict[str, list[Any]]:
    """Each household's children, in order, in one query for the whole page."""
    children: dict[str, list[Any]] = {}
    if household_ids:
        for r in conn.execute(select(household_members.c.household_id, patients.c.id, patients.c.given_name,
                                     patients.c.family_name, patients.c.portal_account_id)
                              .join(household_members, household_members.c.patient_id == patients.c.id)
                              .where(household_members.c.household_id.in_(household_ids))
                              .order_by(household_members.c.household_id, household_members.c.position)):
            children.setdefault(r.household_id, []).append(r)
    return children


def _split(rows: list[Any], selected: tuple[str, ...]) -> tuple[tuple[Child, ...], tuple[Child, ...]]:
    """The selected children (all when none were selected): those with a portal account, those without."""
    chosen = [r for r in rows if not selected or r.id in selected]
    children = [(Child(r.id, display_name(r.given_name, r.family_name, r.id)), r.portal_account_id) for r in chosen]
    registered = tuple(child for child, account in children if account)
    pending = tuple(child for child, account in children if not account)
    return registered, pending


def messages_failed(conn: Connection, now: datetime, *, within_days: int | None = None, site_id: str | None = None,
                    limit: int = DEFAULT_LIMIT, sites: Sites) -> list[FailedMessage]:
    """Failed, held or to-review outbox rows; `within_days` keeps only those created that recently."""
    site = func.coalesce(patients.c.site_id, households.c.site_id)
    query = (select(outbox.c.id, outbox.c.enrollment_id, outbox.c.message_id, outbox.c.channel, outbox.c.recipient,
                    outbox.c.subject, outbox.c.status, outbox.c.detail, outbox.c.attempts, outbox.c.created_at,
                    enrollments.c.workflow_id, enrollments.c.patient_id, enrollments.c.household_id,
                    site.label("site_id"))
             .join(enrollments, enrollments.c.id == outbox.c.enrollment_id)
             .outerjoin(patients, patients.c.id == enrollments.c.patient_id)
             .outerjoin(households, households.c.id == enrollments.c.household_id)
             .order_by(outbox.c.created_at.desc(), outbox.c.id.desc()))
    if within_days is not None:
        query = query.where(outbox.c.created_at >= now - timedelta(days=within_days))
    if site_id is not None:
        query = query.where(site == site_id)
    if sites is not None:
        query = query.where(site.in_(sorted(sites)))
    # One branch per status, each read backwards along ix_outbox_status (status, created_at).
    rows = first_rows(conn, [query.where(outbox.c.status == status) for status in FAILED_STATUSES],
                      lambda r: (r.created_at, r.id), limit, reverse=True)
    return [FailedMessage(
        outbox_id=r.id, enrollment_id=r.enrollment_id, workflow_id=r.workflow_id, patient_id=r.patient_id,
        household_id=r.household_id, site_id=r.site_id, message_id=r.message_id, channel=r.channel,
        recipient=r.recipient, subject=r.subject, status=r.status, detail=r.detail, attempts=r.attempts,
        created_at=as_utc(r.created_at)) for r in rows]


def display_name(given: str | None, family: str | None, fallback: str) -> str:
    return " ".join(p for p in (given, family) if p) or fallback


def status_of(catalog: WorkflowCatalog, workflow_id: str, version: int, state: str) -> str:
    """The state's business status; its id when the version is no longer loaded (the row still deserves a line)."""
    try:
        return catalog.get(workflow_id, version).state(state).status
    except (NotFound, KeyError):
        return state

