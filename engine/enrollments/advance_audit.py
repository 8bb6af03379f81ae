"""An advance's audit rows: its 'transition' entry filled into a template, then any entries its effects added.

Why: building an `AuditEntry` (with its checks), copying it into a dict and encoding all its fields as canonical
JSON cost more than the database's work for the row (`make bench` on tmpfs: ~13 µs of a ~90 µs advance; ~6 µs
this way). The 'transition' entries of one (state, trigger, destination) by one actor differ only in the enrollment
they are about (chain, subject), the moment, the reason and the seq. So the first such advance builds its entry the
ordinary way (`about_enrollment`), an `EntryTemplate` is made from it, and later ones fill in only those fields:
byte for byte what `about_enrollment` and `prepare` make of the same entry (tests/engine/test_advance_audit_rows.py
compares them). An entry with step inputs takes the ordinary way (its inputs are redacted and round-tripped
through JSON first), and so does one that `AuditEntry` would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from hashlib import sha256
from json.encoder import encode_basestring  # the C encoder `canonical_json` uses (ensure_ascii=False)
from typing import Any, Final

from definitions.model import Transition
from engine.actors import ActorRef
from engine.audit.entry import AuditEntry, ChainHead, about_enrollment, subject_of
from engine.audit.template import EntryTemplate
from engine.audit.trail import Prepared, prepare
from engine.fsm.rows import EnrollmentRow

VARYING: Final = ("chain", "subject_type", "subject_id", "enrollment_id", "reason", "at")
_CHAIN_LENGTH: Final = 64  # audit_events.chain is String(64), as `AuditEntry` checks
_LIMIT: Final = 4096  # templates kept (per state, trigger, destination and user); past it they are made afresh

# Every field the template holds constant: from_state, trigger, to_state, actor_id, actor_role (the action is
# 'transition', the outcome 'ok', and inputs and detail are None, always).
_Key = tuple[str, str, str, str, str]


class AdvanceEntries:
    """The templates of one process's advances, made on first use."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self._templates: dict[_Key, EntryTemplate] = {}
        self._limit = limit

    def rows(self, row: EnrollmentRow, transition: Transition, at: datetime,
             actor: ActorRef, inputs: dict[str, object] | None, reason: str | None,
             extra: Sequence[AuditEntry] = ()) -> tuple[Prepared, ChainHead]:
        """The audit rows of `row`'s transition and of `extra` after it, hashed onto its chain, and the new head:
        what `prepare([about_enrollment(..., "transition", "ok", ...), *extra], head)` returns."""
        first = None if inputs is not None else self._row(row, transition, at, actor, reason)
        if first is None:
            entry = about_enrollment(row, at, actor, "transition", "ok", to_state=transition.dest,
                                     trigger=transition.trigger, inputs=inputs, reason=reason)
            return prepare([entry, *extra], ChainHead(row.audit_seq, row.audit_head))
        head = ChainHead(first["seq"], first["hash"])
        if not extra:
            return [first], head
        more, head = prepare(extra, head)
        return [first, *more], head

    def _row(self, row: EnrollmentRow, transition: Transition, at: datetime, actor: ActorRef,
             reason: str | None) -> dict[str, Any] | None:
        chain = row.id
        if not 0 < len(chain) <= _CHAIN_LENGTH or not chain.isprintable() or at.utcoffset() is None:
            return None  # `AuditEntry` refuses it: the ordinary way says why
        key = (row.state, transition.trigger, transition.dest, actor.id, actor.role)
        template = self._templates.get(key)
        if template is None:
            template = self._made(key, about_enrollment(row, at, actor, "transition", "ok", to_state=transition.dest,
                                                        trigger=transition.trigger, inputs=None, reason=reason))
        subject_type, subject_id = subject_of(row)
        seq = row.audit_seq + 1
        prev_hash = row.audit_head
        at = at.astimezone(UTC)
        quoted = encode_basestring(chain)
        text = template.encoded({
            "chain": quoted, "enrollment_id": quoted, "subject_type": encode_basestring(subject_type),
            "subject_id": "null" if subject_id is None else encode_basestring(subject_id),
            "reason": "null" if reason is None else encode_basestring(reason),
            "at": f'"{at.isoformat(timespec="microseconds")[:-6]}Z"', "seq": str(seq)})  # `utc_text`: `at` is UTC
        made = dict(template.constants)
        made.update(chain=chain, subject_type=subject_type, subject_id=subject_id, enrollment_id=chain,
                    reason=reason, at=at, seq=seq, prev_hash=prev_hash,
                    hash=sha256(f"{prev_hash}\n{text}".encode()).hexdigest())
        return made

    def _made(self, key: _Key, prototype: AuditEntry) -> EntryTemplate:
        if len(self._templates) >= self._limit:
            self._templates.clear()  # a bound, not a cache policy: this many distinct keys is already unusual
        template = self._templates[key] = EntryTemplate(prototype, VARYING)
        return template
