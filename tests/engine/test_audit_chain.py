"""The audit trail is append-only and hash-chained: verify names the first altered row, anchors catch deletions."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.exc import DBAPIError

from engine.audit.anchors import anchor
from engine.audit.entry import (
    GENESIS,
    GENESIS_HEAD,
    REDACTED,
    AuditEntry,
    ChainHead,
    canonical,
    chain_hash,
    chain_key,
    redact,
)
from engine.audit.trail import append_to_subject, prepare, write
from engine.audit.verify import verify
from engine.storage.audit_protection import PROTECT_DDL, UNPROTECT_DDL, protect_audit_tables
from engine.storage.tables import audit_anchors, audit_events, metadata

T0 = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def event(chain: str = "e-1", n: int = 0, **changes: object) -> AuditEntry:
    fields: dict[str, object] = {
        "chain": chain, "at": T0 + timedelta(minutes=n), "actor_id": "u1", "actor_role": "staff",
        "action": "complete_step", "outcome": "ok", "subject_type": "patient", "subject_id": "p1",
        "enrollment_id": chain, "from_state": "waiting", "to_state": "sent", "trigger": "send",
        "inputs": {"step": n, "note": "café"}, "reason": "patient asked", "detail": "by phone",
    }
    fields.update(changes)
    return AuditEntry(**fields)  # type: ignore[arg-type]


def append(conn: Connection, entry: AuditEntry, head: ChainHead) -> ChainHead:
    """Write `entry` after `head` directly (as the engine does inside its own statements) and return the new head."""
    rows, new_head = prepare([entry], head)
    write(conn, rows)
    return new_head


def write_chain(conn: Connection, chain: str, count: int, head: ChainHead = GENESIS_HEAD) -> ChainHead:
    for n in range(count):
        head = append(conn, event(chain, head.seq + n), head)
    return head


def ids_of(conn: Connection, chain: str) -> list[int]:
    rows = conn.execute(select(audit_events.c.id).where(audit_events.c.chain == chain).order_by(audit_events.c.seq))
    return list(rows.scalars())


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """A throwaway schema on the shared test database, dropped afterwards whatever happened."""
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")
    return engine


def test_a_chain_appended_and_verified_is_ok(db: Engine) -> None:
    with db.begin() as conn:
        head = write_chain(conn, "e-1", 5)
    with db.connect() as conn:
        report = verify(conn)
    assert head.seq == 5
    assert (report.ok, report.events_checked, report.chains, report.first_problem) == (True, 5, 1, None)


def test_two_chains_interleaved_verify_independently(db: Engine) -> None:
    heads = {"e-1": GENESIS_HEAD, "e-2": GENESIS_HEAD}
    with db.begin() as conn:
        for n in range(4):
            for chain in heads:
                heads[chain] = append(conn, event(chain, n), heads[chain])
            append_to_subject(conn, event("staff:u1", n, enrollment_id=None, subject_type="staff", subject_id="u1"))
    with db.connect() as conn:
        report = verify(conn)
        second = ids_of(conn, "e-2")[1]
    assert (report.ok, report.events_checked, report.chains) == (True, 12, 3)
    with db.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_id = 'u9' WHERE id = :id"), {"id": second})
    with db.connect() as conn:
        report = verify(conn)
    assert report.first_problem == (f"audit event {second} (chain e-2, seq 2) was altered: "
                                    "its content no longer matches its hash")


def test_events_outside_an_enrollment_chain_by_subject_or_globally(sqlite_engine: Engine) -> None:
    assert chain_key("e-1", "patient", "p1") == "e-1"
    assert chain_key(None, "patient", "p1") == "patient:p1"
    assert chain_key() == "global"
    with pytest.raises(ValueError, match="share a chain"):
        chain_key("patient:p1")
    with sqlite_engine.begin() as conn:
        first = append_to_subject(conn, event("patient:p1", enrollment_id=None))
        second = append_to_subject(conn, event("patient:p1", 1, enrollment_id=None))
    assert (first.seq, second.seq) == (1, 2)


def test_a_history_longer_than_one_page_verifies_while_streaming(db: Engine) -> None:
    heads = dict.fromkeys(("e-a", "e-b", "e-c", "e-d"), GENESIS_HEAD)
    for hour, batch in enumerate((("e-a", "e-b", "e-c"), ("e-a", "e-d"))):
        with db.begin() as conn:
            for chain in batch:
                heads[chain] = write_chain(conn, chain, 200 + 50 * hour, heads[chain])
        with db.begin() as conn:
            anchor(conn, T0 + timedelta(hours=hour))
    with db.connect() as conn:
        report = verify(conn)
    assert (report.ok, report.events_checked, report.chains, report.anchors_checked) == (True, 1100, 4, 2)


def test_a_time_given_in_a_local_zone_is_recorded_as_the_same_instant_in_utc(sqlite_engine: Engine) -> None:
    local = datetime(2024, 3, 5, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    with sqlite_engine.begin() as conn:
        append(conn, event(at=local), GENESIS_HEAD)
    with sqlite_engine.connect() as conn:
        assert verify(conn).ok
        assert conn.execute(text("SELECT at FROM audit_events")).scalar_one() == "2024-03-05 14:30:00.000000"


def test_the_canonical_form_is_stable_and_hashes_to_a_known_value() -> None:
    entry = AuditEntry(
        chain="e-1", at=datetime(2024, 3, 5, 9, 30, 0, 123456, tzinfo=ZoneInfo("America/New_York")),
        actor_id="u1", actor_role="staff", action="regenerate_pin", outcome="ok", subject_type="patient",
        subject_id="p1", enrollment_id="e-1", from_state="pin_expired", to_state="pin_active", trigger="regenerate",
        inputs={"route_to": "", "provider": "Dr. Müller"},
    )
    expected = (
        '{"action":"regenerate_pin","actor_id":"u1","actor_role":"staff","at":"2024-03-05T14:30:00.123456Z",'
        '"chain":"e-1","detail":null,"enrollment_id":"e-1","from_state":"pin_expired",'
        '"inputs":{"provider":"Dr. Müller","route_to":""},"outcome":"ok","reason":null,"seq":1,'
        '"subject_id":"p1","subject_type":"patient","to_state":"pin_active","trigger":"regenerate"}'
    ).encode()
    assert canonical(entry, 1) == expected
    assert chain_hash(GENESIS, canonical(entry, 1)) == hashlib.sha256(b"0" * 64 + b"\n" + expected).hexdigest()


@pytest.mark.parametrize(("column", "value"), [
    ("chain", "e-9"), ("seq", 30), ("seq", "three"), ("prev_hash", "f" * 64), ("hash", "a" * 64),
    ("at", "2024-03-05 15:00:00.000000"), ("at", "not a time"), ("actor_id", "u2"), ("actor_role", "admin"),
    ("action", "grant_access"), ("subject_type", "staff"), ("subject_id", "p2"), ("enrollment_id", None),
    ("from_state", "x"), ("to_state", "y"), ("trigger", "z"), ("inputs", '{"step": 99, "note": "café"}'),
    ("inputs", "{not json"), ("inputs", None), ("reason", None), ("outcome", "refused"), ("detail", "edited"),
])
def test_editing_any_column_of_a_row_is_found_and_the_report_names_that_row(
    sqlite_engine: Engine, column: str, value: object,
) -> None:
    # The id is the one column not hashed: the database assigns it after the hash is computed.
    with sqlite_engine.begin() as conn:
        write_chain(conn, "e-1", 5)
        edited = ids_of(conn, "e-1")[2]
        conn.execute(text(f"UPDATE audit_events SET {column} = :value WHERE id = :id"), {"value": value, "id": edited})
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert not report.ok
    assert report.first_problem is not None
    assert report.first_problem.startswith(f"audit event {edited} (")
    assert "was altered" in report.first_problem


def test_deleting_a_middle_row_is_found(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        write_chain(conn, "e-123", 5)
        ids = ids_of(conn, "e-123")
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[2]})
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert report.first_problem == (f"audit event {ids[3]} (chain e-123, seq 4): "
                                    "seq 3 is missing: chain jumps from 2 to 4")


def test_deleting_the_first_rows_of_a_chain_is_found(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        write_chain(conn, "e-1", 4)
        ids = ids_of(conn, "e-1")
        conn.execute(text("DELETE FROM audit_events WHERE id IN (:a, :b)"), {"a": ids[0], "b": ids[1]})
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert report.first_problem == (f"audit event {ids[2]} (chain e-1, seq 3): "
                                    "seqs 1 to 2 are missing: chain jumps from 0 to 3")


def test_deleting_the_tail_of_a_chain_after_an_anchor_is_found_by_the_anchor(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        write_chain(conn, "e-1", 5)
        write_chain(conn, "e-2", 2)
        anchor_id = anchor(conn, T0 + timedelta(hours=1)).id
        newest = max(ids_of(conn, "e-1") + ids_of(conn, "e-2"))
    with sqlite_engine.connect() as conn:
        assert verify(conn).ok
    with sqlite_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = 'e-1' AND seq > 3"))
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert (report.ok, report.anchors_checked) == (False, 1)
    assert report.first_problem == f"anchor {anchor_id} no longer matches the chain heads as of event {newest}"


def test_a_whole_chain_deleted_after_an_anchor_is_found(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        write_chain(conn, "e-1", 3)
        write_chain(conn, "e-2", 3)
        first = anchor(conn, T0 + timedelta(hours=1)).id
        write_chain(conn, "e-3", 1)
        second = anchor(conn, T0 + timedelta(hours=2)).id
        conn.execute(text("DELETE FROM audit_events WHERE chain = 'e-2'"))
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert report.first_problem is not None
    assert report.first_problem.startswith(f"anchor {first} no longer matches the chain heads as of event ")
    assert second > first


def test_reordering_rows_is_found(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        write_chain(conn, "e-1", 4)
        ids = ids_of(conn, "e-1")
        for seq, row in ((-1, ids[1]), (2, ids[2]), (3, ids[1])):
            conn.execute(text("UPDATE audit_events SET seq = :seq WHERE id = :id"), {"seq": seq, "id": row})
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert report.first_problem == (f"audit event {ids[1]} (chain e-1, seq 3) was altered: "
                                    "its content no longer matches its hash")


def test_changing_prev_hash_is_found(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        write_chain(conn, "e-1", 4)
        ids = ids_of(conn, "e-1")
        conn.execute(text("UPDATE audit_events SET prev_hash = :h WHERE id = :id"), {"h": GENESIS, "id": ids[2]})
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert report.first_problem == (f"audit event {ids[2]} (chain e-1, seq 3) was altered: "
                                    "its prev_hash was changed and no longer matches the previous row")


def test_a_row_rewritten_with_a_fresh_hash_is_found_at_the_row_after_it(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        head = write_chain(conn, "e-1", 2)
        write_chain(conn, "e-1", 2, head)
        ids = ids_of(conn, "e-1")
        forged = event("e-1", 2, actor_id="someone-else")
        conn.execute(text("UPDATE audit_events SET actor_id = 'someone-else', hash = :h WHERE id = :id"),
                     {"h": chain_hash(head.hash, canonical(forged, 3)), "id": ids[2]})
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert report.first_problem == (f"audit event {ids[3]} (chain e-1, seq 4): "
                                    "its prev_hash does not match the previous row")


def test_an_altered_or_removed_anchor_is_found(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        anchors = []
        for n in range(3):
            write_chain(conn, f"e-{n}", 2)
            anchors.append(anchor(conn, T0 + timedelta(hours=n)).id)
    with sqlite_engine.begin() as conn:
        conn.execute(text("UPDATE audit_anchors SET chains = 7 WHERE id = :id"), {"id": anchors[0]})
    with sqlite_engine.connect() as conn:
        assert verify(conn).first_problem == f"anchor {anchors[0]} was altered: its content no longer matches its hash"
    with sqlite_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_anchors WHERE id = :id"), {"id": anchors[0]})
    with sqlite_engine.connect() as conn:
        report = verify(conn)
    assert (report.anchors_checked, report.first_problem) == (
        2, f"anchor {anchors[1]}: its prev_hash does not match the previous anchor")


def test_redact_removes_secrets_and_they_are_nowhere_in_the_stored_row(sqlite_engine: Engine, tmp_path: Path) -> None:
    secrets = ["K7Q2M9XW", "hunter2-hunter2", "tok-8f3a1c", "shh-client", "1987-04-02"]
    inputs: dict[str, object] = {
        "pin": secrets[0], "New_Password": secrets[1], "access_token": secrets[2], "clientSecret": secrets[3],
        "dob_check": secrets[4], "siblings": [{"given_name": "Ana", "pin": secrets[0]}],
        "do_not_send_pin": True, "provider": "dr-1", "pinned_note": "call after 5", "spinal_level": "L4",
    }
    redacted = redact(inputs, {"DOB_check"})
    assert redacted == {  # an explicit list of keys, never a substring: `pinned_note` and `spinal_level` stay
        "pin": REDACTED, "New_Password": REDACTED, "access_token": REDACTED, "clientSecret": REDACTED,
        "dob_check": REDACTED, "siblings": [{"given_name": "Ana", "pin": REDACTED}],
        "do_not_send_pin": True, "provider": "dr-1", "pinned_note": "call after 5", "spinal_level": "L4",
    }
    assert inputs["pin"] == secrets[0]  # a copy: the caller's inputs are untouched
    with sqlite_engine.begin() as conn:
        head = append(conn, event(inputs=redacted), GENESIS_HEAD)
        # Even a caller who forgets to redact cannot store a PIN, password, token or secret.
        append(conn, event(n=1, inputs={"pin": secrets[0], "reset_token": secrets[2]}), head)
        stored = [str(tuple(row)) for row in conn.execute(text("SELECT * FROM audit_events"))]
    sqlite_engine.dispose()
    for secret in secrets:
        assert not any(secret in row for row in stored)
        assert secret.encode() not in (tmp_path / "audit.db").read_bytes()
    with sqlite_engine.connect() as conn:
        assert verify(conn).ok


@pytest.mark.postgres
def test_on_postgresql_the_protected_tables_refuse_update_delete_and_truncate(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        write_chain(conn, "e-1", 3)
        anchor(conn, T0)
    with pg_engine.begin() as conn:
        protect_audit_tables(conn)
        protect_audit_tables(conn)  # idempotent: a second run replaces, never duplicates
    for table in ("audit_events", "audit_anchors"):
        for statement in (f"UPDATE {table} SET hash = hash", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pg_engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(statement))
    with pg_engine.begin() as conn:
        append(conn, event("e-2"), GENESIS_HEAD)  # appending is still allowed
    with pg_engine.connect() as conn:
        report = verify(conn)
    assert (report.ok, report.events_checked, report.anchors_checked) == (True, 4, 1)


@pytest.mark.postgres
def test_an_anchor_digest_is_the_documented_one_even_where_the_database_sorts_linguistically(
    pg_engine: Engine,
) -> None:
    # Production databases often use a linguistic collation (en_US.UTF-8: "E-2" after "e-1"). The digest must still
    # be sha256 over the head lines in code-point order, so an exported history can be checked anywhere.
    chains = ("e-1", "E-2", "e_1", "e1", "e-10", "patient:Zoe", "patient:abe")
    with pg_engine.begin() as conn:
        conn.execute(text('ALTER TABLE audit_events ALTER COLUMN chain TYPE varchar(64) COLLATE "und-x-icu"'))
        heads = {chain: write_chain(conn, chain, 2) for chain in chains}
    with pg_engine.begin() as conn:
        anchor(conn, T0)
    lines = sorted(f"{chain}\t{head.seq}\t{head.hash}\n" for chain, head in heads.items())
    with pg_engine.connect() as conn:
        stored = conn.execute(select(audit_anchors.c.chains, audit_anchors.c.heads_digest)).one()
        report = verify(conn)
    assert tuple(stored) == (7, hashlib.sha256("".join(lines).encode()).hexdigest())
    assert (report.ok, report.chains, report.anchors_checked) == (True, 7, 1)


@pytest.mark.postgres
def test_the_protection_ddl_can_be_undone_by_a_migration(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        for statement in (*PROTECT_DDL, *UNPROTECT_DDL):
            conn.execute(text(statement))
        conn.execute(text("DELETE FROM audit_events"))


@pytest.mark.postgres
def test_an_anchor_waits_for_appends_in_flight_so_it_binds_them(pg_engine: Engine) -> None:
    finished = threading.Event()

    def take_anchor() -> None:
        with pg_engine.begin() as conn:
            anchor(conn, T0)
        finished.set()

    with pg_engine.connect() as writer:
        append(writer, event("e-1"), GENESIS_HEAD)  # its id is taken, its transaction still open
        anchoring = threading.Thread(target=take_anchor)
        anchoring.start()
        assert not finished.wait(0.5)
        writer.commit()
    anchoring.join(10)
    assert finished.is_set()
    with pg_engine.connect() as conn:
        report = verify(conn)
        upto = conn.execute(select(audit_anchors.c.upto_event_id)).scalar_one()
        assert upto == conn.execute(select(audit_events.c.id)).scalar_one()
    assert report.ok


@pytest.mark.postgres
def test_an_anchor_does_not_hold_up_appends_that_come_after_it(pg_engine: Engine) -> None:
    appended: list[ChainHead] = []

    def write() -> None:
        with pg_engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            appended.append(append(conn, event("e-2"), GENESIS_HEAD))

    with pg_engine.begin() as conn:
        write_chain(conn, "e-1", 1)
    with pg_engine.connect() as anchoring:
        anchor(anchoring, T0)
        started = time.monotonic()
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(10)
        assert appended
        assert time.monotonic() - started < 2
        anchoring.commit()
    with pg_engine.connect() as conn:
        assert verify(conn).ok


def test_two_writers_on_one_standalone_chain_both_land_one_after_the_other(db: Engine) -> None:
    landed: list[ChainHead] = []

    def second_writer() -> None:
        with db.begin() as conn:
            landed.append(append_to_subject(conn, event("global", 1, enrollment_id=None)))

    with db.connect() as first:
        landed.append(append_to_subject(first, event("global", 0, enrollment_id=None)))
        racing = threading.Thread(target=second_writer)
        racing.start()
        time.sleep(0.3)  # the second writer has read the same head and now waits on the first one's row
        first.commit()
    racing.join(10)
    assert [head.seq for head in landed] == [1, 2]
    with db.connect() as conn:
        assert verify(conn).ok
