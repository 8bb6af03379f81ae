"""Verify the audit trail: recompute every chain and anchor from the stored rows, and name the first problem.

Editing, removing or reordering a row breaks its chain at that row; a missing tail or a missing chain no longer
matches the next anchor. Rows are streamed, never held whole in memory.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, String, Table, Text, cast, select, type_coerce
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.elements import ColumnElement

from engine.audit.anchors import anchor_content, chain_order, head_line
from engine.audit.cross_checks import heads_problem, log_problem, seal_problem
from engine.audit.entry import GENESIS, AuditEntry, canonical_json, chain_hash, stored_time, utc_text
from engine.audit.keeping import AnchorKeeper
from engine.storage.tables import audit_anchors, audit_events

_PAGE = 500  # rows per fetch when streaming: the verifier never holds the table in memory


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found: counts, and the first problem as a sentence naming the row (None when ok)."""

    ok: bool
    events_checked: int
    chains: int
    anchors_checked: int
    first_problem: str | None


def verify(conn: Connection, keeper: AnchorKeeper | None = None) -> VerifyReport:
    """Recompute every chain and anchor from the stored rows; name the first problem found.

    Events are streamed in (chain, seq) order; one pass both checks each chain and rebuilds every anchor's
    heads digest. Event problems come first (lowest event id), then each enrollment's recorded head, then anchors
    in id order; with the `keeper`, then the anchors' seals and the anchor log (`engine.audit.cross_checks`).
    """
    anchors = conn.execute(
        select(*_readable_columns(conn, audit_anchors)).order_by(audit_anchors.c.id)
    ).mappings().all()
    heads = _HeadsAsOf(a["upto_event_id"] for a in anchors)
    first: tuple[int, str] | None = None
    events = chains = 0
    previous: RowMapping | None = None
    for row in _stream_events(conn):
        events += 1
        if previous is None or row["chain"] != previous["chain"]:
            chains += 1
            previous = None
        problem = _event_problem(row, previous)
        if problem is not None and (first is None or row["id"] < first[0]):
            first = (row["id"], problem)
        heads.see(row["chain"], row["id"], row["seq"], row["hash"])
        previous = row
    heads.finish()
    problem = first[1] if first is not None else heads_problem(conn) or _anchor_problem(anchors, heads)
    if problem is None and keeper is not None:
        problem = seal_problem(anchors, keeper) or log_problem(anchors, keeper)
    return VerifyReport(problem is None, events, chains, len(anchors), problem)


def _readable_columns(conn: Connection, table: Table) -> list[ColumnElement[Any]]:
    # Read what could have been tampered with as text, so a garbled value is reported instead of crashing verify.
    columns: list[ColumnElement[Any]] = []
    for column in table.c:
        if column.name == "at" and conn.dialect.name == "sqlite":
            columns.append(type_coerce(column, String).label("at"))
        elif column.name == "inputs":
            columns.append(cast(column, Text).label("inputs"))
        else:
            columns.append(column)
    return columns


def _stream_events(conn: Connection) -> Iterator[RowMapping]:
    stmt = (
        select(*_readable_columns(conn, audit_events))
        .order_by(chain_order(conn), audit_events.c.seq)
        .execution_options(yield_per=_PAGE)
    )
    yield from conn.execute(stmt).mappings()


def _stored_content(row: RowMapping) -> bytes | None:
    try:
        content = {f.name: row[f.name] for f in fields(AuditEntry)}
        content["at"] = utc_text(stored_time(row["at"]))
        content["inputs"] = None if row["inputs"] is None else json.loads(row["inputs"])
        content["seq"] = row["seq"]
        return canonical_json(content)
    except (TypeError, ValueError):
        return None


def _event_problem(row: RowMapping, previous: RowMapping | None) -> str | None:
    name = f"audit event {row['id']} (chain {row['chain']}, seq {row['seq']})"
    seq = row["seq"]
    if not isinstance(seq, int):
        return f"{name} was altered: its seq is not a whole number"
    # A previous row with a garbled seq was reported itself; do not blame this row for it.
    expected_seq = previous["seq"] + 1 if previous is not None and isinstance(previous["seq"], int) else 1
    expected_prev = GENESIS if previous is None else previous["hash"]
    content = _stored_content(row)
    if content is None or chain_hash(row["prev_hash"], content) != row["hash"]:
        if content is not None and seq == expected_seq and chain_hash(expected_prev, content) == row["hash"]:
            return f"{name} was altered: its prev_hash was changed and no longer matches the previous row"
        return f"{name} was altered: its content no longer matches its hash"
    if seq > expected_seq:
        gap = f"seq {expected_seq} is missing" if seq == expected_seq + 1 else (
            f"seqs {expected_seq} to {seq - 1} are missing")
        return f"{name}: {gap}: chain jumps from {expected_seq - 1} to {seq}"
    if seq < expected_seq:
        return f"{name}: seq {seq} appears twice"
    if row["prev_hash"] != expected_prev:
        return f"{name}: its prev_hash does not match the previous row"
    return None


def _anchor_problem(anchors: Sequence[RowMapping], heads: _HeadsAsOf) -> str | None:
    expected_prev = GENESIS
    for a in anchors:
        try:
            content = anchor_content(utc_text(stored_time(a["at"])), a["chains"], a["heads_digest"], a["upto_event_id"])
        except (TypeError, ValueError):
            content = b""
        if chain_hash(a["prev_hash"], content) != a["hash"]:
            return f"anchor {a['id']} was altered: its content no longer matches its hash"
        if a["prev_hash"] != expected_prev:
            return f"anchor {a['id']}: its prev_hash does not match the previous anchor"
        if heads.as_of(a["upto_event_id"]) != (a["chains"], a["heads_digest"]):
            return f"anchor {a['id']} no longer matches the chain heads as of event {a['upto_event_id']}"
        expected_prev = a["hash"]
    return None


class _HeadsAsOf:
    """Each anchor's heads (count, digest), rebuilt from events seen in (chain, seq) order, one chain at a time.

    Per chain it keeps only the highest (seq, hash) within each interval between anchors, so memory is bounded
    by the number of anchors, not by the number of events.
    """

    def __init__(self, uptos: Iterable[object]) -> None:
        self._uptos = sorted({u for u in uptos if isinstance(u, int)})
        self._digests = [hashlib.sha256() for _ in self._uptos]
        self._counts = [0] * len(self._uptos)
        self._chain = ""
        self._newest: dict[int, tuple[int, str]] = {}

    def see(self, chain: str, event_id: int, seq: object, hash_: str) -> None:
        if chain != self._chain:
            self.finish()
            self._chain = chain
        interval = bisect_left(self._uptos, event_id)  # the first anchor whose upto covers this event
        if isinstance(seq, int) and interval < len(self._uptos):
            best = self._newest.get(interval)
            if best is None or seq > best[0]:
                self._newest[interval] = (seq, hash_)

    def finish(self) -> None:
        if not self._newest:
            return
        start = min(self._newest)
        head = self._newest[start]
        for k in range(start, len(self._uptos)):
            candidate = self._newest.get(k)
            if candidate is not None and candidate[0] > head[0]:
                head = candidate
            self._digests[k].update(head_line(self._chain, *head))
            self._counts[k] += 1
        self._newest = {}

    def as_of(self, upto: object) -> tuple[int, str] | None:
        if not isinstance(upto, int):
            return None
        k = bisect_left(self._uptos, upto)
        return self._counts[k], self._digests[k].hexdigest()
