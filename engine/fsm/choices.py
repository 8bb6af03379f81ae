"""The machine's choice, remembered where it cannot depend on the enrollment: no candidate has a guard or a step.

Why: attaching a model to the shared machine, firing and detaching costs more than everything else a timer's
expiry does in memory. When every candidate transition of a trigger in a state has no guards, no `unless` and no
steps, the judgement of candidate `i` depends only on who acts (`evaluate` then checks `by` alone), so the machine
picks the same transition for every enrollment of that workflow version in that state, for that kind of actor.
The first firing asks the machine; later ones reuse its answer and run the same effects in the same order.
"""

from __future__ import annotations

import threading

from definitions.model import Actor, WorkflowDefinition
from engine.fsm.judgement import candidates

ChoiceKey = tuple[str, int, str, str, str, Actor]  # workflow id, version, content hash, state, trigger, actor kind


def choice_key(definition: WorkflowDefinition, state: str, trigger: str, actor: Actor) -> ChoiceKey:
    return definition.id, definition.version, definition.content_hash, state, trigger, actor


class ChoiceMemo:
    """Per (workflow version, state, trigger, actor kind): the candidate the machine chose, when it may be reused."""

    def __init__(self) -> None:
        self._chosen: dict[ChoiceKey, int] = {}
        self._plain: dict[tuple[str, int, str, str, str], tuple[bool, bool]] = {}
        self._lock = threading.Lock()

    def chosen(self, key: ChoiceKey) -> int | None:
        return self._chosen.get(key)

    def keep(self, key: ChoiceKey, definition: WorkflowDefinition, index: int) -> None:
        """Remember the machine's choice, if nothing about the enrollment could have changed it."""
        if self.plain(definition, key[3], key[4]):
            with self._lock:
                self._chosen[key] = index

    def plain(self, definition: WorkflowDefinition, state: str, trigger: str) -> bool:
        """True when no candidate of `trigger` in `state` has a guard, an `unless` or a step."""
        return self._kinds(definition, state, trigger)[0]

    def quiet(self, definition: WorkflowDefinition, state: str, trigger: str) -> bool:
        """`plain`, and no candidate has effects either: firing it reads and writes nothing but its own rows."""
        return self._kinds(definition, state, trigger)[1]

    def _kinds(self, definition: WorkflowDefinition, state: str, trigger: str) -> tuple[bool, bool]:
        key = (definition.id, definition.version, definition.content_hash, state, trigger)
        known = self._plain.get(key)
        if known is None:
            found = [definition.transitions[i] for i in candidates(definition, state, trigger)]
            plain = all(not (t.guards or t.unless or t.steps) for t in found)
            known = self._plain[key] = (plain, plain and not any(t.effects for t in found))
        return known
