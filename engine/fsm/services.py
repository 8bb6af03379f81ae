"""What a transition needs besides its rows: the clock, the secret hasher, the template renderer, the sealer, the
vocabulary and the PIN lookup digest, as interfaces wired once by `engine.bootstrap`; and what a transition hands
back once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from definitions.vocabulary import Vocabulary
from engine.clock import Clock
from engine.credentials.hashing import SecretHasher
from engine.credentials.pin_lookup import PinLookup
from engine.messaging.composing import MessageRenderer
from engine.messaging.sealing import Sealer


@dataclass(frozen=True, slots=True)
class Services:
    clock: Clock
    hasher: SecretHasher
    renderer: MessageRenderer
    sealer: Sealer
    vocabulary: Vocabulary
    pin_lookup: PinLookup


@dataclass(frozen=True, slots=True)
class ShownSecret:
    """A PIN or link shown once to the caller (screen or printout); never stored in clear."""

    patient_id: str
    kind: str
    value: str
    expires_at: datetime
    do_not_send: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    """A rendered printable document handed to staff once (e.g. a PIN letter)."""

    message_id: str
    body: str


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """A message not written because its template printed an empty or missing field; `reason` says which."""

    message_id: str
    reason: str
