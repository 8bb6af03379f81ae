"""Event intake: EHR events start or re-trigger the invite workflow, each delivery acted on once."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from engine.enrollments.intake import IntakeEvent, IntakeResult
from engine.errors import InvalidInput, NotFound
from engine.storage.tables import audit_events, enrollments, intake_events, outbox, patients, sites

PXP = "nextgen-pxp-portal-invites"


def _count(flow: Any, table: Any, *where: Any) -> int:
    with flow.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _enrollment(flow: Any, patient_id: str) -> Any:
    with flow.db.connect() as conn:
        return conn.execute(select(enrollments.c.id, enrollments.c.state).where(
            (enrollments.c.patient_id == patient_id) & (enrollments.c.workflow_id == PXP))).one()


def test_a_chart_added_event_starts_the_invite_workflow_and_sends_the_invite(flow: Any) -> None:
    result = flow.receive(IntakeEvent("ehr-1", "chart_added", "p-jane", source="ehr"))
    started = _enrollment(flow, "p-jane")
    assert (result.outcome, result.repeated, result.enrollment_ids) == ("acted", False, (started.id,))
    assert started.state == "invited"
    assert "chart_added: not_invited -> invited (Invited)" in result.detail
    assert _count(flow, outbox, outbox.c.enrollment_id == started.id) == 1
    with flow.db.connect() as conn:
        actors = conn.execute(select(audit_events.c.actor_id).where(
            (audit_events.c.enrollment_id == started.id) & (audit_events.c.action == "transition"))).scalars().all()
    assert actors == ["ehr"]


def test_the_same_event_delivered_twice_acts_once_and_answers_the_first_outcome(flow: Any) -> None:
    first = flow.receive(IntakeEvent("ehr-1", "new_appointment", "p-jane"))
    again = flow.receive(IntakeEvent("ehr-1", "new_appointment", "p-jane"))
    assert again == IntakeResult(first.key, first.kind, first.patient_id, first.outcome, first.detail,
                                 first.enrollment_ids, repeated=True)
    assert _count(flow, enrollments) == 1
    assert _count(flow, outbox) == 1
    assert _count(flow, audit_events, audit_events.c.trigger == "new_appointment") == 1


def test_a_key_reused_for_another_event_is_refused_naming_the_key(flow: Any) -> None:
    flow.receive(IntakeEvent("ehr-1", "chart_added", "p-jane"))
    with pytest.raises(InvalidInput) as refused:
        flow.receive(IntakeEvent("ehr-1", "new_encounter", "p-jane"))
    assert refused.value.field == "key"
    assert _count(flow, outbox) == 1


def test_a_change_to_a_field_that_is_not_required_is_stored_and_triggers_nothing(flow: Any) -> None:
    result = flow.receive(IntakeEvent("ehr-2", "demographics_changed", "p-jane",
                                      changes={"cell_phone": "+1 617 555 0199"}))
    assert result.outcome == "ignored"
    assert result.detail == "no required field changed (cell_phone): no invite is triggered"
    assert _count(flow, enrollments) == 0
    with flow.db.connect() as conn:
        phone = conn.execute(select(patients.c.cell_phone).where(patients.c.id == "p-jane")).scalar_one()
        recorded = conn.execute(select(audit_events.c.inputs, audit_events.c.actor_role).where(
            audit_events.c.action == "demographics_updated")).one()
    assert phone == "+1 617 555 0199"
    assert (recorded.inputs, recorded.actor_role) == ({"fields": ["cell_phone"]}, "integration")


def test_a_new_email_address_triggers_an_invite_and_must_be_confirmed_personal_again(flow: Any) -> None:
    result = flow.receive(IntakeEvent("ehr-3", "demographics_changed", "p-noemail",
                                      changes={"email": "nora@example.test", "cell_phone": None}))
    assert result.outcome == "acted"
    assert _enrollment(flow, "p-noemail").state == "invited"
    with flow.db.connect() as conn:
        email, personal = conn.execute(select(patients.c.email, patients.c.email_confirmed_personal).where(
            patients.c.id == "p-noemail")).one()
        recipients = conn.execute(select(outbox.c.recipient)).scalars().all()
    assert (email, personal) == ("nora@example.test", False)
    assert recipients == ["nora@example.test"]


def test_sending_the_values_already_on_file_is_not_a_change(flow: Any) -> None:
    result = flow.receive(IntakeEvent("ehr-4", "demographics_changed", "p-jane",
                                      changes={"zip": "02139", "birth_date": "1980-04-01"}))
    assert (result.outcome, result.detail) == ("ignored", "nothing changed: the values sent are the ones on file")
    assert _count(flow, audit_events, audit_events.c.action == "demographics_updated") == 0


def test_events_re_trigger_a_running_invite_until_the_fifth_in_30_days_is_refused(flow: Any, clock: Any) -> None:
    outcomes = []
    for day, kind in enumerate(["chart_added", "new_encounter", "new_appointment", "new_encounter",
                                "new_appointment"]):
        clock.set(clock.now() + timedelta(days=1 if day else 0))
        outcomes.append(flow.receive(IntakeEvent(f"ehr-{day}", kind, "p-jane")))
    assert [o.outcome for o in outcomes] == ["acted"] * 4 + ["refused"]
    assert "new_appointment refused:" in outcomes[-1].detail
    assert _count(flow, enrollments) == 1
    assert _count(flow, outbox) == 4
    assert _count(flow, audit_events, (audit_events.c.trigger == "new_appointment")
                  & (audit_events.c.outcome == "refused")) == 1


def test_an_event_for_a_patient_who_already_activated_the_portal_is_ignored(flow: Any) -> None:
    flow.receive(IntakeEvent("ehr-1", "chart_added", "p-jane"))
    from definitions.model import Actor
    from engine.actors import ActorRef
    from engine.enrollments.advance import AdvanceEnrollment

    started = _enrollment(flow, "p-jane")
    flow.advance(AdvanceEnrollment(started.id, "account_activated", ActorRef("portal", "integration",
                                                                             Actor.INTEGRATION)))
    later = flow.receive(IntakeEvent("ehr-2", "new_appointment", "p-jane"))
    assert later.outcome == "ignored"
    assert f"already finished (Activated, enrollment {started.id})" in later.detail
    assert _count(flow, enrollments) == 1


def test_before_go_live_the_event_is_refused_and_the_enrollment_waits_not_invited(flow: Any) -> None:
    with flow.db.begin() as conn:
        conn.execute(update(sites).values(go_live_on=date(2027, 1, 1)))
    result = flow.receive(IntakeEvent("ehr-1", "chart_added", "p-jane"))
    assert result.outcome == "refused"
    assert _enrollment(flow, "p-jane").state == "not_invited"
    assert _count(flow, outbox) == 0
    assert _count(flow, audit_events, audit_events.c.outcome == "refused") == 1


def test_an_unknown_patient_or_a_bad_value_writes_nothing_and_names_what_is_wrong(flow: Any) -> None:
    with pytest.raises(NotFound, match="no patient 'p-nobody'"):
        flow.receive(IntakeEvent("ehr-1", "chart_added", "p-nobody"))
    with pytest.raises(InvalidInput, match=r"^changes.birth_date: not a date") as bad:
        flow.receive(IntakeEvent("ehr-2", "demographics_changed", "p-jane", changes={"birth_date": "yesterday"}))
    assert bad.value.field == "changes.birth_date"
    with pytest.raises(InvalidInput, match=r"^kind: unknown event 'chart_deleted'"):
        flow.receive(IntakeEvent("ehr-3", "chart_deleted", "p-jane"))
    with pytest.raises(InvalidInput, match=r"^changes.shoe_size: not a demographic field"):
        flow.receive(IntakeEvent("ehr-4", "demographics_changed", "p-jane", changes={"shoe_size": "9"}))
    assert _count(flow, intake_events) == 0
    assert _count(flow, enrollments) == 0


def _at_once(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_deliveries_of_one_event_at_once_act_once(flow: Any) -> None:
    event = IntakeEvent("ehr-1", "chart_added", "p-jane")
    results = _at_once([lambda: flow.receive(event), lambda: flow.receive(event)])
    assert sorted(r.repeated for r in results) == [False, True]
    assert {r.outcome for r in results} == {"acted"}
    assert _count(flow, enrollments) == 1
    assert _count(flow, outbox) == 1


def test_two_different_events_at_once_for_one_patient_start_one_enrollment(flow: Any) -> None:
    results = _at_once([lambda: flow.receive(IntakeEvent("ehr-1", "chart_added", "p-jane")),
                        lambda: flow.receive(IntakeEvent("ehr-2", "new_appointment", "p-jane"))])
    assert [r.outcome for r in results] == ["acted", "acted"]
    assert _count(flow, enrollments) == 1
