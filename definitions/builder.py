"""Read a workflow's positioned YAML nodes into the typed model (`WorkflowDefinition`), in one pass: shapes
(unknown and missing keys), value types, and references to states, triggers, messages, timers and limits, each
problem pointing at the value that is wrong. `definitions.loader` runs it and then the model's checks.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from definitions.calls import CallReader
from definitions.model import (
    Acknowledgement,
    Actor,
    Carries,
    Channel,
    InputType,
    LatePolicy,
    Limit,
    LimitScope,
    Message,
    ReasonPolicy,
    Recipient,
    State,
    Step,
    StepInput,
    Subject,
    Timer,
    Transition,
    WorkflowDefinition,
)
from definitions.policy_codes import CODES
from definitions.reader import Reader
from definitions.shapes import (
    ACKNOWLEDGEMENT,
    INPUT,
    LIMIT,
    MESSAGE,
    STATE,
    STEP,
    TIMER,
    TRANSITION,
    WORKFLOW,
    WORKFLOW_ID,
)
from definitions.vocabulary import EntryKind, ParamType, Vocabulary
from definitions.yamlnodes import MapNode, Scalar, SeqNode, YamlNode

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Surroundings:
    """What a workflow may refer to outside its file; None skips that check (e.g. text given inline)."""

    templates: frozenset[str] | None = None
    sources_root: Path | None = None
    template_texts: tuple[tuple[str, str], ...] = field(default=())


class WorkflowBuilder:
    """Reads one workflow's positioned YAML nodes into the typed model, reporting each problem on its node."""

    def __init__(self, reader: Reader, vocabulary: Vocabulary, surroundings: Surroundings) -> None:
        self.reader = reader
        self.vocabulary = vocabulary
        self.surroundings = surroundings
        self.state_ids: frozenset[str] = frozenset()

    def build(self, root: YamlNode, path: str, content_hash: str) -> WorkflowDefinition | None:
        r = self.reader
        top = r.mapping(root, WORKFLOW, "the workflow")
        if top is None:
            return None
        workflow_id = self._workflow_id(top)
        version = r.integer(top.get("version"), "version", 1)
        title = r.text(top.get("title"), "title")
        source = self._source(top)
        description = r.text(top.get("description"), "description")
        subject = r.choice(top.get("subject"), Subject, "subject")
        states = self._states(top.get("states"))
        self.state_ids = frozenset(s.id for s in states)
        initial = self._state_ref(top.get("initial"), "initial")
        calls = CallReader(r, self.vocabulary, {
            ParamType.MESSAGE: self._ids(top.get("messages")),
            ParamType.TIMER: self._ids(top.get("timers")),
            ParamType.LIMIT: self._ids(top.get("limits")),
        })
        transitions = self._list(top.get("transitions"), "transitions", lambda n, i: self._transition(n, i, calls))
        timers = self._keyed(top.get("timers"), "timers", lambda k, n: self._timer(k, n, transitions))
        messages = self._keyed(top.get("messages"), "messages", self._message)
        limits = self._keyed(top.get("limits"), "limits", lambda k, n: self._limit(k, n, messages))
        acknowledged = self._list(top.get("acknowledged"), "acknowledged", self._acknowledgement)
        required = (workflow_id, version, title, source, subject, initial)
        if any(v is None for v in required) or not states:
            return None
        assert workflow_id
        assert version
        assert title
        assert source
        assert subject
        assert initial
        return WorkflowDefinition(
            id=workflow_id, version=version, title=title, source=source, description=description,
            subject=subject, initial=initial, states=states, transitions=transitions, timers=timers,
            limits=limits, messages=messages, path=path, content_hash=content_hash, acknowledged=acknowledged,
        )

    # ----- top level -------------------------------------------------------------------------------------

    def _workflow_id(self, top: MapNode) -> str | None:
        node = top.get("id")
        value = self.reader.text(node, "id")
        if node is not None and value is not None and not re.fullmatch(WORKFLOW_ID, value):
            self.reader.error(node.position, f"id '{value}' must be lowercase letters, digits, _ and -, "
                                             "starting with a letter")
            return None
        return value

    def _source(self, top: MapNode) -> str | None:
        node = top.get("source")
        value = self.reader.text(node, "source")
        root = self.surroundings.sources_root
        if node is not None and value is not None and (Path(value).is_absolute() or ".." in Path(value).parts):
            self.reader.error(node.position, f"source '{value}' must be a path inside the workflows folder, "
                                             "such as handouts/NAME.txt")
            return None
        if node is not None and value is not None and root is not None and not _is_file(root / value):
            self.reader.error(node.position, f"source handout '{value[:120]}' not found (looked in the workflows "
                                             "folder)")
        return value

    def _ids(self, node: YamlNode | None) -> frozenset[str]:
        return frozenset(k.text for k, _ in node.entries) if isinstance(node, MapNode) else frozenset()

    def _list(self, node: YamlNode | None, where: str, read: Callable[[YamlNode, int], T | None]) -> tuple[T, ...]:
        if node is None:
            return ()
        found = (read(item, i) for i, item in enumerate(self.reader.items(node, where)))
        return tuple(x for x in found if x is not None)

    def _keyed(self, node: YamlNode | None, where: str, read: Callable[[Scalar, YamlNode], T | None]) -> tuple[T, ...]:
        if node is None:
            return ()
        found = (read(key, body) for key, body in self.reader.keyed(node, where))
        return tuple(x for x in found if x is not None)

    def _state_ref(self, node: YamlNode | None, where: str) -> str | None:
        value = self.reader.identifier(node, where)
        if value is None or node is None or value in self.state_ids:
            return value
        close = difflib.get_close_matches(value, sorted(self.state_ids), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; states: {', '.join(sorted(self.state_ids))}"
        self.reader.error(node.position, f"unknown state '{value}' in {where}{hint}")
        return None

    # ----- states ----------------------------------------------------------------------------------------

    def _states(self, node: YamlNode | None) -> tuple[State, ...]:
        return self._keyed(node, "states", self._state)

    def _state(self, key: Scalar, node: YamlNode) -> State | None:
        r = self.reader
        where = f"state '{key.text}'"
        body = r.mapping(node, STATE, where)
        if body is None:
            return None
        status = r.text(body.get("status"), f"status of {where}")
        description = r.text(body.get("description"), f"description of {where}")
        final = r.boolean(body.get("final"), f"final of {where}", False)
        return State(key.text, status or "", description or "", final, key.position)

    # ----- transitions -----------------------------------------------------------------------------------

    def _transition(self, node: YamlNode, index: int, calls: CallReader) -> Transition | None:
        r = self.reader
        where = f"transition #{index + 1}"
        body = r.mapping(node, TRANSITION, where)
        if body is None:
            return None
        trigger = r.identifier(body.get("trigger"), f"trigger of {where}")
        if trigger is not None:
            where = f"transition '{trigger}' (#{index + 1})"
        from_node = body.get("from")
        sources: list[str] = []
        if from_node is not None:
            names = from_node.items if isinstance(from_node, SeqNode) else (from_node,)
            if isinstance(from_node, SeqNode) and not names:
                r.error(from_node.position, f"'from' of {where} must name at least one state")
            for item in names:
                state = self._state_ref(item, f"'from' of {where}")
                if state is not None:
                    sources.append(state)
        dest = self._state_ref(body.get("to"), f"'to' of {where}")
        by = r.choice(body.get("by"), Actor, f"'by' of {where}", Actor.STAFF) or Actor.STAFF
        reason = r.choice(body.get("reason"), ReasonPolicy, f"'reason' of {where}", ReasonPolicy.NONE)
        guards = calls.calls(body.get("guards"), EntryKind.GUARD, f"guards of {where}")
        unless = calls.calls(body.get("unless"), EntryKind.GUARD, f"'unless' of {where}")
        steps = self._steps(body.get("steps"), where, calls)
        effects = calls.calls(body.get("effects"), EntryKind.EFFECT, f"effects of {where}")
        description = r.text(body.get("description"), f"description of {where}")
        if trigger is None or not sources or dest is None:
            return None
        return Transition(trigger, tuple(sources), dest, by, description, reason or ReasonPolicy.NONE,
                          guards, unless, steps, effects, node.position)

    def _steps(self, node: YamlNode | None, where: str, calls: CallReader) -> tuple[Step, ...]:
        steps = self._list(node, f"steps of {where}", lambda n, i: self._step(n, i, where, calls))
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                self.reader.error(step.position, f"step id '{step.id}' appears twice in {where}")
            seen.add(step.id)
        return steps

    def _step(self, node: YamlNode, index: int, owner: str, calls: CallReader) -> Step | None:
        r = self.reader
        where = f"step #{index + 1} of {owner}"
        body = r.mapping(node, STEP, where)
        if body is None:
            return None
        step_id = r.identifier(body.get("id"), f"id of {where}")
        instruction = r.text(body.get("instruction"), f"instruction of {where}")
        optional = r.boolean(body.get("optional"), f"optional of {where}", False)
        step_input = self._input(body.get("input"), f"input of {where}", calls)
        if step_id is None or instruction is None:
            return None
        return Step(step_id, instruction, optional, step_input, node.position)

    def _input(self, node: YamlNode | None, where: str, calls: CallReader) -> StepInput | None:
        if node is None:
            return None
        r = self.reader
        body = r.mapping(node, INPUT, where)
        if body is None:
            return None
        input_type = r.choice(body.get("type"), InputType, f"type of {where}")
        label = r.text(body.get("label"), f"label of {where}")
        options_node = body.get("options")
        options = tuple(o for o in (r.text(i, f"option of {where}") for i in r.items(options_node, where))
                        if o is not None) if options_node is not None else ()
        rule_node = body.get("rule")
        rule = calls.call(rule_node, EntryKind.RULE, f"rule of {where}") if rule_node is not None else None
        if input_type is None:
            return None
        return StepInput(input_type, label, options, rule, node.position)

    # ----- timers, limits, messages ----------------------------------------------------------------------

    def _timer(self, key: Scalar, node: YamlNode, transitions: tuple[Transition, ...]) -> Timer | None:
        r = self.reader
        where = f"timer '{key.text}'"
        body = r.mapping(node, TIMER, where)
        if body is None:
            return None
        state = self._state_ref(body.get("in"), f"'in' of {where}")
        after = r.duration(body.get("after"), f"'after' of {where}")
        at = r.clock_time(body.get("at"), f"'at' of {where}")
        if (body.get("after") is None) == (body.get("at") is None):
            r.error(body.position, f"{where} needs exactly one of 'after' (a duration) or 'at' (a local time)")
        fire_node = body.get("fire")
        fire = r.identifier(fire_node, f"'fire' of {where}")
        leaves = any(t.trigger == fire and state in t.sources for t in transitions)
        if fire is not None and fire_node is not None and state is not None and not leaves:
            r.error(fire_node.position, f"{where} fires '{fire}' but no transition on '{fire}' "
                                            f"leaves state '{state}'")
        opening_hours = r.boolean(body.get("opening_hours"), f"opening_hours of {where}", False)
        late = r.choice(body.get("late"), LatePolicy, f"'late' of {where}")
        description = r.text(body.get("description"), f"description of {where}")
        if state is None or fire is None or late is None or (after is None and at is None):
            return None
        return Timer(key.text, state, after, at, fire, opening_hours, late, description, key.position)

    def _limit(self, key: Scalar, node: YamlNode, messages: tuple[Message, ...]) -> Limit | None:
        r = self.reader
        where = f"limit '{key.text}'"
        body = r.mapping(node, LIMIT, where)
        if body is None:
            return None
        known = {m.id for m in messages}
        counts: list[str] = []
        counts_node = body.get("counts")
        if isinstance(counts_node, SeqNode) and not counts_node.items:
            r.error(counts_node.position, f"counts of {where} must name at least one message")
        for item in r.items(counts_node, f"counts of {where}") if counts_node is not None else ():
            message = r.identifier(item, f"counts of {where}")
            if message is not None and message not in known:
                r.error(item.position, f"{where} counts unknown message '{message}' "
                                       f"(messages: {', '.join(sorted(known)) or 'none'})")
            elif message is not None:
                counts.append(message)
        maximum = r.integer(body.get("max"), f"max of {where}", 1)
        within = r.duration(body.get("within"), f"within of {where}")
        per = r.choice(body.get("per"), LimitScope, f"per of {where}")
        description = r.text(body.get("description"), f"description of {where}")
        if not counts or maximum is None or within is None or per is None:
            return None
        return Limit(key.text, tuple(counts), maximum, within, per, description, key.position)

    def _acknowledgement(self, node: YamlNode, index: int) -> Acknowledgement | None:
        r = self.reader
        where = f"acknowledged[{index}]"
        body = r.mapping(node, ACKNOWLEDGEMENT, where)
        if body is None:
            return None
        code_node = body.get("warning")
        code = r.text(code_node, f"warning of {where}")
        if code is not None and code_node is not None and code not in CODES:
            r.error(code_node.position,
                    f"unknown policy warning '{code}' in {where}; codes: {', '.join(sorted(CODES))}")
            code = None
        reason = r.text(body.get("reason"), f"reason of {where}")
        if code is None or reason is None:
            return None
        return Acknowledgement(code, " ".join(reason.split()), body.position)

    def _message(self, key: Scalar, node: YamlNode) -> Message | None:
        r = self.reader
        where = f"message '{key.text}'"
        body = r.mapping(node, MESSAGE, where)
        if body is None:
            return None
        template_node = body.get("template")
        template = r.identifier(template_node, f"template of {where}")
        known = self.surroundings.templates
        if template is not None and template_node is not None and known is not None and template not in known:
            close = difflib.get_close_matches(template, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            r.error(template_node.position, f"unknown template '{template}' in {where}: no file "
                                            f"templates/{template}.j2{hint}")
        channel = r.choice(body.get("channel"), Channel, f"channel of {where}")
        to = r.choice(body.get("to"), Recipient, f"'to' of {where}")
        carries = r.choice(body.get("carries"), Carries, f"carries of {where}")
        opening_hours = r.boolean(body.get("opening_hours"), f"opening_hours of {where}", False)
        description = r.text(body.get("description"), f"description of {where}")
        if template is None or channel is None or to is None or carries is None:
            return None
        return Message(key.text, template, channel, to, carries, opening_hours, description, key.position)


def _is_file(path: Path) -> bool:
    """A name the system cannot even look up (too long, a NUL byte) is no file, not a crash."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
