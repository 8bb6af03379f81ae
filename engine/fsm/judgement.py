"""The one judgement: may this trigger fire now for this actor, and if not, why — in the words staff read.

`advance` asks it through the machine (each candidate's `evaluate` is the machine's condition), the enrollment view
asks it for every trigger of the current state, and completing a step ahead asks it about one step. So the reasons
a page shows are the reasons an attempt is refused with.

A candidate is a transition of the trigger from the current state. Judging one collects every reason at once: who
may fire it, each guided step (done? its input valid? its rule met?), then every guard that can be judged yet (a
guard that judges a step's input waits until that input is valid). When no candidate passes, the refusal is the
candidate of this actor that came closest (the fewest reasons: one coherent list of what to fix; merging
candidates would mix alternatives such as "the last child" and "not the last child"). A trigger done by someone
else says who does it and, for the system and integrations, what their own guards would say now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from definitions.model import Actor, Call, InputType, Step, Transition, WorkflowDefinition
from engine.actors import acting_as
from engine.fsm.context import TransitionContext
from engine.fsm.inputs import check_input
from engine.fsm.registry import GUARDS, RULES

_WHO = {Actor.PORTAL: "the portal", Actor.INTEGRATION: "an integration", Actor.STAFF: "staff"}
_JUDGED_FOR_OTHERS = (Actor.SYSTEM, Actor.INTEGRATION)  # portal guards judge what the patient presents: not yet


@dataclass(frozen=True, slots=True)
class Verdict:
    """The candidate that fires (no reasons) or, when none can, the one to show and every reason it cannot."""

    index: int
    reasons: tuple[str, ...]
    by_other: bool = False  # the trigger is done by another kind of actor


def candidates(definition: WorkflowDefinition, state: str, trigger: str) -> tuple[int, ...]:
    return tuple(i for i, t in enumerate(definition.transitions) if t.trigger == trigger and state in t.sources)


def not_available(definition: WorkflowDefinition, state: str, trigger: str) -> str:
    status = definition.state(state).status
    available = sorted({t.trigger for t in definition.transitions_from(state)})
    return (f"'{trigger}' is not available while the enrollment is '{status}'"
            f"; available: {', '.join(available) or 'none (the enrollment is finished)'}")


def find_step(definition: WorkflowDefinition, state: str, trigger: str, step_id: str) -> Step | None:
    return next((s for i in candidates(definition, state, trigger) for s in definition.transitions[i].steps
                 if s.id == step_id), None)


def check_step(ctx: TransitionContext, step: Step, value: Any) -> tuple[Any, str | None]:
    """A step's value normalised, or the problem with it: its input type, then its rule."""
    value, problem = check_input(step, value)
    if problem is not None or step.input is None or step.input.rule is None:
        return value, problem
    return value, RULES[step.input.rule.name](ctx, step, value, step.input.rule)


def evaluate(ctx: TransitionContext, index: int) -> tuple[str, ...]:
    """Every reason candidate `index` may not fire for `ctx.actor` now; () when it may.

    Valid step values are kept on the context normalised (the effects use them), and a children step's choice
    becomes the selection the guards judge.
    """
    ctx.evaluating = index
    transition = ctx.definition.transitions[index]
    if transition.by is not ctx.actor.kind:
        return (f"'{transition.trigger}' is done by {transition.by.value}, not by {ctx.actor.kind.value}",)
    reasons: list[str] = []
    valid: set[InputType] = set()
    for step in transition.steps:
        if step.id not in ctx.inputs:
            if not step.optional:
                reasons.append(f"step '{step.id}' is not done: {step.instruction.strip()}")
            continue
        if step.input is None:
            continue
        value, problem = check_step(ctx, step, ctx.inputs[step.id])
        if problem is not None:
            reasons.append(problem)
            continue
        ctx.inputs[step.id] = value
        valid.add(step.input.type)
        if step.input.type is InputType.CHILDREN:
            ctx.subject.selected = tuple(value)
    return (*reasons, *_guard_reasons(ctx, transition, valid))


def _guard_reasons(ctx: TransitionContext, transition: Transition, valid: set[InputType]) -> list[str]:
    vocabulary = ctx.services.vocabulary

    def judgeable(call: Call) -> bool:
        needs = vocabulary.guards[call.name].needs_input
        return needs is None or needs in valid

    reasons: list[str] = []
    for call in filter(judgeable, transition.guards):
        values = GUARDS[call.name](ctx, call)
        if values is not None:
            reasons.append(refusal_text(ctx, call, values))
    for call in filter(judgeable, transition.unless):
        if GUARDS[call.name](ctx, call) is None:
            reasons.append(refusal_text(ctx, call, {}, negated=True))
    return reasons


def refusal_text(ctx: TransitionContext, call: Call, values: dict[str, Any], negated: bool = False) -> str:
    """A guard's refusal in the vocabulary's words, its placeholders filled."""
    entry = ctx.services.vocabulary.guards[call.name]
    if negated:
        return f"not while: {entry.description[0].lower()}{entry.description[1:].rstrip('.')}"
    text = entry.refusal or entry.description
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text


def verdict(ctx: TransitionContext, indices: Sequence[int],
            known: Mapping[int, tuple[str, ...]] | None = None) -> Verdict:
    """The judgement of a trigger's candidates for `ctx.actor`: the first that passes (in file order, as the
    machine tries them), else the closest refusal. `known` holds reasons already found (the machine's)."""
    definition = ctx.definition
    found = known or {}
    mine = [i for i in indices if definition.transitions[i].by is ctx.actor.kind]
    if mine:
        results = [(i, found[i] if i in found else evaluate(ctx, i)) for i in mine]
        passing = next((i for i, reasons in results if not reasons), None)
        if passing is not None:
            return Verdict(passing, ())
        return Verdict(*min(results, key=lambda result: len(result[1])))
    theirs = [(i, _their_reasons(ctx, i)) for i in indices]
    index, reasons = min(theirs, key=lambda result: len(result[1]))
    return Verdict(index, (done_by(definition, ctx.enrollment.state, definition.transitions[index]), *reasons),
                   by_other=True)


def _their_reasons(ctx: TransitionContext, index: int) -> tuple[str, ...]:
    by = ctx.definition.transitions[index].by
    return evaluate(ctx.acting_as(acting_as(by)), index) if by in _JUDGED_FOR_OTHERS else ()


def done_by(definition: WorkflowDefinition, state: str, transition: Transition) -> str:
    """Who does a transition, for staff: "done by the system (timer 'pin_expiry')", "done by the portal: ..."."""
    if transition.by is Actor.SYSTEM:
        timers = [t.id for t in definition.timers if t.state == state and t.fire == transition.trigger]
        names = ", ".join(f"'{name}'" for name in timers)
        return f"done by the system (timer {names})" if names else "done by the system"
    what = (transition.description or "").strip().rstrip(".")
    who = _WHO[transition.by]
    return f"done by {who}: {what[:1].lower()}{what[1:]}" if what else f"done by {who}"
