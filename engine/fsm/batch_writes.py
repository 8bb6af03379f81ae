"""The rows of many transitions, kept in memory and written together: one executemany per statement per batch.

Why: a timer's expiry is judged in microseconds, but written as five statements (cancel the state's timers, arm
the next state's, move the enrollment, insert its audit row, settle the timer). Written one by one they cost more
than everything else; written for a batch at once the database does the same row work in a few statements: one
executemany each for arms, moves and audit rows, one multi-row UPDATE per kind of cancellation and settlement.

What stays the same per enrollment: its judgement, its effects (run at once, in the caller's transaction), its own
hash-chained audit entries and its optimistic move (`version` and `audit_seq` as read), in the same order: timers
cancelled, then armed, then the move, then the audit rows. Settled timers go first: a fired timer is then no longer
pending when its state's timers are cancelled, so its row changes once (pending to fired) instead of twice (to
cancelled, then to fired), and ends the same. An enrollment is written at most once per flush: a caller that meets
it again flushes first.
`flush` raises `BatchMoved` when an enrollment changed after it was read, and the caller's transaction (or its
savepoint) must then be rolled back: nothing of the batch may be kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.audit.trail import write_values
from engine.fsm.batch_postgres import insert_audit, move_all
from engine.fsm.rows import move_many
from engine.timers.rows import arm_many, cancel_together, settle_together


class BatchMoved(Exception):
    """An enrollment of the batch changed after it was read: the batch must be rolled back."""


@dataclass
class BatchWrites:
    # Cancellations by (when, the timers of the state left): the enrollments leaving it. Settlements by how they
    # end: the timer rows. Each group is one statement: a batch's expiries mostly share both.
    cancels: dict[tuple[datetime, frozenset[str]], list[str]] = field(default_factory=dict)
    arms: list[dict[str, Any]] = field(default_factory=list)
    moves: list[Sequence[Any]] = field(default_factory=list)  # `engine.fsm.rows.moved` values
    audit: list[Sequence[Any]] = field(default_factory=list)  # values in `engine.audit.trail.AUDIT_ROW_KEYS` order
    settles: dict[tuple[str, str | None, datetime], list[int]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)  # enrollments with rows waiting here

    def transition(self, enrollment_id: str, cancelled: frozenset[str], now: datetime, arms: list[dict[str, Any]],
                   move: Sequence[Any], audit: Sequence[Sequence[Any]]) -> None:
        """One transition's own rows, all at once (so a failure half-way through judging leaves none of them):
        its old state's timers `cancelled` at `now`, the next state's `arms`, its `move` (`moved`'s values) and its
        `audit` rows (`row_values`': rows are kept as values, not dicts, and written so)."""
        if enrollment_id in self.touched:
            raise AssertionError(f"enrollment {enrollment_id} written twice in one batch without a flush")
        self.touched.add(enrollment_id)
        if cancelled:
            self.cancels.setdefault((now, cancelled), []).append(enrollment_id)
        self.arms += arms
        self.moves.append(move)
        self.audit += audit

    def settle(self, enrollment_id: str, timer_row: int, status: str, detail: str | None, now: datetime) -> None:
        self.touched.add(enrollment_id)
        self.settles.setdefault((status, detail, now), []).append(timer_row)

    def flush(self, conn: Connection) -> None:
        """Write what is waiting, in the order one transition writes it; then every enrollment may be met again."""
        for (status, detail, now), timer_rows in self.settles.items():
            settle_together(conn, timer_rows, status, detail, now)
        for (now, timer_ids), enrollment_ids in self.cancels.items():
            cancel_together(conn, enrollment_ids, timer_ids, now)
        arm_many(conn, self.arms)
        postgres = conn.dialect.name == "postgresql"  # one statement for all rows (`engine.fsm.batch_postgres`)
        if (move_all if postgres else move_many)(conn, self.moves) != len(self.moves):
            raise BatchMoved(f"{len(self.moves)} enrollments to move, some changed after they were read")
        (insert_audit if postgres else write_values)(conn, self.audit)
        self.cancels.clear()
        self.settles.clear()
        for waiting in (self.arms, self.moves, self.audit):
            waiting.clear()
        self.touched.clear()
