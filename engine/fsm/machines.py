"""One `transitions.Machine` per published workflow version, built once and shared by every request.

A request attaches its own model object, fires the trigger, and detaches it in
`finally`. Models are compared by identity (the context class does not define `__eq__`), so concurrent requests
on the same machine never mistake one another's context. No `auto_transitions` (only the designer's transitions
exist) and no `Timeout` states (their threads are not durable; timers are rows).

Conditions and callbacks are thin hooks into the model (`engine.fsm.firing`): the condition judges a candidate
transition, the `before` callback runs its effects before the state changes.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, cast

from transitions import EventData, Machine

from definitions.model import WorkflowDefinition


class MachineModel(Protocol):
    state: str

    def guards_pass(self, index: int) -> bool: ...

    def run_effects(self, index: int) -> None: ...


def _condition(index: int) -> Any:
    def check(event: EventData) -> bool:
        model = cast(MachineModel, event.model)
        return model.guards_pass(index)
    return check


def _effects(index: int) -> Any:
    def run(event: EventData) -> None:
        model = cast(MachineModel, event.model)
        model.run_effects(index)
    return run


class LeanMachine(Machine):
    """A Machine whose models get no convenience methods.

    `add_model` normally binds one method per trigger (`model.submit()`, `model.may_submit()`) and per state
    (`model.is_pending()`, plus a scan for `on_enter_<state>` methods) onto the model: O(states + triggers)
    `setattr`s on every attach. PortalFlow's per-request context never calls them (`fire` goes through
    `machine.events[trigger]`) and defines no `on_enter_*` methods, so attaching skips that work.
    """

    def _add_trigger_to_model(self, trigger: str, model: Any) -> None:
        return None

    def _add_model_to_state(self, state: Any, model: Any) -> None:
        return None


def build_machine(definition: WorkflowDefinition) -> Machine:
    specs = [
        {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest,
         "conditions": [_condition(i)], "before": [_effects(i)]}
        for i, t in enumerate(definition.transitions)
    ]
    return LeanMachine(model=[], states=[s.id for s in definition.states], transitions=specs,
                   initial=definition.initial, auto_transitions=False, send_event=True,
                   ignore_invalid_triggers=False)


class MachineCache:
    """Machines keyed by (workflow id, version, content hash); built at most once each."""

    def __init__(self) -> None:
        self._machines: dict[tuple[str, int, str], Machine] = {}
        self._lock = threading.Lock()

    def machine_for(self, definition: WorkflowDefinition) -> Machine:
        key = (definition.id, definition.version, definition.content_hash)
        machine = self._machines.get(key)
        if machine is None:
            with self._lock:
                machine = self._machines.get(key)
                if machine is None:
                    machine = build_machine(definition)
                    self._machines[key] = machine
        return machine

    def __len__(self) -> int:
        return len(self._machines)


def fire(machine: Machine, model: MachineModel, trigger: str) -> bool:
    """Attach `model` in its current state, fire `trigger`, always detach. False when no guard set passed."""
    machine.add_model(model, initial=model.state)
    try:
        return bool(machine.events[trigger].trigger(model))
    finally:
        machine.remove_model(model)
