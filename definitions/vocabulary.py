"""The vocabulary of guards, effects and input rules, received by the checker as data.

The standard vocabulary is `vocabulary.yaml` beside this module. The checker never imports the engine: it only
knows names, parameter schemas and one-line descriptions. The engine implements each name, and a test there
proves it implements every one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any

from ruamel.yaml import YAML

from definitions.errors import AuthoringError
from definitions.model import Actor, InputType, Transition


class ParamType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DURATION = "duration"
    ENUM = "enum"
    LIST = "list"
    MESSAGE = "message"
    TIMER = "timer"
    LIMIT = "limit"


class EntryKind(StrEnum):
    GUARD = "guard"
    EFFECT = "effect"
    RULE = "rule"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    type: ParamType
    required: bool
    default: str | int | bool | None
    values: tuple[str, ...]
    min: int | None
    description: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One guard, effect or rule name with what it means and what it accepts."""

    kind: EntryKind
    name: str
    description: str
    refusal: str | None
    by: tuple[Actor, ...]
    needs_input: InputType | None
    params: tuple[ParamSpec, ...]
    inputs: tuple[InputType, ...]

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Operation:
    """A call from outside (the portal, an integration) that fires transitions of its actor: those on one of
    `triggers`, or those carrying `guard`."""

    name: str
    description: str
    by: Actor
    triggers: tuple[str, ...]
    guard: str | None

    def fires(self, transition: Transition) -> bool:
        if transition.by is not self.by:
            return False
        return transition.trigger in self.triggers or any(g.name == self.guard for g in transition.guards)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    guards: Mapping[str, Entry]
    effects: Mapping[str, Entry]
    rules: Mapping[str, Entry]
    operations: Mapping[str, Operation] = field(default_factory=dict)

    def of(self, kind: EntryKind) -> Mapping[str, Entry]:
        return {EntryKind.GUARD: self.guards, EntryKind.EFFECT: self.effects, EntryKind.RULE: self.rules}[kind]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Vocabulary:
        unknown = set(data) - {"guards", "effects", "rules", "operations"}
        if unknown:
            raise AuthoringError(f"vocabulary: unknown sections {sorted(unknown)}")
        guards = _entries(EntryKind.GUARD, data.get("guards") or {})
        return cls(
            guards=guards,
            effects=_entries(EntryKind.EFFECT, data.get("effects") or {}),
            rules=_entries(EntryKind.RULE, data.get("rules") or {}),
            operations=_operations(data.get("operations") or {}, guards),
        )


_ENTRY_KEYS = {"description", "refusal", "by", "needs_input", "params", "inputs"}
_PARAM_KEYS = {"type", "required", "default", "values", "min", "description"}


def _entries(kind: EntryKind, raw: Mapping[str, Any]) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for name, body in raw.items():
        body = body or {}
        unknown = set(body) - _ENTRY_KEYS
        if unknown:
            raise AuthoringError(f"vocabulary: {kind.value} '{name}' has unknown keys {sorted(unknown)}")
        if kind is EntryKind.GUARD and not body.get("refusal"):
            raise AuthoringError(f"vocabulary: guard '{name}' needs a refusal text for staff")
        entries[name] = Entry(
            kind=kind,
            name=name,
            description=str(body["description"]),
            refusal=body.get("refusal"),
            by=tuple(Actor(a) for a in body.get("by", [])),
            needs_input=InputType(body["needs_input"]) if body.get("needs_input") else None,
            params=tuple(_param(kind, name, p, spec or {}) for p, spec in (body.get("params") or {}).items()),
            inputs=tuple(InputType(i) for i in body.get("inputs", [])),
        )
    return entries


_OPERATION_KEYS = {"description", "by", "triggers", "guard"}


def _operations(raw: Mapping[str, Any], guards: Mapping[str, Entry]) -> dict[str, Operation]:
    operations: dict[str, Operation] = {}
    for name, body in raw.items():
        unknown = set(body) - _OPERATION_KEYS
        if unknown:
            raise AuthoringError(f"vocabulary: operation '{name}' has unknown keys {sorted(unknown)}")
        by = Actor(body["by"])
        if by not in (Actor.PORTAL, Actor.INTEGRATION):
            raise AuthoringError(f"vocabulary: operation '{name}' must act as portal or integration")
        guard = body.get("guard")
        if guard is not None and guard not in guards:
            raise AuthoringError(f"vocabulary: operation '{name}' names an unknown guard '{guard}'")
        operations[name] = Operation(name, str(body["description"]), by, tuple(body.get("triggers") or ()), guard)
    return operations


def _param(kind: EntryKind, owner: str, name: str, spec: Mapping[str, Any]) -> ParamSpec:
    unknown = set(spec) - _PARAM_KEYS
    if unknown:
        raise AuthoringError(f"vocabulary: {kind.value} '{owner}' param '{name}' has unknown keys {sorted(unknown)}")
    ptype = ParamType(spec["type"])
    values = tuple(str(v) for v in spec.get("values", []))
    if ptype in (ParamType.ENUM, ParamType.LIST) and not values:
        raise AuthoringError(f"vocabulary: {kind.value} '{owner}' param '{name}' needs values")
    return ParamSpec(
        name=name,
        type=ptype,
        required=bool(spec.get("required", False)),
        default=spec.get("default"),
        values=values,
        min=spec.get("min"),
        description=str(spec.get("description", "")),
    )


def standard_vocabulary() -> Vocabulary:
    """The vocabulary shipped with PortalFlow (`definitions/vocabulary.yaml`)."""
    text = resources.files("definitions").joinpath("vocabulary.yaml").read_text(encoding="utf-8")
    return Vocabulary.from_mapping(YAML(typ="safe", pure=True).load(text))
