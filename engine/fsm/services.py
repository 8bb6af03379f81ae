"""What a transition needs besides its rows: the clock, the secret hasher, the template renderer, the sealer and
the vocabulary, as interfaces wired once by `engine.bootstrap`; and what a transition hands back once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from definitions.model import WorkflowDefinition
from definitions.vocabulary import Vocabulary
from engine.clock import Clock
from engine.credentials.hashing import SecretHasher
from engine.messaging.sealing import Sealer


class RenderedLike(Protocol):
    @property
    def subject(self) -> str | None: ...

    @property
    def body(self) -> str: ...


class Renderer(Protocol):
    def render(self, definition: WorkflowDefinition, name: str, context: dict[str, Any]) -> RenderedLike:
        """Render template `name` as the workflow version `definition` was published with it."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    clock: Clock
    hasher: SecretHasher
    renderer: Renderer
    sealer: Sealer
    vocabulary: Vocabulary


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
