"""At a real practice's size every read walks an index: 1,000,000 enrollments, 100,000 of them waiting with a
pending timer (tests/practice_at_scale.py), on a SQLite file migrated to the newest revision.

Each read a page, a worklist or the API makes (the enrollment view with its pending timers, the four worklists,
patient and household search, a patient's record, the audit history by enrollment, patient, household, staff user
and time range) is run through the engine as the service runs it; every SELECT it sends is then explained
(EXPLAIN QUERY PLAN): no full scan of a large table, no sort after one. And the work each read does is counted in
SQLite's own unit, virtual-machine instructions (a progress handler), against a bound a scan could not meet: a
plan that searches an index on a column every row shares (`status = 'pending'` among 100,000) is caught too.
Both before the planner has statistics (a database that grew since it was created) and after the ANALYZE that
`engine.storage.migrations` runs when it upgrades a database in use. Times are printed, for information only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock
from practice import START, seed_practice
from practice_at_scale import seed
from statements import Statements

from definitions.model import Actor
from engine.actors import EVERY_SITE, ActorRef
from engine.audit.reading import HistoryQuery
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.storage.migrations import refresh_statistics

ANA = ActorRef("ana", "staff", Actor.STAFF)
RAE = ActorRef("rae", "staff", Actor.STAFF, frozenset({"rare"}))  # works at the site of one patient
ALL = EVERY_SITE  # the reads below are the server's own, of every site
LARGE = ("enrollments", "patients", "households", "household_members", "timers", "credentials", "outbox",
         "audit_events", "portal_accounts", "step_completions")
# Thousands of VM instructions a read may take: of one subject; of a list or a search. Reading an enrollment's
# pending timers through ix_timers_due (the plan before revision 0009) takes 520 here. ONE leaves room for the
# invite-limit guard, which still counts the practice's invitations of the last 30 days (~24 a call here).
ONE, PAGE = 250, 1000
JUNE = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))

Read = Callable[[Any], object]
READS: dict[str, tuple[int, Read]] = {
    "an invited patient's enrollment, with its resend timer": (ONE, lambda f: f.describe("se0500028", ANA)),
    "an enrollment waiting for registration": (ONE, lambda f: f.describe("se0500008", ANA)),
    "an onboarding enrollment with its link": (ONE, lambda f: f.describe("se0500018", ANA)),
    "a household enrollment, part-registered": (ONE, lambda f: f.describe("se0012347", ANA)),
    "PINs expiring": (PAGE, lambda f: f.worklists.pins_expiring(viewer=ALL)),
    "invites waiting": (PAGE, lambda f: f.worklists.invites_waiting(viewer=ALL)),
    "households part-registered": (PAGE, lambda f: f.worklists.households_part_registered(viewer=ALL)),
    "messages failed": (PAGE, lambda f: f.worklists.messages_failed(viewer=ALL)),
    "a site's invites waiting": (PAGE, lambda f: f.worklists.invites_waiting(site_id="north", viewer=ALL)),
    "the invites waiting at a site with none": (ONE, lambda f: f.worklists.invites_waiting(site_id="rare",
                                                                                           viewer=ALL)),
    "the invites waiting at the one site a user works at": (ONE, lambda f: f.worklists.invites_waiting(viewer=RAE)),
    "a site's households part-registered": (ONE, lambda f: f.worklists.households_part_registered(
        site_id="north", viewer=ALL)),
    "the first page of patients": (PAGE, lambda f: f.people.find_patients(viewer=ALL)),
    "the patients of a small site": (PAGE, lambda f: f.people.find_patients(site_id="rare", viewer=ALL)),
    "patients by family and given name": (PAGE, lambda f: f.people.find_patients(family_name="fam123",
                                                                                 given_name="b", viewer=ALL)),
    "patients by given name": (PAGE, lambda f: f.people.find_patients(given_name="flo", viewer=ALL)),
    "patients by birth date": (PAGE, lambda f: f.people.find_patients(birth_date=date(1950, 1, 1), viewer=ALL)),
    "a patient's record": (ONE, lambda f: f.people.read_patient("sp0100003", viewer=ALL)),
    "a child's record": (ONE, lambda f: f.people.read_patient("sp0000005", viewer=ALL)),
    "a household": (ONE, lambda f: f.people.read_household("sh000002", viewer=ALL)),
    "households": (PAGE, lambda f: f.people.list_households(viewer=ALL)),
    "the newest enrollments": (PAGE, lambda f: f.find_enrollments(viewer=ALL)),
    "enrollments of a workflow in a state": (PAGE, lambda f: f.find_enrollments(
        workflow_id="nextgen-pxp-portal-invites", state="invited", viewer=ALL)),
    "a household's enrollments": (ONE, lambda f: f.find_enrollments(household_id="sh000002", viewer=ALL)),
    "an enrollment's history": (ONE, lambda f: f.histories.find(HistoryQuery(enrollment_id="se0500028"),
                                                                viewer=ALL)),
    "a patient's history": (ONE, lambda f: f.histories.find(HistoryQuery(patient_id="sp0000005"), viewer=ALL)),
    "a household's history": (ONE, lambda f: f.histories.find(HistoryQuery(household_id="sh000002"), viewer=ALL)),
    "a staff user's history": (PAGE, lambda f: f.histories.find(HistoryQuery(actor_id="bob"), viewer=ALL)),
    "a staff user's history in June": (PAGE, lambda f: f.histories.find(HistoryQuery(
        actor_id="bob", since=JUNE[0], until=JUNE[1]), viewer=ALL)),
    "the history of June": (PAGE, lambda f: f.histories.find(HistoryQuery(since=JUNE[0], until=JUNE[1]),
                                                             viewer=ALL)),
}


@pytest.fixture(scope="module")
def practice_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "portalflow.db"
    flow = _flow(path)  # migrates the new file to the newest revision
    seed_practice(flow.db)
    flow.close()
    began = time.perf_counter()
    seed(path)
    print(f"\nseeded 1,000,000 enrollments in {time.perf_counter() - began:.1f} s")
    return path


def _flow(path: Path) -> Any:
    return build(f"sqlite:///{path}", Path(__file__).resolve().parents[2] / "workflows",
                 clock=FakeClock(datetime.fromisoformat(START)), hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=")


class Recorder(Statements):
    """Every SELECT the engine sends, and the VM instructions (in thousands) SQLite runs meanwhile."""

    def __init__(self, flow: Any) -> None:
        self.ticks = 0
        super().__init__(flow.db)

    @property
    def statements(self) -> list[tuple[str, Any]]:
        return self.selects

    def _tick(self) -> int:
        self.ticks += 1
        return 0

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.connection.driver_connection.set_progress_handler(self._tick, 1000)
        super()._before(conn, cursor, statement, parameters, context, many)


@pytest.fixture
def scale_flow(practice_file: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    flow = _flow(practice_file)
    with flow.db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sqlite_stat1" if _has_statistics(conn) else "SELECT 1")
        if request.param == "after the upgrade's ANALYZE":
            refresh_statistics(conn, upgraded=True)
    flow.close()  # new connections read the statistics as they now are
    flow = _flow(practice_file)
    yield flow
    flow.close()


def _has_statistics(conn: Any) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None


def problems_in(plan: list[str], statement: str) -> list[str]:
    """A full scan of a large table, unless it is an index walked in order to the LIMIT; a sort after a scan."""
    scans = [line for line in plan if (m := re.match(r"SCAN (\w+)", line)) and m[1] in LARGE]
    limited = re.search(r"\bLIMIT\b", statement) is not None
    found = [f"full scan: {line}" for line in scans if not (limited and "INDEX" in line)]
    if scans and any("TEMP B-TREE" in line and "RIGHT PART" not in line for line in plan):
        found.append("a sort after scanning a large table")  # (a right part only orders rows with equal leading keys)
    return found


@pytest.mark.parametrize("scale_flow", ["without statistics", "after the upgrade's ANALYZE"], indirect=True)
def test_every_read_a_page_or_worklist_makes_walks_an_index_at_a_million_enrollments(scale_flow: Any) -> None:
    recorder = Recorder(scale_flow)
    failures: list[str] = []
    with scale_flow.db.connect() as conn:
        for name, (bound, read) in READS.items():
            recorder.clear()
            recorder.ticks = 0
            began = time.perf_counter()
            read(scale_flow)
            ms, ticks, statements = (time.perf_counter() - began) * 1000, recorder.ticks, list(recorder.statements)
            print(f"{name}: {ms:.1f} ms, {ticks}k VM instructions, {len(statements)} queries")
            if ticks > bound:
                failures.append(f"{name}: {ticks}k VM instructions, more than {bound}k")
            for statement, parameters in dict.fromkeys((s, tuple(p)) for s, p in statements):
                plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
                failures += [f"{name}: {problem}\n  {' '.join(statement.split())}\n  " + "\n  ".join(plan)
                             for problem in problems_in(plan, statement)]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scale_flow", ["without statistics"], indirect=True)
def test_a_page_of_patients_is_read_in_five_queries_not_a_round_per_patient(scale_flow: Any) -> None:
    recorder = Recorder(scale_flow)
    page = scale_flow.people.find_patients(limit=50, viewer=ALL)
    assert len(page) == 50
    assert len(recorder.statements) == 5  # the ids, then the patients, their households, accounts, enrollments
    child = next(r for r in page if r.patient.id == "sp0000005")
    assert child.households == ("sh000002",)
    assert {e.household_id for e in child.enrollments} >= {"sh000002"}
    assert all(e.patient_id in (None, "sp0000005") for e in child.enrollments)
    assert child.enrollments == scale_flow.people.read_patient("sp0000005", viewer=ALL).enrollments
