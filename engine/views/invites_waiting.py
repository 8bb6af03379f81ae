"""The worklist of invitations waiting for the patient: enrollments where an invitation went out and the next
move is the patient's, longest waiting first, with how many invites went out and what comes next.

The rule comes from the definitions, not from workflow names: a waiting state is a non-final state entered by a
transition that sends a message carrying a link (`carries: link`). Today that is `invited` of
nextgen-pxp-portal-invites and of portal-invitation-reset-onboarding. Patient enrollments only: no household
workflow sends an invitation link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from definitions.model import Carries, WorkflowDefinition
from engine.clock import as_utc
from engine.fsm.send_counts import OPEN_STATUSES
from engine.storage.tables import credentials, enrollments, outbox, patients
from engine.timers.rows import next_due
from engine.versions.catalog import WorkflowCatalog
from engine.views.ordered import first_rows
from engine.views.worklists import DEFAULT_LIMIT, Sites, display_name, per_site, sites_wanted, status_of

_Sends = tuple[int, datetime | None, datetime | None]  # invites in the window, last queued, last sent


@dataclass(frozen=True, slots=True)
class WaitingInvite:
    enrollment_id: str
    workflow_id: str
    patient_id: str
    display_name: str
    email: str | None
    site_id: str
    state: str
    status: str
    waiting_since: datetime  # when the enrollment last moved
    recent_invites: int  # invitations queued or sent in the last `window_days` (as the invite limit counts them)
    last_invited_at: datetime | None
    last_sent_at: datetime | None
    link_expires_at: datetime | None  # the open link's expiry, if one is still open
    next_timer_at: datetime | None  # e.g. the next re-send


def invite_states(definition: WorkflowDefinition) -> tuple[str, ...]:
    """Non-final states entered by sending a message that carries a link: the patient has an invitation."""
    links = {m.id for m in definition.messages if m.carries is Carries.LINK}
    entered = {t.dest for t in definition.transitions
               if any(e.name == "send_message" and e.param("message") in links for e in t.effects)}
    return tuple(s.id for s in definition.states if s.id in entered and not s.final)


def invites_waiting(conn: Connection, now: datetime, catalog: WorkflowCatalog, *, window_days: int = 30,
                    site_id: str | None = None, limit: int = DEFAULT_LIMIT, sites: Sites
                    ) -> list[WaitingInvite]:
    query = (select(enrollments.c.id, enrollments.c.workflow_id, enrollments.c.workflow_version,
                    enrollments.c.state, enrollments.c.updated_at, patients.c.id.label("patient_id"),
                    patients.c.given_name, patients.c.family_name, patients.c.email, patients.c.site_id)
             .join(patients, patients.c.id == enrollments.c.patient_id)
             .order_by(enrollments.c.updated_at, enrollments.c.id))
    # One branch per waiting state of each loaded version, each read in ix_enrollments_waiting's order; kept to
    # some sites, one per site as well, each read in ix_enrollments_site_waiting's: only that site's rows.
    waiting = [(enrollments.c.workflow_id == d.id) & (enrollments.c.workflow_version == d.version)
               & (enrollments.c.state == state) for d in catalog.all() for state in invite_states(d)]
    rows = first_rows(conn, per_site(query, waiting, sites_wanted(site_id, sites)), lambda r: (r.updated_at, r.id),
                      limit)
    ids = [r.id for r in rows]
    sends = _invite_sends(conn, catalog, rows, now - timedelta(days=window_days))
    links = _soonest(conn, ids, select(credentials.c.enrollment_id, func.max(credentials.c.expires_at)).where(
        (credentials.c.kind == "link") & credentials.c.used_at.is_(None) & credentials.c.revoked_at.is_(None)
        & (credentials.c.expires_at > now)).group_by(credentials.c.enrollment_id), credentials.c.enrollment_id)
    next_timers = next_due(conn, ids)
    nothing: _Sends = (0, None, None)
    return [WaitingInvite(
        enrollment_id=r.id, workflow_id=r.workflow_id, patient_id=r.patient_id,
        display_name=display_name(r.given_name, r.family_name, r.patient_id), email=r.email, site_id=r.site_id,
        state=r.state, status=status_of(catalog, r.workflow_id, r.workflow_version, r.state),
        waiting_since=as_utc(r.updated_at), recent_invites=sends.get(r.id, nothing)[0],
        last_invited_at=sends.get(r.id, nothing)[1], last_sent_at=sends.get(r.id, nothing)[2],
        link_expires_at=links.get(r.id), next_timer_at=next_timers.get(r.id)) for r in rows]


def _invite_sends(conn: Connection, catalog: WorkflowCatalog, rows: Sequence[Any], since: datetime
                  ) -> dict[str, _Sends]:
    """Per enrollment: invitations in the window, the last one queued, the last one sent (any time)."""
    if not rows:
        return {}
    found = conn.execute(select(
        outbox.c.enrollment_id, outbox.c.message_id,
        func.count().filter(outbox.c.status.in_(OPEN_STATUSES) & (outbox.c.created_at > since)),
        func.max(outbox.c.created_at), func.max(outbox.c.sent_at),
    ).where(outbox.c.enrollment_id.in_([r.id for r in rows]))
        .group_by(outbox.c.enrollment_id, outbox.c.message_id)).all()
    links = {r.id: _link_messages(catalog, r.workflow_id, r.workflow_version) for r in rows}
    totals: dict[str, _Sends] = {}
    for enrollment_id, message_id, count, last_queued, last_sent in found:
        if message_id not in links[enrollment_id]:
            continue
        n, queued, sent = totals.get(enrollment_id, (0, None, None))
        totals[enrollment_id] = (n + int(count), _later(queued, last_queued), _later(sent, last_sent))
    return totals


def _link_messages(catalog: WorkflowCatalog, workflow_id: str, version: int) -> set[str]:
    definition = catalog.get(workflow_id, version)
    return {m.id for m in definition.messages if m.carries is Carries.LINK}


def _later(known: datetime | None, other: datetime | None) -> datetime | None:
    if other is None:
        return known
    other = as_utc(other)
    return other if known is None or other > known else known


def _soonest(conn: Connection, ids: list[str], query: Any, column: Any) -> dict[str, datetime]:
    if not ids:
        return {}
    return {key: as_utc(when) for key, when in conn.execute(query.where(column.in_(ids))) if when is not None}
