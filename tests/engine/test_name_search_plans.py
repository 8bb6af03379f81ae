"""Issue 15, item 14: on PostgreSQL a search by name prefix walks the name's index, not the patients table.

The search is `lower(name) LIKE 'prefix%'` (engine.people.finding). Under the database's collation (C.UTF-8 here,
en_US.UTF-8 on many servers) a plain index on lower(name) cannot answer a LIKE; revision 0014 builds it byte-wise
(text_pattern_ops), and revision 0016 gives the planner 1,000 histogram bins of each lowered name, so that a rare
prefix is not estimated at a whole bin (1 % of the table, when a bin's bound falls inside its range). Checked on a
practice of 100,000 patients, analysed, where reading the table costs the planner hundreds of times what the index
does: each search is run through the engine, and each SELECT it sends is explained
with the very parameters it was sent with. SQLite's plans are tests/engine/test_query_plans.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from downgrading import downgrade
from fakes import FakeClock
from practice import START, seed_practice
from sqlalchemy import Engine, text
from statements import Statements

from engine.actors import EVERY_SITE
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade

PATIENTS = 100_000


@pytest.fixture
def practice(postgres_schema_url: str, workflows_dir: Path) -> Iterator[Any]:
    """The engine on PostgreSQL with tests/practice.py's patients and PATIENTS more: family names Fam0 .. Fam19999
    (five patients each), given names Giv0 .. Giv4999 (twenty each)."""
    flow = build(postgres_schema_url, workflows_dir, clock=FakeClock(datetime.fromisoformat(START)),
                 hash_cost=TEST_COST, secret_key=b"q" * 43 + b"=")
    seed_practice(flow.db)
    with flow.db.begin() as conn:
        conn.execute(text(
            "INSERT INTO patients (id, site_id, given_name, family_name, name_is_placeholder, "
            "email_confirmed_personal, portal_access_enabled) SELECT 'sp' || lpad(i::text, 7, '0'), 'main', "
            "'Giv' || (i % 5000), 'Fam' || (i % 20000), false, true, false FROM generate_series(0, :n - 1) i"),
            {"n": PATIENTS})
        conn.execute(text("ANALYZE patients"))
    yield flow
    flow.close()


def _plans(flow: Any, search: dict[str, str]) -> tuple[list[str], list[str]]:
    """The ids found by the search, and the plan of its query by name."""
    with Statements(flow.db) as seen:
        found = [r.patient.id for r in flow.people.find_patients(**search, limit=50, viewer=EVERY_SITE)]
    [(statement, parameters)] = [(s, p) for s, p in seen.selects if " LIKE " in s]
    with flow.db.connect() as conn:
        plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
    return found, plan


@pytest.mark.parametrize(("search", "index", "expected"), [
    ({"family_name": "FAM1234"}, "ix_patients_family_name",
     sorted(f"sp{i:07d}" for i in range(PATIENTS) if str(i % 20000).startswith("1234"))[:50]),
    ({"given_name": "giv4321"}, "ix_patients_given_name",
     sorted(f"sp{i:07d}" for i in range(PATIENTS) if i % 5000 == 4321)),
    ({"family_name": "fam1234", "given_name": "giv1"}, "ix_patients_family_name",
     sorted(f"sp{i:07d}" for i in range(PATIENTS)
            if str(i % 20000).startswith("1234") and str(i % 5000).startswith("1"))),
])
def test_on_postgresql_a_name_prefix_search_is_a_range_of_the_names_index(
        practice: Any, search: dict[str, str], index: str, expected: list[str]) -> None:
    found, plan = _plans(practice, search)
    assert found == expected
    assert expected
    assert any(index in line for line in plan), "\n".join(plan)
    assert any("Index Cond" in line and "~>=~" in line for line in plan), "\n".join(plan)  # a range, byte-wise
    assert not any("Seq Scan" in line for line in plan), "\n".join(plan)


def _definitions(db: Engine) -> dict[str, str]:
    with db.connect() as conn:
        return dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'patients' "
                                      "AND indexname IN ('ix_patients_family_name', 'ix_patients_given_name')")).all())


def test_revision_0014_rebuilds_the_name_indexes_byte_wise_on_postgresql_and_back_on_downgrade(
        postgres_schema_url: str) -> None:
    db = make_engine(postgres_schema_url)
    try:
        upgrade(db, "0013")
        before = _definitions(db)
        upgrade(db)
        after = _definitions(db)
        downgrade(db, "0013")
        assert _definitions(db) == before
    finally:
        db.dispose()
    assert sorted(before) == sorted(after) == ["ix_patients_family_name", "ix_patients_given_name"]
    assert not any("text_pattern_ops" in d for d in before.values())
    assert after["ix_patients_family_name"].endswith("(lower((family_name)::text) text_pattern_ops)")
    assert after["ix_patients_given_name"].endswith("(lower((given_name)::text) text_pattern_ops)")


def _statistics(db: Engine) -> dict[str, int | None]:
    with db.connect() as conn:
        return dict(conn.execute(text(
            "SELECT c.relname, NULLIF(a.attstattarget, -1) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname IN ('ix_patients_family_name', 'ix_patients_given_name') AND a.attnum = 1"
        )).tuples().all())


def test_revision_0016_gives_the_name_indexes_a_thousand_histogram_bins_and_takes_them_back_on_downgrade(
        postgres_schema_url: str) -> None:
    db = make_engine(postgres_schema_url)
    try:
        upgrade(db, "0015")
        before = _statistics(db)
        upgrade(db, "0016")
        after = _statistics(db)
        downgrade(db, "0015")
        again = _statistics(db)
    finally:
        db.dispose()
    assert before == again == {"ix_patients_family_name": None, "ix_patients_given_name": None}
    assert after == {"ix_patients_family_name": 1000, "ix_patients_given_name": 1000}
