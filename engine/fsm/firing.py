"""Fire a trigger on the version's shared machine for one request: the judgement decides, the effects act.

The machine's model is a small object made per request and compared by identity (no `__eq__`), so concurrent
requests on one machine never mistake one another's model. Its condition for candidate `i` is the judgement's
`evaluate` (every reason recorded on the context, so a refusal can list them all); its `before` callback runs
the chosen candidate's effects, before the state changes, inside the caller's transaction.

With a `ChoiceMemo`, a trigger whose candidates have no guards and no steps asks the machine once per workflow
version, state and kind of actor; later firings run the candidate it chose, with the same effects in the same order.
"""

from __future__ import annotations

from transitions import Machine

from engine.fsm.choices import ChoiceMemo, choice_key
from engine.fsm.context import TransitionContext
from engine.fsm.judgement import evaluate
from engine.fsm.machines import fire
from engine.fsm.registry import EFFECTS


class _Firing:
    """No `__slots__`: attaching binds `trigger` and `may_trigger` onto the model."""

    def __init__(self, ctx: TransitionContext) -> None:
        self.ctx = ctx
        self.state = ctx.enrollment.state

    def guards_pass(self, index: int) -> bool:
        reasons = evaluate(self.ctx, index)
        self.ctx.failures[index] = reasons
        return not reasons

    def run_effects(self, index: int) -> None:
        self.ctx.chosen = index
        for call in self.ctx.definition.transitions[index].effects:
            EFFECTS[call.name](self.ctx, call)


def attempt(machine: Machine, ctx: TransitionContext, trigger: str, memo: ChoiceMemo | None = None) -> bool:
    """True when a candidate passed and its effects ran (`ctx.chosen`); else `ctx.failures` says why."""
    if memo is None:
        return fire(machine, _Firing(ctx), trigger)
    key = choice_key(ctx.definition, ctx.enrollment.state, trigger, ctx.actor.kind)
    index = memo.chosen(key)
    if index is not None:
        ctx.evaluating = index
        _Firing(ctx).run_effects(index)
        return True
    if not fire(machine, _Firing(ctx), trigger):
        return False
    assert ctx.chosen is not None  # the machine ran the effects of the candidate that passed
    memo.keep(key, ctx.definition, ctx.chosen)
    return True
