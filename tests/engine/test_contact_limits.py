"""Contact limits across workflows: automatic emails to one address are spread out, never sent twice a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from definitions.model import Actor
from engine.actors import ActorRef
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.storage.tables import audit_events, outbox, patients, sites

ANA = ActorRef("ana", "staff", Actor.STAFF)
EHR = ActorRef("ehr", "integration", Actor.INTEGRATION)
PARENT = "kim@example.test"


def _siblings_with_the_parents_email(flow: Any) -> list[str]:
    ids = ["c-ava", "c-cal"]
    with flow.db.begin() as conn:
        conn.execute(update(patients).where(patients.c.id.in_(ids)).values(email=PARENT))
    return ids


def _invite(flow: Any, patient_id: str, actor: ActorRef, trigger: str, inputs: dict[str, Any] | None = None) -> str:
    started = flow.start(StartEnrollment("nextgen-pxp-portal-invites", actor if actor.kind is Actor.STAFF else ANA,
                                         patient_id=patient_id))
    flow.advance(AdvanceEnrollment(started.enrollment_id, trigger, actor, inputs=inputs or {}))
    return str(started.enrollment_id)


def _planned(flow: Any) -> list[tuple[str, datetime | None, str | None]]:
    with flow.db.connect() as conn:
        rows = conn.execute(select(outbox.c.recipient, outbox.c.not_before, outbox.c.detail)
                            .order_by(outbox.c.id)).all()
    return [(r.recipient, r.not_before and (r.not_before.replace(tzinfo=UTC) if r.not_before.tzinfo is None
                                            else r.not_before), r.detail) for r in rows]


def test_siblings_auto_invites_to_one_parent_go_a_day_apart_and_the_deferral_is_recorded(
        flow: Any, clock: Any) -> None:
    first, second = _siblings_with_the_parents_email(flow)
    _invite(flow, first, EHR, "chart_added")
    held = _invite(flow, second, EHR, "chart_added")
    planned = _planned(flow)
    assert [p[0] for p in planned] == [PARENT, PARENT]
    assert planned[0][1] is None
    assert planned[1][1] == clock.now() + timedelta(hours=24)
    assert planned[1][2] is not None
    assert planned[1][2].startswith("1 automatic email(s) to this address already planned within 24 hours")
    with flow.db.connect() as conn:
        detail = conn.execute(select(audit_events.c.detail).where(
            (audit_events.c.action == "message_deferred") & (audit_events.c.enrollment_id == held))).scalar_one()
    assert detail.startswith("message 'auto_invite' deferred: 1 automatic email(s)")


def test_an_email_staff_send_themselves_is_never_held_by_the_recipient_cap(flow: Any) -> None:
    first, second = _siblings_with_the_parents_email(flow)
    _invite(flow, first, EHR, "chart_added")
    _invite(flow, second, ANA, "enroll_now", {"confirm_required_fields": True, "enroll_now": "chart_banner"})
    assert [p[1] for p in _planned(flow)] == [None, None]


def test_a_site_cap_of_zero_switches_the_recipient_cap_off(flow: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(sites).where(sites.c.id == "main").values(recipient_daily_cap=0))
    first, second = _siblings_with_the_parents_email(flow)
    _invite(flow, first, EHR, "chart_added")
    _invite(flow, second, EHR, "chart_added")
    assert [p[1] for p in _planned(flow)] == [None, None]


def test_a_site_cap_of_two_lets_two_through_and_holds_the_third(flow: Any, clock: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(sites).where(sites.c.id == "main").values(recipient_daily_cap=2))
        conn.execute(insert(patients).values(id="c-dee", site_id="main", given_name="Dee", family_name="Lee",
                                             birth_date=datetime(2019, 1, 1).date(), birth_sex="F", zip="02139",
                                             email=PARENT, email_confirmed_personal=True,
                                             name_is_placeholder=False, portal_access_enabled=False))
    ids = [*_siblings_with_the_parents_email(flow), "c-dee"]
    for patient_id in ids:
        clock.advance(timedelta(minutes=1))
        _invite(flow, patient_id, EHR, "chart_added")
    planned = _planned(flow)
    assert [p[1] for p in planned[:2]] == [None, None]
    assert planned[2][1] == datetime(2026, 3, 3, 14, 1, tzinfo=UTC)  # when the first of the two leaves the window
