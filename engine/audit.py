"""The audit trail: append-only, hash-chained rows, and the verifier that names the first altered one.

Each audited action is one `audit_events` row. A row belongs to a chain and carries its position (`seq`), the hash
of the row before it (`prev_hash`) and its own `hash` = sha256(prev_hash + "\\n" + canonical JSON of its content
and position). Editing, removing or reordering a row therefore breaks its chain at that row, and `verify` says so.

Why one chain per enrollment rather than one for everything:
- A single global chain makes every audited transaction read and advance the same head row: on PostgreSQL every
  transition in the practice would queue on that one row lock, and the hot path would become serial.
- An enrollment's events form their own chain (key = enrollment id) whose head lives in `enrollments.audit_seq`
  and `enrollments.audit_head`, on the row the transition's optimistic version update locks anyway: appending
  takes no extra lock, and unrelated enrollments never wait for each other.
- Events outside an enrollment use "<subject_type>:<subject_id>" (e.g. "patient:p1", "staff:u1") or "global".
  They are rare, so they find their head by reading the chain's newest row; UNIQUE(chain, seq) catches a
  concurrent writer and the append is retried.
- A chain alone cannot show that its tail, or all of it, was deleted: what is left is still a valid chain. So
  `anchor` periodically writes a row binding the heads of all chains as of the newest event, chained to the
  previous anchor, and `verify` recomputes those heads: a missing tail or a missing chain no longer matches.

Limits: the hashes are unkeyed, so whoever can write these tables can rebuild a chain and every later anchor
consistently; anchor hashes copied elsewhere (exports, printed reports) expose that. The row id is not hashed
(the database assigns it after the hash is computed). The newest rows after the last anchor can be removed
unseen, as can the newest anchor. On PostgreSQL `engine.storage.audit_protection` keeps the application from
updating or deleting rows at all.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, String, Table, Text, cast, func, insert, select, text, type_coerce
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from engine.storage.direct import DirectStatement
from engine.storage.tables import audit_anchors, audit_events

GENESIS: Final = "0" * 64
OUTCOMES: Final = frozenset({"ok", "refused", "failed"})
REDACTED: Final = "[redacted]"
SECRET_FRAGMENTS: Final = ("password", "pin", "token", "secret")
GLOBAL_CHAIN: Final = "global"

Outcome = Literal["ok", "refused", "failed"]

_CHAIN_LENGTH = 64  # audit_events.chain is String(64)
_PAGE = 500  # rows per fetch when streaming: the verifier never holds the table in memory
_STANDALONE_ATTEMPTS = 5


@dataclass(frozen=True)
class AuditEntry:
    """What happened, as it will be stored: `at` becomes UTC and `inputs` exactly what the database gives back."""

    chain: str
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    outcome: Outcome
    subject_type: str | None = None
    subject_id: str | None = None
    enrollment_id: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    trigger: str | None = None
    inputs: dict[str, object] | None = None
    reason: str | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        # Tabs, newlines, control and separator characters would make the anchors' "chain\tseq\thash" lines ambiguous.
        if not 0 < len(self.chain) <= _CHAIN_LENGTH or not self.chain.isprintable():
            raise ValueError(f"audit chain {self.chain!r} must be 1-{_CHAIN_LENGTH} printable characters")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("audit time must be timezone-aware")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"audit outcome {self.outcome!r} is not one of {sorted(OUTCOMES)}")
        # SQLite keeps no UTC offset: a local time would come back as a different instant and fail its hash.
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        if self.inputs is not None:
            # Secrets never reach a row even when a caller forgot `redact`; the JSON round trip makes the entry hold
            # what the database will return (lists, string keys), so the hash computed now is the one verify gets.
            plain = json.dumps(redact(self.inputs), allow_nan=False, ensure_ascii=False)
            object.__setattr__(self, "inputs", json.loads(plain))


_ENTRY_FIELDS: Final = tuple(f.name for f in fields(AuditEntry))
_INSERT_EVENT: Final = DirectStatement(insert(audit_events), (*_ENTRY_FIELDS, "seq", "prev_hash", "hash"))


@dataclass(frozen=True)
class ChainHead:
    """The newest row of a chain: its seq and hash (seq 0 and GENESIS before the first row)."""

    seq: int
    hash: str


GENESIS_HEAD: Final = ChainHead(0, GENESIS)


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found: counts, and the first problem as a sentence naming the row (None when ok)."""

    ok: bool
    events_checked: int
    chains: int
    anchors_checked: int
    first_problem: str | None


def chain_key(enrollment_id: str | None = None, subject_type: str | None = None, subject_id: str | None = None) -> str:
    """The chain an event belongs to: its enrollment, else its subject, else the global chain."""
    if enrollment_id:
        if ":" in enrollment_id or enrollment_id == GLOBAL_CHAIN:
            raise ValueError(f"enrollment id {enrollment_id!r} would share a chain with non-enrollment events")
        return enrollment_id
    if subject_type and subject_id:
        return f"{subject_type}:{subject_id}"
    return GLOBAL_CHAIN


def canonical(entry: AuditEntry, seq: int) -> bytes:
    """The bytes an entry's hash covers: sorted-key, whitespace-free UTF-8 JSON of every field plus `seq`."""
    content: dict[str, object] = dict(entry.__dict__)  # exactly the fields: the dataclass has no other attributes
    content["at"] = _utc_text(entry.at)
    content["seq"] = seq
    return _canonical_json(content)


def chain_hash(prev_hash: str, canonical_bytes: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("utf-8") + b"\n" + canonical_bytes).hexdigest()


def append(conn: Connection, entry: AuditEntry, head: ChainHead) -> ChainHead:
    """Insert `entry` after `head` and return the chain's new head; the caller keeps heads it owns up to date."""
    rows, new_head = prepare([entry], head)
    insert_rows(conn, rows)
    return new_head


def prepare(entries: Sequence[AuditEntry], head: ChainHead) -> tuple[list[dict[str, Any]], ChainHead]:
    """Hash entries after `head` once, in memory: the rows to insert and the chain's new head.

    The engine needs the new head before it writes (it goes into the same UPDATE that moves the enrollment),
    so hashing and inserting are separate steps; each entry is hashed exactly once.
    """
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq = head.seq + 1
        new_hash = chain_hash(head.hash, canonical(entry, seq))
        row: dict[str, Any] = dict(entry.__dict__)
        row.update(seq=seq, prev_hash=head.hash, hash=new_hash)
        rows.append(row)
        head = ChainHead(seq, new_hash)
    return rows, head


def insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """One prebuilt INSERT for all rows (`inputs` None is SQL NULL: the column is none_as_null)."""
    if rows:
        _INSERT_EVENT.execute_many(conn, rows)


def chain_head(conn: Connection, chain: str) -> ChainHead:
    """The chain's newest stored row, read from the table (for chains whose head is kept nowhere else)."""
    row = conn.execute(
        select(audit_events.c.seq, audit_events.c.hash)
        .where(audit_events.c.chain == chain)
        .order_by(audit_events.c.seq.desc())
        .limit(1)
    ).first()
    return GENESIS_HEAD if row is None else ChainHead(row.seq, row.hash)


def append_standalone(conn: Connection, entry: AuditEntry) -> ChainHead:
    """Append to a chain that is not an enrollment's: read its head, insert, retry if a concurrent writer won."""
    attempt = 0
    while True:
        attempt += 1
        head = chain_head(conn, entry.chain)
        try:
            with _undo_on_failure(conn):
                return append(conn, entry, head)
        except IntegrityError:
            if attempt >= _STANDALONE_ATTEMPTS:
                raise


def anchor(conn: Connection, at: datetime) -> int:
    """Bind the heads of all chains as of the newest event in a new anchor row; returns its id.

    Run it in its own READ COMMITTED transaction (the periodic sweep), not inside a transaction that appends.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("anchor time must be timezone-aware")
    upto = _settled_upto(conn)
    chains, digest = _digest_heads(_heads_as_of(conn, upto))
    prev_hash = conn.execute(
        select(audit_anchors.c.hash).order_by(audit_anchors.c.id.desc()).limit(1)
    ).scalar_one_or_none() or GENESIS
    at = at.astimezone(UTC)
    new_hash = chain_hash(prev_hash, _anchor_content(_utc_text(at), chains, digest, upto))
    return int(conn.execute(insert(audit_anchors).values(
        at=at, upto_event_id=upto, chains=chains, heads_digest=digest, prev_hash=prev_hash, hash=new_hash,
    ).returning(audit_anchors.c.id)).scalar_one())


def verify(conn: Connection) -> VerifyReport:
    """Recompute every chain and anchor from the stored rows; name the first problem found.

    Events are streamed in (chain, seq) order; one pass both checks each chain and rebuilds every anchor's
    heads digest. Event problems come first (lowest event id), then anchors in id order.
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
    anchor_problem = _anchor_problem(anchors, heads)
    problem = first[1] if first is not None else anchor_problem
    return VerifyReport(problem is None, events, chains, len(anchors), problem)


def redact(inputs: Mapping[str, object], secret_keys: Collection[str] = ()) -> dict[str, object]:
    """A copy of `inputs`, nested values included, with every secret replaced by "[redacted]".

    A key is secret when it is in `secret_keys` or contains "password", "pin", "token" or "secret" (any case).
    The match is deliberately broad: a false positive costs a readable value, a false negative leaks a secret.
    Booleans and None under such keys are kept: they cannot carry a secret, and flags like `do_not_send_pin`
    are part of what happened.
    """
    named = {key.casefold() for key in secret_keys}
    return {str(key): _redact_value(key, value, named) for key, value in inputs.items()}


def _redact_value(key: object, value: object, named: set[str]) -> object:
    folded = str(key).casefold()
    secret = folded in named or any(fragment in folded for fragment in SECRET_FRAGMENTS)
    if secret and value is not None and not isinstance(value, bool):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redact_value(k, v, named) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, item, named) for item in value]
    return value


_CANONICAL_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                             allow_nan=False)


def _canonical_json(content: Mapping[str, object]) -> bytes:
    return _CANONICAL_ENCODER.encode(content).encode()


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _as_utc(value: object) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        raise TypeError("not a time")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)  # SQLite returns naive UTC


def _anchor_content(at_text: str, chains: object, heads_digest: object, upto: object) -> bytes:
    return _canonical_json({"at": at_text, "chains": chains, "heads_digest": heads_digest, "upto_event_id": upto})


def _head_line(chain: str, seq: int, hash_: str) -> bytes:
    return f"{chain}\t{seq}\t{hash_}\n".encode()


def _undo_on_failure(conn: Connection) -> AbstractContextManager[object]:
    # PostgreSQL aborts the whole transaction on a failed INSERT unless it ran in a savepoint. SQLite undoes only
    # the failed statement, and pysqlite's SAVEPOINT outside an explicit BEGIN would commit the caller's work early.
    return nullcontext() if conn.dialect.name == "sqlite" else conn.begin_nested()


def _settled_upto(conn: Connection) -> int:
    """The newest event id such that no transaction can still commit an event with a lower id."""
    newest = select(func.coalesce(func.max(audit_events.c.id), 0))
    if conn.dialect.name != "postgresql":
        # SQLite has one writer at a time and numbers a row when it writes it: lower ids are already committed.
        return int(conn.execute(newest).scalar_one())
    quote = conn.dialect.identifier_preparer.format_table
    # Anchors are a chain too: one writer at a time until commit. This blocks only other anchors.
    conn.execute(text(f"LOCK TABLE {quote(audit_anchors)} IN SHARE ROW EXCLUSIVE MODE"))
    barrier = conn.begin_nested()
    try:
        # Ids come from a sequence before commit, so a slower transaction could still commit an id below max(id),
        # and the anchor would later look wrong. This lock waits for every transaction inserting events to end.
        conn.execute(text(f"LOCK TABLE {quote(audit_events)} IN SHARE ROW EXCLUSIVE MODE"))
        return int(conn.execute(newest).scalar_one())
    finally:
        barrier.rollback()  # releases that lock now: appends wait for one max(id) lookup, not the whole anchor


def _chain_order(conn: Connection) -> ColumnElement[str]:
    # The heads digest is defined over code-point order so anyone can recompute it from an export, and a new
    # collation or ICU version cannot change it. PostgreSQL's default collation is usually linguistic; "C" is
    # byte order, which in UTF-8 is code-point order, as SQLite's BINARY.
    return audit_events.c.chain.collate("C") if conn.dialect.name == "postgresql" else audit_events.c.chain


def _heads_as_of(conn: Connection, upto: int) -> Iterator[tuple[str, int, str]]:
    e = audit_events
    newest = select(e.c.chain, func.max(e.c.seq).label("seq")).where(e.c.id <= upto).group_by(e.c.chain).subquery()
    stmt = (
        select(e.c.chain, e.c.seq, e.c.hash)
        .join_from(e, newest, (e.c.chain == newest.c.chain) & (e.c.seq == newest.c.seq))
        .order_by(_chain_order(conn))
        .execution_options(yield_per=_PAGE)
    )
    for row in conn.execute(stmt):
        yield row.chain, row.seq, row.hash


def _digest_heads(heads: Iterable[tuple[str, int, str]]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for chain, seq, hash_ in heads:
        digest.update(_head_line(chain, seq, hash_))
        count += 1
    return count, digest.hexdigest()


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
        .order_by(_chain_order(conn), audit_events.c.seq)
        .execution_options(yield_per=_PAGE)
    )
    yield from conn.execute(stmt).mappings()


def _stored_content(row: RowMapping) -> bytes | None:
    try:
        content = {f.name: row[f.name] for f in fields(AuditEntry)}
        content["at"] = _utc_text(_as_utc(row["at"]))
        content["inputs"] = None if row["inputs"] is None else json.loads(row["inputs"])
        content["seq"] = row["seq"]
        return _canonical_json(content)
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
            content = _anchor_content(_utc_text(_as_utc(a["at"])), a["chains"], a["heads_digest"], a["upto_event_id"])
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
            self._digests[k].update(_head_line(self._chain, *head))
            self._counts[k] += 1
        self._newest = {}

    def as_of(self, upto: object) -> tuple[int, str] | None:
        if not isinstance(upto, int):
            return None
        k = bisect_left(self._uptos, upto)
        return self._counts[k], self._digests[k].hexdigest()
