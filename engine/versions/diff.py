"""What changed between two versions of a workflow, as a designer reads it: states, transitions (with their
guards, steps and effects), timers, limits, messages and the templates' text. Pure: two definitions in, lines out.

A transition is known by its trigger, its sources and its destination; a state, timer, limit, message or template
by its id. Each line starts with `+` (added), `-` (removed) or `~` (changed, saying what changed).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from definitions.model import Limit, Message, State, Step, Timer, Transition, WorkflowDefinition


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    lines: tuple[str, ...]


def diff(old: WorkflowDefinition, new: WorkflowDefinition) -> tuple[Section, ...]:
    """The sections that changed from `old` to `new`, in the order a designer reads a workflow file."""
    sections: tuple[Section, ...] = (
        Section("states", _compare(old.states, new.states, lambda s: s.id, _state, lambda s: f"'{s.id}'")),
        Section("transitions", _compare(old.transitions, new.transitions, _transition_key, _transition,
                                        _transition_name)),
        Section("timers", _compare(old.timers, new.timers, lambda t: t.id, _timer, lambda t: f"'{t.id}'")),
        Section("limits", _compare(old.limits, new.limits, lambda x: x.id, _limit, lambda x: f"'{x.id}'")),
        Section("messages", _compare(old.messages, new.messages, lambda m: m.id, _message, lambda m: f"'{m.id}'")),
        Section("templates", _templates(dict(old.templates), dict(new.templates))),
    )
    if old.title != new.title or old.description != new.description or old.initial != new.initial:
        top = _changed_fields({"title": old.title, "description": old.description, "initial": old.initial},
                              {"title": new.title, "description": new.description, "initial": new.initial})
        sections = (Section("workflow", (f"~ {top}",)), *sections)
    return tuple(s for s in sections if s.lines)


def _compare(old: Iterable[Any], new: Iterable[Any], key: Callable[[Any], object],
             fields: Callable[[Any], dict[str, object]], name: Callable[[Any], str]) -> tuple[str, ...]:
    before = {key(x): x for x in old}
    after = {key(x): x for x in new}
    lines = [f"- {name(before[k])}" for k in before if k not in after]
    for k, element in after.items():
        if k not in before:
            lines.append(f"+ {name(element)}")
        elif fields(before[k]) != fields(element):
            lines.append(f"~ {name(element)}: {_changed_fields(fields(before[k]), fields(element))}")
    return tuple(lines)


def _changed_fields(old: Mapping[str, object], new: Mapping[str, object]) -> str:
    return "; ".join(f"{k} {_shown(old[k])} -> {_shown(new[k])}" for k in new if old.get(k) != new[k])


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return "none" if value is None else repr(value) if isinstance(value, str) else str(value)


def _state(s: State) -> dict[str, object]:
    return {"status": s.status, "description": s.description, "final": s.final}


def _transition_key(t: Transition) -> tuple[str, tuple[str, ...], str]:
    return t.trigger, t.sources, t.dest


def _transition_name(t: Transition) -> str:
    return f"'{t.trigger}' {', '.join(t.sources)} -> {t.dest}"


def _transition(t: Transition) -> dict[str, object]:
    return {"by": t.by.value, "reason": t.reason.value, "guards": tuple(str(c) for c in t.guards),
            "unless": tuple(str(c) for c in t.unless), "steps": tuple(_step(s) for s in t.steps),
            "effects": tuple(str(c) for c in t.effects), "description": t.description}


def _step(s: Step) -> str:
    if s.input is None:
        return s.id + (" (optional)" if s.optional else "")
    rule = f", {s.input.rule}" if s.input.rule is not None else ""
    return f"{s.id}: {s.input.type.value}{rule}" + (" (optional)" if s.optional else "")


def _timer(t: Timer) -> dict[str, object]:
    return {"in": t.state, "after": t.after.text if t.after else None, "at": t.at.isoformat() if t.at else None,
            "fire": t.fire, "opening_hours": t.opening_hours, "late": t.late.value}


def _limit(x: Limit) -> dict[str, object]:
    return {"counts": x.counts, "max": x.max, "within": x.within.text, "per": x.per.value}


def _message(m: Message) -> dict[str, object]:
    return {"template": m.template, "channel": m.channel.value, "to": m.to.value, "carries": m.carries.value,
            "opening_hours": m.opening_hours}


def _templates(old: dict[str, str], new: dict[str, str]) -> tuple[str, ...]:
    lines = [f"- {name}" for name in sorted(old) if name not in new]
    for name in sorted(new):
        if name not in old:
            lines.append(f"+ {name}")
        elif old[name] != new[name]:
            changed = [line for line in difflib.unified_diff(old[name].splitlines(), new[name].splitlines(),
                                                             lineterm="", n=0) if line[:1] in "+-"
                       and not line.startswith(("+++", "---"))]
            lines.append(f"~ {name}:")
            lines += [f"    {line}" for line in changed]
    return tuple(lines)
