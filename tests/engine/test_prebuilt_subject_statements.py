"""The statements an advance runs on its subject are built once and run on the driver's cursor, yet read and write
exactly what SQLAlchemy's own statements would: the patient record, the steps ticked ahead, portal access enabled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from practice import seed_practice
from sqlalchemy import select, update

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow
from engine.fsm.rows import read_enrollment, record_step, stored_inputs
from engine.people.subjects import Patient, load_patient
from engine.storage.tables import patients

ANA = ActorRef("ana", "staff", Actor.STAFF)

HOUSEHOLD_ACCESS = """\
id: household-access
version: 1
title: Household portal access
source: handout.txt
subject: household
initial: off
states:
  off:
    status: Off
    description: Access not enabled.
  on:
    status: On
    description: Access enabled.
    final: true
transitions:
  - trigger: enable
    from: off
    to: on
    by: staff
    effects:
      - enable_portal_access
"""


def test_a_patient_read_on_the_drivers_cursor_is_the_record_sqlalchemy_reads(flow: Any) -> None:
    with flow.db.begin() as conn:  # every kind of value a patient holds, None and not, true and false
        conn.execute(update(patients).where(patients.c.id == "p-jane").values(
            cell_phone="(617) 555-0199", portal_access_enabled=True, responsible_provider_id=None))
    with flow.db.connect() as conn:
        for row in conn.execute(select(patients)).mappings():
            expected = Patient(**{name: row[name] for name in Patient.__slots__})
            read = load_patient(conn, row["id"])
            assert read == expected
            assert [type(getattr(read, n)) for n in Patient.__slots__] == [
                type(getattr(expected, n)) for n in Patient.__slots__]
        assert load_patient(conn, "p-jane").birth_date == date(1980, 4, 1)


def test_steps_ticked_ahead_are_read_back_for_their_trigger_and_version_only_in_the_order_ticked(
        flow: Any, clock: FakeClock) -> None:
    started = flow.start(StartEnrollment("portal-invitation-reset-onboarding", ANA, patient_id="p-jane"))
    with flow.db.begin() as conn:
        row = read_enrollment(conn, started.enrollment_id)
        later = row._replace(version=row.version + 1)
        for step_id, value in (("b", {"nested": [1, "é", None]}), ("a", "onboarding_tool"), ("c", None),
                               ("d", 3)):
            record_step(conn, row, "enable_portal_access", step_id, value, ANA, clock.now())
        record_step(conn, row, "send_invitation", "other_trigger", "x", ANA, clock.now())
        record_step(conn, later, "enable_portal_access", "other_version", "y", ANA, clock.now())
    with flow.db.connect() as conn:
        found = stored_inputs(conn, row, "enable_portal_access")
    assert list(found.items()) == [("b", {"nested": [1, "é", None]}), ("a", "onboarding_tool"), ("c", None),
                                   ("d", 3)]


@pytest.fixture
def household_flow(database_url: str, clock: FakeClock, write_workflow: Callable[[str, str], Path]
                   ) -> Iterator[PortalFlow]:
    folder = write_workflow(HOUSEHOLD_ACCESS, "household-access.yaml").parent
    built = build(database_url, folder, clock=clock, hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=")
    seed_practice(built.db)
    yield built
    built.close()


def test_enabling_portal_access_for_a_household_enables_each_selected_child_and_nobody_else(
        household_flow: PortalFlow) -> None:
    started = household_flow.start(StartEnrollment("household-access", ANA, household_id="h-lee",
                                                   selected_children=("c-ava", "c-cal")))
    household_flow.advance(AdvanceEnrollment(started.enrollment_id, "enable", ANA))
    with household_flow.db.connect() as conn:
        enabled = {pid: on for pid, on in conn.execute(select(patients.c.id, patients.c.portal_access_enabled))}
    assert enabled == {"p-jane": False, "p-noemail": False, "c-ava": True, "c-ben": False, "c-cal": True}
