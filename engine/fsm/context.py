"""What one request's transition works with: who acts, on which enrollment, with which inputs, and what it made.

Guards read it, effects write through its connection (inside the caller's transaction) and leave what they made
on it: secrets to show once, documents to print, extra audit entries. Secrets made here (PINs, link tokens) live
only in memory and in what the caller is handed back once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from definitions.model import Transition, WorkflowDefinition
from engine.actors import ActorRef
from engine.audit.entry import AuditEntry
from engine.credentials.prepared import PinStock
from engine.fsm.rows import EnrollmentRow
from engine.fsm.services import Document, HeldMessage, Services, ShownSecret
from engine.fsm.subject import EnrollmentSubject


@dataclass(eq=False)
class TransitionContext:
    conn: Connection
    services: Services
    definition: WorkflowDefinition
    enrollment: EnrollmentRow
    actor: ActorRef
    inputs: dict[str, Any]
    reason: str | None
    trigger_name: str
    presented: dict[str, str] = field(default_factory=dict)
    subject: EnrollmentSubject = field(init=False)
    failures: dict[int, tuple[str, ...]] = field(default_factory=dict)  # candidate index -> why it may not fire
    evaluating: int = -1  # the candidate being judged
    chosen: int | None = None  # the candidate whose effects run
    shown: list[ShownSecret] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    held: list[HeldMessage] = field(default_factory=list)
    extra_audit: list[AuditEntry] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    pin_stock: PinStock | None = None  # PINs hashed before the transaction opened

    def __post_init__(self) -> None:
        self.subject = EnrollmentSubject(self.conn, self.enrollment)

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def transition(self) -> Transition:
        """The transition being judged or, once chosen, the one whose effects run."""
        return self.definition.transitions[self.chosen if self.chosen is not None else self.evaluating]

    def input_of_type(self, input_type: str) -> Any:
        for step in self.transition.steps:
            if step.input is not None and step.input.type.value == input_type:
                return self.inputs.get(step.id)
        return None

    def acting_as(self, actor: ActorRef) -> TransitionContext:
        """The same request as another actor would meet it (to say what a system or integration action waits on),
        on the same subject as already read."""
        other = TransitionContext(self.conn, self.services, self.definition, self.enrollment, actor,
                                  dict(self.inputs), self.reason, self.trigger_name, dict(self.presented))
        other.subject = self.subject
        return other
