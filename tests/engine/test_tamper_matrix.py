"""The tamper matrix (issue 15, defect 5): whatever someone who can write the database does to the history, verify
names it — an edited field, a deleted row (first, middle, last), a deleted chain, the newest anchor deleted, rows
reordered, and a row forged with every hash after it re-made, anchors included."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from practice import seed_practice
from sqlalchemy import text

from definitions.model import Actor
from engine.actors import ActorRef
from engine.audit.anchors import _digest_heads, _heads_as_of, anchor_content
from engine.audit.entry import GENESIS, chain_hash, stored_time, utc_text
from engine.audit.verify import _readable_columns, _stored_content
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.front_door.flow import PortalFlow
from engine.storage.tables import audit_events

ANA = ActorRef("ana", "staff", Actor.STAFF)
ONBOARDING = "portal-invitation-reset-onboarding"


@dataclass
class History:
    flow: PortalFlow
    database: Path
    folder: Path
    anchored: str  # an enrollment whose whole history an anchor covers
    tail: str  # an enrollment started after the last anchor

    def sql(self, statement: str, **values: Any) -> None:
        raw = sqlite3.connect(self.database)  # the tamperer: straight at the file, past the engine
        try:
            raw.execute(statement, values)
            raw.commit()
        finally:
            raw.close()

    def rows(self, chain: str) -> list[int]:
        with self.flow.db.connect() as conn:
            return [int(i) for i in conn.execute(text(
                "SELECT id FROM audit_events WHERE chain = :c ORDER BY seq"), {"c": chain}).scalars()]

    def problem(self) -> str:
        report = self.flow.histories.verify()
        assert not report.ok
        assert report.first_problem is not None
        return report.first_problem


@pytest.fixture
def history(tmp_path: Path, clock: Any, workflows_dir: Path) -> Iterator[History]:
    database = tmp_path / "portalflow.db"
    flow = build(f"sqlite:///{database}", workflows_dir, clock=clock, hash_cost=TEST_COST,
                 key_file=tmp_path / "var" / "outbox.key", mail_folder=tmp_path / "var" / "mail")
    seed_practice(flow.db)
    anchored = flow.start(StartEnrollment(ONBOARDING, ANA, patient_id="p-jane")).enrollment_id
    flow.advance(AdvanceEnrollment(anchored, "enable_portal_access", ANA, inputs={"enable_access": "onboarding_tool"}))
    flow.advance(AdvanceEnrollment(anchored, "send_invitation", ANA, inputs={
        "send_from": "onboarding_tool", "confirm_email_personal": True}))
    flow.people.update_patient(ANA, "c-ava", {"pcp_id": "dr-other"})  # a patient's own chain
    flow.histories.anchor()
    flow.histories.anchor()
    tail = flow.start(StartEnrollment(ONBOARDING, ANA, patient_id="c-ben")).enrollment_id
    flow.advance(AdvanceEnrollment(tail, "enable_portal_access", ANA, inputs={"enable_access": "onboarding_tool"}))
    assert flow.histories.verify().ok
    yield History(flow, database, tmp_path, anchored, tail)
    flow.close()


FIELDS = ("action", "actor_id", "actor_role", "at", "outcome", "to_state", "trigger", "detail", "inputs", "reason")


@pytest.mark.parametrize("field", FIELDS)
def test_editing_any_field_of_any_row_is_named(history: History, field: str) -> None:
    row = history.rows(history.anchored)[1]
    value = "2020-01-01 00:00:00.000000" if field == "at" else '{"x": 1}' if field == "inputs" else "forged"
    history.sql(f"UPDATE audit_events SET {field} = :v WHERE id = :id", v=value, id=row)
    assert history.problem().startswith(f"audit event {row} (chain {history.anchored}, seq 2) was altered")


def test_deleting_the_first_row_of_a_chain_is_named(history: History) -> None:
    history.sql("DELETE FROM audit_events WHERE id = :id", id=history.rows(history.anchored)[0])
    assert "seq 1 is missing" in history.problem()


def test_deleting_a_middle_row_is_named(history: History) -> None:
    first, middle, last = history.rows(history.anchored)
    history.sql("DELETE FROM audit_events WHERE id = :id", id=middle)
    assert history.problem() == (f"audit event {last} (chain {history.anchored}, seq 3): seq 2 is missing: chain "
                                 "jumps from 1 to 3")
    assert first < middle


def test_deleting_the_last_row_after_the_last_anchor_is_named_by_the_enrollments_head(history: History) -> None:
    history.sql("DELETE FROM audit_events WHERE id = :id", id=history.rows(history.tail)[-1])
    assert history.problem() == (
        f"enrollment {history.tail} records 2 history row(s), but its row 2 is missing: the newest rows of its "
        "history were deleted")


def test_deleting_a_whole_chain_is_named(history: History) -> None:
    history.sql("DELETE FROM audit_events WHERE chain = :c", c=history.tail)
    assert history.problem().startswith(f"enrollment {history.tail} records 2 history row(s)")


def test_deleting_the_last_row_of_a_chain_no_enrollment_records_is_named_by_the_anchor(history: History) -> None:
    (only,) = history.rows("patient:c-ava")
    history.sql("DELETE FROM audit_events WHERE id = :id", id=only)
    assert "no longer matches the chain heads" in history.problem()


def test_deleting_the_newest_anchor_is_named_as_anchors_gone_down(history: History) -> None:
    history.sql("DELETE FROM audit_anchors WHERE id = (SELECT max(id) FROM audit_anchors)")
    assert history.problem().startswith("anchors went down: anchor 2 ")


def test_deleting_every_anchor_is_named_as_anchors_gone_down(history: History) -> None:
    history.sql("DELETE FROM audit_anchors")
    assert history.problem().startswith("anchors went down: anchor 1 ")


def test_reordering_two_rows_is_named(history: History) -> None:
    first, second = history.rows(history.anchored)[:2]
    history.sql("UPDATE audit_events SET seq = -1 WHERE id = :id", id=first)
    history.sql("UPDATE audit_events SET seq = 1 WHERE id = :id", id=second)
    history.sql("UPDATE audit_events SET seq = 2 WHERE id = :id", id=first)
    assert "was altered" in history.problem()


def _forge(history: History, sealed: Callable[[str], str | None]) -> None:
    """Edit the anchored enrollment's first row and re-make everything a verifier without the key could check:
    the rest of its chain, the enrollment's head, and every anchor's heads, hash and chain."""
    chain = history.anchored
    with history.flow.db.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_id = 'mallory' WHERE chain = :c AND seq = 1"), {"c": chain})
        rows = conn.execute(audit_events.select().with_only_columns(*_readable_columns(conn, audit_events))
                            .where(audit_events.c.chain == chain).order_by(audit_events.c.seq)).mappings().all()
        previous = GENESIS
        for row in rows:
            content = _stored_content({**row, "prev_hash": previous})
            assert content is not None
            new_hash = chain_hash(previous, content)
            conn.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id"),
                         {"p": previous, "h": new_hash, "id": row["id"]})
            previous = new_hash
        conn.execute(text("UPDATE enrollments SET audit_head = :h WHERE id = :id"), {"h": previous, "id": chain})
        anchor_prev = GENESIS
        for anchor_id, at, upto in conn.execute(text("SELECT id, at, upto_event_id FROM audit_anchors ORDER BY id")):
            chains, digest = _digest_heads(_heads_as_of(conn, upto))
            anchor_hash = chain_hash(anchor_prev, anchor_content(utc_text(stored_time(at)), chains, digest, upto))
            conn.execute(text("UPDATE audit_anchors SET chains = :n, heads_digest = :d, prev_hash = :p, hash = :h, "
                              "seal = :s WHERE id = :id"),
                         {"n": chains, "d": digest, "p": anchor_prev, "h": anchor_hash, "s": sealed(anchor_hash),
                          "id": anchor_id})
            anchor_prev = anchor_hash
    assert history.flow.histories.verify().first_problem != f"audit event {rows[0]['id']} was altered"


def test_a_row_forged_with_every_hash_re_made_is_named_by_the_anchors_seal(history: History) -> None:
    _forge(history, lambda anchor_hash: chain_hash("a guessed key", anchor_hash.encode()))
    assert history.problem() == "anchor 1's seal does not match its hash: it was re-made without the key"


def test_a_forgery_that_drops_the_seals_is_named_by_the_anchor_log(history: History) -> None:
    _forge(history, lambda anchor_hash: None)
    assert history.problem() == "anchor 1 differs from the anchor log: it was re-made"


def test_an_edited_anchor_log_is_named(history: History) -> None:
    log = history.folder / "portalflow.db-anchors.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    entries[0]["chains"] = 99
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    assert history.problem() == "anchor 1 differs from the anchor log: it was re-made"


def test_portalflow_audit_verify_names_the_problem_and_fails(history: History) -> None:
    history.sql("DELETE FROM audit_anchors WHERE id = (SELECT max(id) FROM audit_anchors)")
    done = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify", "--database-url",
                           f"sqlite:///{history.database}"], cwd=history.folder, capture_output=True, text=True,
                          check=False, env={**os.environ, "PORTALFLOW_HOME": str(history.folder)})
    assert done.returncode == 1
    assert done.stdout.startswith("ALTERED: anchors went down: anchor 2 ")


def test_the_background_round_anchors_when_the_last_anchor_is_an_hour_old_and_the_history_grew(
        history: History, clock: Any) -> None:
    assert history.flow.background_round().endswith("anchor: none needed")  # the fixture's anchor is new
    clock.advance(timedelta(minutes=61))
    assert history.flow.background_round().endswith("anchor: 3")  # the tail enrollment came after anchor 2
    clock.advance(timedelta(minutes=61))
    assert history.flow.background_round().endswith("anchor: none needed")  # nothing new since
    assert history.flow.histories.verify().ok
