"""The per-request context a workflow machine runs against: who acts, on what, with which inputs.

It is the machine's model for the length of one trigger. It evaluates a candidate transition's steps and guards
(recording every reason it fails) and runs the chosen transition's effects, all on the caller's connection,
inside the caller's transaction. Secrets produced here (PINs, link tokens) live only in memory and in what the
caller is handed back once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from definitions.model import Actor as ActorKind
from definitions.model import Call, Transition, WorkflowDefinition
from definitions.vocabulary import Vocabulary
from engine.audit import AuditEntry
from engine.calendars import SiteCalendar
from engine.clock import Clock
from engine.credentials import SecretHasher
from engine.sealing import Sealer
from engine.subjects import Household, Patient, Site, load_household, load_patient, load_site


class RenderedLike(Protocol):
    @property
    def subject(self) -> str | None: ...

    @property
    def body(self) -> str: ...


class Renderer(Protocol):
    def render(self, name: str, context: dict[str, Any]) -> RenderedLike: ...


@dataclass(frozen=True, slots=True)
class ActorRef:
    """The one named user (or system) an action traces to."""

    id: str
    role: str
    kind: ActorKind


SYSTEM_ACTOR = ActorRef("system", "system", ActorKind.SYSTEM)


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


@dataclass(frozen=True, slots=True)
class EnrollmentRow:
    id: str
    workflow_id: str
    workflow_version: int
    patient_id: str | None
    household_id: str | None
    state: str
    version: int
    selected_children: tuple[str, ...]
    audit_seq: int
    audit_head: str


@dataclass(eq=False)
class TransitionContext:
    """Identity-compared machine model for one request (no __eq__: see engine.machines)."""

    conn: Connection
    services: Services
    definition: WorkflowDefinition
    enrollment: EnrollmentRow
    actor: ActorRef
    inputs: dict[str, Any]
    reason: str | None
    trigger_name: str
    presented: dict[str, str] = field(default_factory=dict)
    state: str = ""
    failures: dict[int, list[str]] = field(default_factory=dict)
    chosen: int | None = None
    evaluating: int = -1
    shown: list[ShownSecret] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    extra_audit: list[AuditEntry] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    selected: tuple[str, ...] = ()
    redeemed_patient: str | None = None
    _patient: Patient | None = None
    _household: Household | None = None
    _site: Site | None = None
    _calendar: SiteCalendar | None = None

    def __post_init__(self) -> None:
        self.state = self.enrollment.state
        self.selected = self.enrollment.selected_children

    # ----- lazily loaded subject ------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    def patient(self) -> Patient:
        if self._patient is None:
            if self.enrollment.patient_id is None:
                raise LookupError("this enrollment is for a household, not a patient")
            self._patient = load_patient(self.conn, self.enrollment.patient_id)
        return self._patient

    def household(self) -> Household:
        if self._household is None:
            if self.enrollment.household_id is None:
                raise LookupError("this enrollment is for a patient, not a household")
            self._household = load_household(self.conn, self.enrollment.household_id)
        return self._household

    def is_household(self) -> bool:
        return self.enrollment.household_id is not None

    def site(self) -> Site:
        if self._site is None:
            site_id = self.household().site_id if self.is_household() else self.patient().site_id
            self._site = load_site(self.conn, site_id)
        return self._site

    def calendar(self) -> SiteCalendar:
        if self._calendar is None:
            from engine.calendar_store import load_calendar

            self._calendar = load_calendar(self.conn, self.site().id)
        return self._calendar

    def forget_subject(self) -> None:
        """After an effect changed the subject's rows, read them afresh on next use."""
        self._patient = None
        self._household = None

    def selected_children(self) -> tuple[Patient, ...]:
        children = self.household().children
        chosen = set(self.selected)
        return tuple(c for c in children if c.id in chosen) if chosen else children

    def people(self) -> tuple[Patient, ...]:
        """The patients a per-patient guard or effect applies to: the patient, or the selected children."""
        return self.selected_children() if self.is_household() else (self.patient(),)

    def email(self) -> str | None:
        return self.household().guardian_email if self.is_household() else self.patient().email

    def input_of_type(self, transition: Transition, input_type: str) -> Any:
        for step in transition.steps:
            if step.input is not None and step.input.type.value == input_type:
                return self.inputs.get(step.id)
        return None

    @property
    def transition(self) -> Transition:
        assert self.chosen is not None
        return self.definition.transitions[self.chosen]

    # ----- machine hooks ---------------------------------------------------------------------------------

    def guards_pass(self, index: int) -> bool:
        from engine.evaluation import evaluate_transition

        self.evaluating = index
        reasons = evaluate_transition(self, index)
        self.failures[index] = reasons
        return not reasons

    def run_effects(self, index: int) -> None:
        from engine.registry import EFFECTS

        self.chosen = index
        for call in self.definition.transitions[index].effects:
            EFFECTS[call.name](self, call)

    def refusal(self, call: Call, values: dict[str, Any], negated: bool = False) -> str:
        entry = self.services.vocabulary.guards[call.name]
        if negated:
            return f"not while: {entry.description[0].lower()}{entry.description[1:].rstrip('.')}"
        text = entry.refusal or entry.description
        try:
            return text.format(**values)
        except (KeyError, IndexError):
            return text
