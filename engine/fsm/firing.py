"""Fire a trigger on the version's shared machine for one request: the judgement decides, the effects act.

The machine's model is a small object made per request and compared by identity (no `__eq__`), so concurrent
requests on one machine never mistake one another's model. Its condition for candidate `i` is the judgement's
`evaluate` (every reason recorded on the context, so a refusal can list them all); its `before` callback runs
the chosen candidate's effects, before the state changes, inside the caller's transaction.
"""

from __future__ import annotations

from transitions import Machine

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


def attempt(machine: Machine, ctx: TransitionContext, trigger: str) -> bool:
    """True when a candidate passed and its effects ran (`ctx.chosen`); else `ctx.failures` says why."""
    return fire(machine, _Firing(ctx), trigger)
