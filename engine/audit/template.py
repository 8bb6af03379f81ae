"""Audit entries of one shape, made many at a time: the canonical text precomputed, only what varies filled in.

Why: the sweep records one entry per expiry, and building an `AuditEntry`, copying it into a dict and encoding all
its fields as canonical JSON cost more than the database's work for the row. The entries of one batch's expiries
of one (state, trigger) differ only in the enrollment they are about (chain, subject), the reason and the seq;
the time, the actor, the action, the states and the trigger are the same. An `EntryTemplate` is made from one
entry built the ordinary way (`about_enrollment`) and encoded the ordinary way (`canonical`), with marker values in
the fields that vary: so what it fills in is, byte for byte, what `canonical` makes of the same entry
(tests/engine/test_sweep_fast_path.py compares them), and a field added to `AuditEntry` cannot be forgotten here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from hashlib import sha256
from json.encoder import encode_basestring  # the C encoder `canonical_json` uses (ensure_ascii=False)
from operator import itemgetter
from typing import Any, Final

from engine.audit.entry import AuditEntry, ChainedEnrollment, canonical, subject_of, utc_text
from engine.audit.trail import AUDIT_ROW_KEYS

VARYING: Final = ("chain", "subject_type", "subject_id", "enrollment_id", "reason")
_SEQ_MARK: Final = 7_364_921_508_813_337  # an int no other field of a prototype holds (checked)
_AT_MARK: Final = datetime(1903, 4, 5, 6, 7, 8, 901_234, tzinfo=UTC)  # `at`, when it varies (checked likewise)
_FILLED: Final = ("chain", "subject_type", "subject_id", "enrollment_id", "reason", "seq", "prev_hash", "hash")
_CHAIN_LENGTH: Final = 64  # audit_events.chain is String(64), as `AuditEntry` checks


def _mark(name: str) -> str:
    return f"<<portalflow:{name}>>"


def _marked(name: str) -> str:
    """A varying field's marker as the canonical text holds it."""
    return _json(_AT_MARK if name == "at" else _mark(name))


class EntryTemplate:
    """Entries like `prototype`, differing only in the `varying` fields (string fields, or `at`) and the seq."""

    def __init__(self, prototype: AuditEntry, varying: tuple[str, ...] = VARYING) -> None:
        marks: dict[str, Any] = {name: _AT_MARK if name == "at" else _mark(name) for name in varying}
        marked = replace(prototype, **marks)
        text = canonical(marked, _SEQ_MARK).decode()
        spots = [(_marked(name), name) for name in varying] + [(str(_SEQ_MARK), "seq")]
        for mark, name in spots:
            if text.count(mark) != 1:
                raise ValueError(f"audit template: field {name!r} cannot be located in the canonical text")
        located = sorted((text.index(mark), mark, name) for mark, name in spots)
        self.order = tuple(name for _, _, name in located)  # the varying fields in canonical (sorted-key) order
        self._pick = itemgetter(*self.order)
        pieces, at = [], 0
        for position, mark, _ in located:
            pieces.append(text[at:position].replace("%", "%%"))
            at = position + len(mark)
        self._format = "%s".join([*pieces, text[at:].replace("%", "%%")])
        self.constants: dict[str, Any] = {key: value for key, value in prototype.__dict__.items()
                                          if key not in varying}

    def text(self, values: dict[str, Any]) -> str:
        """The canonical text (`canonical(entry, seq).decode()`) of the entry with these varying values."""
        return self.encoded({name: _json(value) for name, value in values.items()})

    def encoded(self, encoded: dict[str, str]) -> str:
        """`text`, given every varying value already as JSON text (the fast way for a caller that knows types)."""
        text: str = self._format % self._pick(encoded)
        return text


def _json(value: object) -> str:
    """A varying value as `canonical` writes it: a string, an int (the seq), a time (`at`) or None."""
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, datetime):
        return encode_basestring(utc_text(value))
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"audit template: {type(value).__name__} is not a varying field's type")


class TransitionTemplate:
    """The 'transition' entries of one (state, trigger, destination) at one moment, by one actor, each hashed onto
    its enrollment's chain: `row` gives the audit row to insert and the chain's new head, as `prepare` would."""

    def __init__(self, prototype: AuditEntry) -> None:
        self._entry = EntryTemplate(prototype)
        if self._entry.constants["inputs"] is not None or prototype.reason is None:
            raise ValueError("audit template: a transition with inputs or without a reason is not templated")
        # A row's values in `AUDIT_ROW_KEYS` order: the constants in place once, the rest filled in per row.
        self._values = [self._entry.constants.get(key) for key in AUDIT_ROW_KEYS]
        self._at = tuple(AUDIT_ROW_KEYS.index(key) for key in _FILLED)

    def row(self, enrollment: ChainedEnrollment, reason: str) -> list[Any] | None:
        """The audit row of this transition of `enrollment`, as its values in `AUDIT_ROW_KEYS` order (what
        `row_values` makes of a `prepare` row: fields, seq, prev_hash, hash); None when its id could not be a chain
        (`AuditEntry` would refuse it: the caller takes the ordinary way)."""
        chain = enrollment.id
        if not 0 < len(chain) <= _CHAIN_LENGTH or not chain.isprintable():
            return None
        subject_type, subject_id = subject_of(enrollment)
        seq = enrollment.audit_seq + 1
        prev_hash = enrollment.audit_head
        quoted = encode_basestring(chain)
        text = self._entry.encoded({
            "chain": quoted, "enrollment_id": quoted, "subject_type": encode_basestring(subject_type),
            "subject_id": "null" if subject_id is None else encode_basestring(subject_id),
            "reason": encode_basestring(reason), "seq": str(seq)})
        values = self._values.copy()
        (chain_at, subject_type_at, subject_id_at, enrollment_at, reason_at, seq_at, prev_at, hash_at) = self._at
        values[chain_at] = values[enrollment_at] = chain
        values[subject_type_at], values[subject_id_at], values[reason_at] = subject_type, subject_id, reason
        values[seq_at], values[prev_at] = seq, prev_hash
        values[hash_at] = sha256(f"{prev_hash}\n{text}".encode()).hexdigest()
        return values
