"""An audit entry, the bytes its hash covers, and how secrets are kept out of it.

Each audited action is one `audit_events` row: `AuditEntry` is what it says, `canonical` the bytes its hash covers
and `chain_hash` the link to the row before it. Build an entry with `about_enrollment` or `about_subject` (one
way each, so every row names its actor, subject and outcome alike); write it with `engine.audit.trail`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol

from engine.actors import ActorRef

GENESIS: Final = "0" * 64
OUTCOMES: Final = frozenset({"ok", "refused", "failed"})
REDACTED: Final = "[redacted]"
# The keys that hold secrets wherever they appear, compared without case, "_" or "-" (DESIGN.md's Decisions: an
# explicit list, never a substring, so a field such as `pinned_note` or `spinal_level` stays readable). Typed step
# inputs are redacted by their type before they get here (`engine.fsm.inputs.public_value`); this is the net.
SECRET_KEYS: Final = frozenset({
    "pin", "pins", "password", "newpassword", "currentpassword", "temporarypassword", "token", "accesstoken",
    "resettoken", "linktoken", "link", "secret", "clientsecret", "apikey",
})
GLOBAL_CHAIN: Final = "global"

Outcome = Literal["ok", "refused", "failed"]

_CHAIN_LENGTH = 64  # audit_events.chain is String(64)


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


@dataclass(frozen=True)
class ChainHead:
    """The newest row of a chain: its seq and hash (seq 0 and GENESIS before the first row)."""

    seq: int
    hash: str


GENESIS_HEAD: Final = ChainHead(0, GENESIS)

class ChainedEnrollment(Protocol):
    """What an entry about an enrollment is built from: the enrollment row as read (or its chain tip)."""

    @property
    def id(self) -> str: ...
    @property
    def patient_id(self) -> str | None: ...
    @property
    def household_id(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def audit_seq(self) -> int: ...
    @property
    def audit_head(self) -> str: ...


def subject_of(row: ChainedEnrollment) -> tuple[str, str | None]:
    """The (subject_type, subject_id) an enrollment's audit rows name: its household or its patient."""
    return ("household", row.household_id) if row.household_id else ("patient", row.patient_id)


def about_enrollment(row: ChainedEnrollment, at: datetime, actor: ActorRef, action: str, outcome: Outcome,
                     **what: Any) -> AuditEntry:
    """An entry on the enrollment's own chain, naming its subject and (unless `what` says otherwise) the state it
    was in. `what`: to_state, trigger, inputs, reason, detail, from_state."""
    subject_type, subject_id = subject_of(row)
    what.setdefault("from_state", row.state)
    return AuditEntry(chain=row.id, at=at, actor_id=actor.id, actor_role=actor.role, action=action, outcome=outcome,
                      subject_type=subject_type, subject_id=subject_id, enrollment_id=row.id, **what)


def about_subject(subject_type: str, subject_id: str, at: datetime, actor: ActorRef, action: str,
                  outcome: Outcome = "ok", **what: Any) -> AuditEntry:
    """An entry on a chain of its own for a patient, household, site, provider or staff user ("patient:p1")."""
    return AuditEntry(chain=chain_key(subject_type=subject_type, subject_id=subject_id), at=at, actor_id=actor.id,
                      actor_role=actor.role, action=action, outcome=outcome, subject_type=subject_type,
                      subject_id=subject_id, **what)


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
    content["at"] = utc_text(entry.at)
    content["seq"] = seq
    return canonical_json(content)


def chain_hash(prev_hash: str, canonical_bytes: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("utf-8") + b"\n" + canonical_bytes).hexdigest()


def redact(inputs: Mapping[str, object], secret_keys: Collection[str] = ()) -> dict[str, object]:
    """A copy of `inputs`, nested values included, with every secret replaced by "[redacted]".

    A key is secret when it is in `secret_keys` or in `SECRET_KEYS`, compared without case, "_" or "-".
    Booleans and None under such keys are kept: they cannot carry a secret.
    """
    named = {_folded(key) for key in secret_keys} | SECRET_KEYS
    return {str(key): _redact_value(key, value, named) for key, value in inputs.items()}


def _redact_value(key: object, value: object, named: set[str]) -> object:
    secret = _folded(key) in named
    if secret and value is not None and not isinstance(value, bool):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redact_value(k, v, named) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, item, named) for item in value]
    return value


def _folded(key: object) -> str:
    return str(key).casefold().replace("_", "").replace("-", "")


_CANONICAL_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                             allow_nan=False)


def canonical_json(content: Mapping[str, object]) -> bytes:
    return _CANONICAL_ENCODER.encode(content).encode()


def utc_text(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def stored_time(value: object) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        raise TypeError("not a time")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)  # SQLite returns naive UTC


