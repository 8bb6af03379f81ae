"""Revision 0015: the timers' indexes hold pending timers only, and every read of pending timers still walks one.

Settling a timer (the sweep does it once per expiry) used to move its entry within both indexes; now it leaves
them. Each read that needs them says `status = 'pending'` as a literal, which the planner matches to the indexes'
condition. Checked on SQLite and PostgreSQL over a table where settled timers far outnumber pending ones, analysed:
each statement is explained with the parameters it is run with, and must name the index it is meant to walk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from downgrading import downgrade
from sqlalchemy import Connection, Engine, text
from statements import Statements

from engine.fsm.rows import ROW_COLUMNS
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade
from engine.timers import rows
from engine.views.operations import operation_counts

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ENROLLMENTS = 4000  # each with five settled timers and, one in four, a pending one


def _seed(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, timezone, portal_url, specialist_office) "
                          "VALUES ('main', 'Main', 'UTC', 'https://portal.example.test', false)"))
        conn.execute(text(
            "INSERT INTO enrollments (id, workflow_id, workflow_version, content_hash, state, version, audit_seq, "
            "audit_head, started_at, updated_at) VALUES (:id, 'w', 1, 'x', 's', 1, 0, 'h', :t, :t)"),
            [{"id": f"e{i:05d}", "t": NOW} for i in range(ENROLLMENTS)])
        timers = [{"e": f"e{i:05d}", "status": "fired", "due": NOW - timedelta(days=1 + k, minutes=i)}
                  for i in range(ENROLLMENTS) for k in range(5)]
        timers += [{"e": f"e{i:05d}", "status": "pending", "due": NOW + timedelta(minutes=i - 100)}
                   for i in range(0, ENROLLMENTS, 4)]
        conn.execute(text('INSERT INTO timers (enrollment_id, timer_id, "trigger", status, armed_at, due_at, '
                          "attempts) VALUES (:e, 'expiry', 'expire', :status, :due, :due, 0)"), timers)
    with db.begin() as conn:  # committed: the planner weighs the indexes with what the table holds
        conn.execute(text("ANALYZE"))


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    _seed(engine)
    yield engine
    engine.dispose()


def _plan(conn: Connection, statement: str, parameters: Any) -> str:
    if conn.dialect.name == "postgresql":
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
    return "\n".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))


def test_the_sweeps_claim_walks_the_pending_timers_index_in_due_order(db: Engine) -> None:
    joined, skipping, _ = rows.claim_statements(ROW_COLUMNS)
    with db.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        claim = skipping if postgres else joined
        sql = claim.sql(conn.dialect)
        parameters: Any = ({"b_now": NOW, "b_size": 100, "b_skip": 0} if postgres
                           else (NOW.strftime("%Y-%m-%d %H:%M:%S.%f"), 100, 0))
        plan = _plan(conn, sql, parameters)
        claimed = rows.claim_due(conn, NOW, 100)
    assert "'pending'" in sql
    assert "ix_timers_due" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # the index gives the order
    assert "Sort" not in plan, plan
    assert [c.due_at for c in claimed] == sorted(c.due_at for c in claimed)
    assert len(claimed) == 26  # enrollments 0, 4 .. 100
    assert all(c.due_at <= NOW for c in claimed)


def test_an_enrollments_pending_timers_and_the_soonest_due_walk_the_enrollment_index(db: Engine) -> None:
    with Statements(db) as seen, db.connect() as conn:
        pending = rows.pending_of(conn, "e00008")
        soonest = rows.next_due(conn, ["e00008", "e00009"])
    assert [(t.status, t.due_at) for t in pending] == [("pending", NOW - timedelta(minutes=92))]
    assert soonest == {"e00008": NOW - timedelta(minutes=92)}
    assert len(seen.selects) == 2
    with db.connect() as conn:
        for statement, parameters in seen.selects:
            assert "ix_timers_enrollment" in _plan(conn, statement, parameters), statement


def test_the_operations_counts_walk_the_pending_timers_index(db: Engine) -> None:
    with Statements(db) as seen, db.connect() as conn:
        counts = operation_counts(conn, NOW, timedelta(minutes=15))
    assert (counts.timers_due, counts.timers_overdue) == (26, 22)  # due at -100 .. 0 min; overdue before -15 min
    timer_counts = [(s, p) for s, p in seen.selects if "timers" in s]
    assert len(timer_counts) == 2
    with db.connect() as conn:
        for statement, parameters in timer_counts:
            assert "ix_timers_due" in _plan(conn, statement, parameters), statement


def test_cancelling_a_batchs_timers_walks_the_enrollment_index_and_touches_pending_timers_only(db: Engine) -> None:
    with db.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        enrollments, timer_ids = ["e00008", "e00009"], ["expiry"]
        parameters = {"b_enrollments": enrollments if postgres else '["e00008", "e00009"]',
                      "b_timers": timer_ids if postgres else '["expiry"]', "b_cancelled": "cancelled",
                      "b_now": NOW if postgres else NOW.strftime("%Y-%m-%d %H:%M:%S.%f")}
        sql = rows.CANCEL_SETS[postgres].sql(conn.dialect)
        ordered = parameters if postgres else tuple(
            parameters[name] for name in ("b_cancelled", "b_now", "b_enrollments", "b_timers"))
        plan = _plan(conn, sql, ordered)
        rows.cancel_together(conn, enrollments, timer_ids, NOW)
        left = conn.execute(text("SELECT status, count(*) FROM timers WHERE enrollment_id IN ('e00008', 'e00009') "
                                 "GROUP BY status ORDER BY status")).all()
    assert "ix_timers_enrollment" in plan, plan
    assert [tuple(row) for row in left] == [("cancelled", 1), ("fired", 10)]


def _index_definitions(db: Engine) -> dict[str, str]:
    with db.connect() as conn:
        if conn.dialect.name == "postgresql":
            found = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'timers' "
                                      "AND indexname LIKE 'ix_timers_%'")).all()
        else:
            found = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                      "AND tbl_name = 'timers' AND name LIKE 'ix_timers_%'")).all()
    return {name: " ".join(definition.split()) for name, definition in found}


def test_revision_0015_makes_the_timer_indexes_partial_and_a_downgrade_puts_them_back(database_url: str) -> None:
    db = make_engine(database_url)
    try:
        upgrade(db, "0014")
        before = _index_definitions(db)
        upgrade(db)
        after = _index_definitions(db)
        downgrade(db, "0014")
        again = _index_definitions(db)
    finally:
        db.dispose()
    assert sorted(before) == sorted(after) == ["ix_timers_due", "ix_timers_enrollment"]
    assert again == before
    assert not any("WHERE" in d.upper() for d in before.values())
    assert all("pending" in d and "WHERE" in d.upper() for d in after.values()), after
    assert "status" not in after["ix_timers_due"].split("WHERE")[0].split("(", 1)[1]
    assert "status" not in after["ix_timers_enrollment"].split("WHERE")[0].split("(", 1)[1]
