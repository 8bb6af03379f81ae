"""Evaluate one candidate transition: who may fire it, its guided steps and inputs, then every guard.

All reasons are collected, so staff see everything that stands in the way at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.inputs import check_input

if TYPE_CHECKING:
    from engine.context import TransitionContext


def evaluate_transition(ctx: TransitionContext, index: int) -> list[str]:
    from engine.registry import GUARDS, RULES

    transition = ctx.definition.transitions[index]
    if transition.by is not ctx.actor.kind:
        return [f"'{transition.trigger}' is done by {transition.by.value}, not by {ctx.actor.kind.value}"]
    reasons: list[str] = []
    for step in transition.steps:
        given = step.id in ctx.inputs
        if not given:
            if not step.optional:
                reasons.append(f"step '{step.id}' is not done: {step.instruction.strip()}")
            continue
        if step.input is None:
            continue
        value, problem = check_input(step, ctx.inputs[step.id])
        if problem is not None:
            reasons.append(problem)
            continue
        ctx.inputs[step.id] = value
        if step.input.rule is not None:
            rule_problem = RULES[step.input.rule.name](ctx, step, value, step.input.rule)
            if rule_problem is not None:
                reasons.append(rule_problem)
        if step.input.type.value == "children":
            ctx.selected = tuple(value)
    if reasons:
        return reasons
    for call in transition.guards:
        values = GUARDS[call.name](ctx, call)
        if values is not None:
            reasons.append(ctx.refusal(call, values))
    for call in transition.unless:
        if GUARDS[call.name](ctx, call) is None:
            reasons.append(ctx.refusal(call, {}, negated=True))
    return reasons
