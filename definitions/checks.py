"""Semantic checks on a typed workflow: the state graph, overlapping transitions, and how calls are used.

Reference checks that point at a single value (unknown state, unknown message, ...) happen while reading, in
`loader`; these checks need the whole model.
"""

from __future__ import annotations

from collections import deque

from definitions.errors import Problem, Severity
from definitions.model import (
    Actor,
    Call,
    Channel,
    InputType,
    ReasonPolicy,
    Recipient,
    StepInput,
    Subject,
    Transition,
    WorkflowDefinition,
)
from definitions.vocabulary import Entry, Vocabulary


def check(definition: WorkflowDefinition, vocabulary: Vocabulary) -> list[Problem]:
    problems: list[Problem] = []
    problems += _graph(definition)
    problems += _overlaps(definition)
    for transition in definition.transitions:
        problems += _transition_use(definition, transition, vocabulary)
    problems += _timers(definition)
    problems += _unfireable(definition, vocabulary)
    problems += _unused_messages(definition)
    problems += _guardian_messages(definition)
    return problems


def _graph(d: WorkflowDefinition) -> list[Problem]:
    problems: list[Problem] = []
    reachable = _reachable(d, [d.initial], forward=True)
    finals = [s.id for s in d.states if s.final]
    can_finish = _reachable(d, finals, forward=False)
    for state in d.states:
        leaving = d.transitions_from(state.id)
        if state.id not in reachable:
            problems.append(Problem(state.position, f"state '{state.id}' is unreachable: no chain of transitions "
                                                    f"leads to it from the initial state '{d.initial}'"))
        if state.final and leaving:
            problems.append(Problem(leaving[0].position, f"state '{state.id}' is final, but transition "
                                                         f"'{leaving[0].trigger}' leaves it"))
        elif not state.final and not leaving:
            problems.append(Problem(state.position, f"state '{state.id}' is a dead end: it is not final and no "
                                                    "transition leaves it"))
        elif not state.final and finals and state.id not in can_finish:
            problems.append(Problem(state.position, f"state '{state.id}' can never reach a final state"))
    if not finals:
        problems.append(Problem(d.state(d.initial).position, "the workflow has no final state"))
    return problems


def _reachable(d: WorkflowDefinition, start: list[str], forward: bool) -> set[str]:
    seen = set(start)
    queue = deque(start)
    while queue:
        here = queue.popleft()
        for t in d.transitions:
            nexts = [t.dest] if forward and here in t.sources else (
                list(t.sources) if not forward and t.dest == here else [])
            for state in nexts:
                if state not in seen:
                    seen.add(state)
                    queue.append(state)
    return seen


def _overlaps(d: WorkflowDefinition) -> list[Problem]:
    """A later transition on the same trigger from the same state never fires if the earlier one's conditions
    are a subset of its own: whenever it could fire, the earlier one fires first."""
    problems: list[Problem] = []
    for j, later in enumerate(d.transitions):
        for earlier in d.transitions[:j]:
            shared = sorted(set(earlier.sources) & set(later.sources))
            if earlier.trigger != later.trigger or not shared or earlier.by is not later.by:
                continue
            if earlier.conditions() <= later.conditions():
                problems.append(Problem(later.position, (
                    f"transition '{later.trigger}' from state '{shared[0]}' cannot be told apart from the one at "
                    f"line {earlier.position.line}: give them distinguishing guards (e.g. a guard on one and the "
                    "same guard under 'unless' on the other)")))
    return problems


def _transition_use(d: WorkflowDefinition, t: Transition, vocabulary: Vocabulary) -> list[Problem]:
    problems: list[Problem] = []
    where = f"transition '{t.trigger}'"
    asked = {s.input.type for s in t.steps if s.input is not None}
    if t.steps and t.by is not Actor.STAFF:
        problems.append(Problem(t.steps[0].position, f"{where} is by {t.by.value}: guided steps are for staff only"))
    if t.reason is not ReasonPolicy.NONE and t.by is not Actor.STAFF:
        problems.append(Problem(t.position, f"{where} is by {t.by.value}: only staff can give a reason"))
    calls: list[tuple[Call, Entry | None]] = [(c, vocabulary.guards.get(c.name)) for c in t.guards + t.unless]
    calls += [(c, vocabulary.effects.get(c.name)) for c in t.effects]
    for call, entry in calls:
        if entry is None:
            continue
        if entry.by and t.by not in entry.by:
            allowed = ", ".join(a.value for a in entry.by)
            problems.append(Problem(call.position, f"{entry.kind.value} '{call.name}' is only for transitions by "
                                                   f"{allowed}; {where} is by {t.by.value}"))
        if entry.needs_input is not None and entry.needs_input not in asked:
            problems.append(Problem(call.position, f"{entry.kind.value} '{call.name}' needs a step in {where} "
                                                   f"asking for a {entry.needs_input.value} input"))
    if any(c.name == "set_temporary_password" for c in t.effects) and t.reason is not ReasonPolicy.REQUIRED:
        problems.append(Problem(t.position, f"{where} sets a staff-chosen password, an audited exception: "
                                            "it needs 'reason: required'"))
    problems += _household_only(d, t, asked)
    problems += _letters(d, t)
    for step in t.steps:
        problems += _input_use(step.input, vocabulary, f"step '{step.id}' of {where}")
    return problems


def _household_only(d: WorkflowDefinition, t: Transition, asked: set[InputType]) -> list[Problem]:
    if d.subject is Subject.HOUSEHOLD:
        return []
    problems: list[Problem] = []
    for call in t.guards + t.unless + t.effects:
        uses_children = call.name in ("children_selected", "last_pending_child") or call.param("for") == (
            "selected_children") or call.param("children") == "do_not_send" or call.param(
            "do_not_send") not in (None, "none")
        if uses_children:
            problems.append(Problem(call.position, f"'{call}' works on a household's children, but this "
                                                   "workflow's subject is a patient"))
    if InputType.CHILDREN in asked:
        problems.append(Problem(t.position, f"transition '{t.trigger}' asks for children, but this workflow's "
                                            "subject is a patient"))
    return problems


def _guardian_messages(d: WorkflowDefinition) -> list[Problem]:
    if d.subject is Subject.HOUSEHOLD:
        return []
    return [Problem(m.position, f"message '{m.id}' goes to the guardian, but this workflow's subject is a patient")
            for m in d.messages if m.to is Recipient.GUARDIAN]


def _letters(d: WorkflowDefinition, t: Transition) -> list[Problem]:
    problems: list[Problem] = []
    for call in t.effects:
        if call.name == "print_pin_letter":
            message = d.message(str(call.param("message")))
            if message.channel is not Channel.LETTER:
                problems.append(Problem(call.position, f"print_pin_letter prints message '{message.id}', whose "
                                                       f"channel is {message.channel.value}, not letter"))
    return problems


def _input_use(step_input: StepInput | None, vocabulary: Vocabulary, where: str) -> list[Problem]:
    if step_input is None:
        return []
    problems: list[Problem] = []
    if step_input.type is InputType.CHOICE and len(step_input.options) < 2:
        problems.append(Problem(step_input.position, f"input of {where} is a choice: list at least two options"))
    if step_input.type is not InputType.CHOICE and step_input.options:
        problems.append(Problem(step_input.position, f"input of {where} has options but its type is "
                                                     f"{step_input.type.value}, not choice"))
    rule = step_input.rule
    if rule is not None:
        entry = vocabulary.rules.get(rule.name)
        if entry is not None and entry.inputs and step_input.type not in entry.inputs:
            allowed = ", ".join(i.value for i in entry.inputs)
            problems.append(Problem(rule.position, f"rule '{rule.name}' applies to {allowed} inputs, but the "
                                                   f"input of {where} is {step_input.type.value}"))
        value = rule.param("value")
        if rule.name == "must_equal" and step_input.type is InputType.CHOICE and value not in step_input.options:
            problems.append(Problem(rule.position, f"rule must_equal asks for '{value}', which is not one of the "
                                                   f"options of {where}"))
    return problems


def _timers(d: WorkflowDefinition) -> list[Problem]:
    problems: list[Problem] = []
    for timer in d.timers:
        for t in d.transitions_from(timer.state):
            if t.trigger == timer.fire and t.by is not Actor.SYSTEM:
                problems.append(Problem(timer.position, f"timer '{timer.id}' fires '{timer.fire}', but that "
                                                        f"transition is by {t.by.value}: timers fire only "
                                                        "transitions by system"))
    return problems


def _unfireable(d: WorkflowDefinition, vocabulary: Vocabulary) -> list[Problem]:
    """A transition done by the portal or an integration happens only when one of their operations fires it."""
    problems: list[Problem] = []
    for t in d.transitions:
        if t.by not in (Actor.PORTAL, Actor.INTEGRATION) or any(o.fires(t) for o in vocabulary.operations.values()):
            continue
        ways = [f"trigger {', '.join(o.triggers)}" if o.triggers else f"guard {o.guard}"
                for o in vocabulary.operations.values() if o.by is t.by]
        problems.append(Problem(t.position, f"transition '{t.trigger}' is done by {t.by.value}, but no {t.by.value} "
                                            f"operation can fire it: it needs {' or '.join(ways)}"))
    return problems


def _unused_messages(d: WorkflowDefinition) -> list[Problem]:
    sent = {str(c.param("message")) for t in d.transitions for c in t.effects if c.param("message") is not None}
    return [Problem(m.position, f"message '{m.id}' is never sent by any effect", Severity.WARNING)
            for m in d.messages if m.id not in sent]
