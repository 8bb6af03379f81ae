"""The typed, immutable model of a workflow definition.

The loader builds these objects once from YAML; nothing after it sees a raw dict. Every element keeps the
position it came from so later checks (and the engine's own errors) can point a designer at the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum

from definitions.durations import Duration
from definitions.errors import Position


class Subject(StrEnum):
    PATIENT = "patient"
    HOUSEHOLD = "household"


class Actor(StrEnum):
    """Who fires a trigger: a staff member, the patient portal, the clock, or an integrated system."""

    STAFF = "staff"
    PORTAL = "portal"
    SYSTEM = "system"
    INTEGRATION = "integration"


class ReasonPolicy(StrEnum):
    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class InputType(StrEnum):
    TEXT = "text"
    PROVIDER = "provider"
    CONFIRMATION = "confirmation"
    YES_NO = "yes_no"
    CHOICE = "choice"
    EMAIL = "email"
    USERNAME = "username"
    PASSWORD = "password"  # noqa: S105 - an input type name, not a secret
    CHILDREN = "children"
    DATE = "date"


class Channel(StrEnum):
    EMAIL = "email"
    SECURE_MESSAGE = "secure_message"
    LETTER = "letter"


class Recipient(StrEnum):
    PATIENT = "patient"
    GUARDIAN = "guardian"


class Carries(StrEnum):
    """The secret a message delivers, which decides how long that secret may live (NIST SP 800-63A)."""

    NOTHING = "nothing"
    PIN = "pin"
    LINK = "link"
    CREDENTIALS = "credentials"


class LatePolicy(StrEnum):
    """What a timer firing that comes late (the system was down when it fell due) does."""

    FIRE = "fire"
    SKIP = "skip"


class LimitScope(StrEnum):
    PATIENT = "patient"
    RECIPIENT = "recipient"


ParamValue = str | int | bool | Duration | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """A guard, effect or input rule named from the vocabulary, with its typed parameters (defaults filled)."""

    name: str
    params: tuple[tuple[str, ParamValue], ...]
    position: Position

    def param(self, key: str) -> ParamValue | None:
        for name, value in self.params:
            if name == key:
                return value
        return None

    def integer(self, key: str, default: int) -> int:
        value = self.param(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def __str__(self) -> str:
        if not self.params:
            return self.name
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.params)
        return f"{self.name}({args})"


def _show(value: ParamValue) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return str(value)


@dataclass(frozen=True, slots=True)
class StepInput:
    type: InputType
    label: str | None
    options: tuple[str, ...]
    rule: Call | None
    position: Position


@dataclass(frozen=True, slots=True)
class Step:
    """One guided instruction for staff, optionally asking for an input checked by a rule."""

    id: str
    instruction: str
    optional: bool
    input: StepInput | None
    position: Position


@dataclass(frozen=True, slots=True)
class State:
    id: str
    status: str
    description: str
    final: bool
    position: Position


@dataclass(frozen=True, slots=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    by: Actor
    description: str | None
    reason: ReasonPolicy
    guards: tuple[Call, ...]
    unless: tuple[Call, ...]
    steps: tuple[Step, ...]
    effects: tuple[Call, ...]
    position: Position

    def conditions(self) -> frozenset[tuple[bool, str, tuple[tuple[str, ParamValue], ...]]]:
        """Guards and negated guards as comparable values, to tell overlapping transitions apart."""
        return frozenset(
            [(True, g.name, g.params) for g in self.guards] + [(False, g.name, g.params) for g in self.unless]
        )


@dataclass(frozen=True, slots=True)
class Timer:
    """Armed when its state is entered, cancelled when the state is left; fires `fire` when due."""

    id: str
    state: str
    after: Duration | None
    at: time | None
    fire: str
    opening_hours: bool
    late: LatePolicy
    description: str | None
    position: Position


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `max` sends of the `counts` messages in any rolling `within`, per patient or recipient."""

    id: str
    counts: tuple[str, ...]
    max: int
    within: Duration
    per: LimitScope
    description: str | None
    position: Position


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    template: str
    channel: Channel
    to: Recipient
    carries: Carries
    opening_hours: bool
    description: str | None
    position: Position


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A policy warning the practice accepts for this workflow, by its code, and why."""

    code: str
    reason: str
    position: Position


@dataclass(frozen=True, slots=True)
class WorkflowDefinition:
    """One published version of a procedure; identified by (id, version) and the hash of its content."""

    id: str
    version: int
    title: str
    source: str
    description: str | None
    subject: Subject
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...]
    limits: tuple[Limit, ...]
    messages: tuple[Message, ...]
    path: str
    content_hash: str
    acknowledged: tuple[Acknowledgement, ...] = ()
    text: str = ""  # the YAML as written: what publishing keeps
    templates: tuple[tuple[str, str], ...] = ()  # (name, text) of each template its messages use, in name order

    def state(self, state_id: str) -> State:
        for state in self.states:
            if state.id == state_id:
                return state
        raise KeyError(state_id)

    def message(self, message_id: str) -> Message:
        for message in self.messages:
            if message.id == message_id:
                return message
        raise KeyError(message_id)

    def timer(self, timer_id: str) -> Timer:
        for timer in self.timers:
            if timer.id == timer_id:
                return timer
        raise KeyError(timer_id)

    def limit(self, limit_id: str) -> Limit:
        for limit in self.limits:
            if limit.id == limit_id:
                return limit
        raise KeyError(limit_id)

    def transitions_from(self, state_id: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if state_id in t.sources)

    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))
