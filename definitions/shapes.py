"""The shape of every mapping in a workflow file: its keys, which are required, and what each means.

One table serves two readers: the loader (to reject unknown keys, listing the allowed ones, and to name missing
ones) and the JSON Schema export (so editors autocomplete exactly what the loader accepts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from definitions.model import (
    Actor,
    Carries,
    Channel,
    InputType,
    LatePolicy,
    LimitScope,
    ReasonPolicy,
    Recipient,
    Subject,
)
from definitions.policy_codes import CODES

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
WORKFLOW_ID = r"^[a-z][a-z0-9_-]*$"
DURATION = r"^(?:[0-9]+[wdhms])+$"
CLOCK_TIME = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"


def _enum(values: type[Any], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": [v.value for v in values], "description": description}


def _ref(name: str, description: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}", "description": description}


_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_IDENT: dict[str, Any] = {"type": "string", "pattern": IDENTIFIER}
_DUR: dict[str, Any] = {"type": "string", "pattern": DURATION}


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    required: bool
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Shape:
    """The keys one kind of mapping may have; `what` names the mapping in messages."""

    what: str
    keys: tuple[Key, ...]

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys if k.required)


WORKFLOW = Shape("workflow", (
    Key("id", True, "Workflow id, unique in workflows/ (lowercase letters, digits, _ and -).",
        {"type": "string", "pattern": WORKFLOW_ID}),
    Key("version", True, "Version number; a published version never changes.", {"type": "integer", "minimum": 1}),
    Key("title", True, "Title staff see.", _TEXT),
    Key("source", True, "The handout this procedure comes from, relative to workflows/.", _TEXT),
    Key("description", False, "What the procedure is for.", _TEXT),
    Key("subject", True, "Who an enrollment is for.", _enum(Subject, "patient, or household (guardian + children)")),
    Key("initial", True, "The state a new enrollment starts in.", _IDENT),
    Key("states", True, "The states, by id.", {"type": "object", "minProperties": 1,
        "propertyNames": {"pattern": IDENTIFIER}, "additionalProperties": _ref("state", "A state.")}),
    Key("transitions", True, "What moves an enrollment from state to state.",
        {"type": "array", "items": _ref("transition", "A transition.")}),
    Key("timers", False, "Clock-driven triggers, by id.", {"type": "object",
        "propertyNames": {"pattern": IDENTIFIER}, "additionalProperties": _ref("timer", "A timer.")}),
    Key("limits", False, "Contact limits, by id.", {"type": "object",
        "propertyNames": {"pattern": IDENTIFIER}, "additionalProperties": _ref("limit", "A limit.")}),
    Key("messages", False, "Messages the workflow sends, by id.", {"type": "object",
        "propertyNames": {"pattern": IDENTIFIER}, "additionalProperties": _ref("message", "A message.")}),
    Key("acknowledged", False, "Policy warnings the practice accepts for this workflow, each with its reason.",
        {"type": "array", "items": _ref("acknowledgement", "An acknowledged warning.")}),
))

STATE = Shape("state", (
    Key("status", True, "Business status label staff see, e.g. 'Pending Registration'.", _TEXT),
    Key("description", True, "What being in this state means.", _TEXT),
    Key("final", False, "True when the procedure is over in this state.", {"type": "boolean"}),
))

TRANSITION = Shape("transition", (
    Key("trigger", True, "The command or event name that fires this transition.", _IDENT),
    Key("from", True, "Source state id, or a list of them.",
        {"oneOf": [_IDENT, {"type": "array", "items": _IDENT, "minItems": 1}]}),
    Key("to", True, "Destination state id.", _IDENT),
    Key("by", False, "Who fires it (default staff).", _enum(Actor, "staff, portal, system or integration")),
    Key("description", False, "What the transition does, for staff.", _TEXT),
    Key("reason", False, "Whether staff must give a reason (default none).",
        _enum(ReasonPolicy, "none, optional or required")),
    Key("guards", False, "Conditions that must all hold.", _ref("calls_guard", "Guard list.")),
    Key("unless", False, "Conditions that must all be false.", _ref("calls_guard", "Guard list.")),
    Key("steps", False, "Guided steps for staff, in order.", {"type": "array", "items": _ref("step", "A step.")}),
    Key("effects", False, "What happens, in order, when it fires.", _ref("calls_effect", "Effect list.")),
))

STEP = Shape("step", (
    Key("id", True, "Step id, unique within the transition.", _IDENT),
    Key("instruction", True, "What staff do, in the handout's words.", _TEXT),
    Key("optional", False, "True when the step may be skipped.", {"type": "boolean"}),
    Key("input", False, "What the step asks staff to enter.", _ref("input", "An input.")),
))

INPUT = Shape("input", (
    Key("type", True, "The kind of value asked for.", _enum(InputType, "input type")),
    Key("label", False, "Field label staff see.", _TEXT),
    Key("options", False, "The choices (type choice only).", {"type": "array", "items": _TEXT, "minItems": 2}),
    Key("rule", False, "A rule the value must satisfy.", _ref("call_rule", "A rule.")),
))

TIMER = Shape("timer", (
    Key("in", True, "The state the timer runs in.", _IDENT),
    Key("after", False, "Fire this long after the state was entered.", _DUR),
    Key("at", False, "Fire at this local time of the site (HH:MM).", {"type": "string", "pattern": CLOCK_TIME}),
    Key("fire", True, "The trigger fired when due.", _IDENT),
    Key("opening_hours", False, "Defer to the site's next opening moment.", {"type": "boolean"}),
    Key("late", True, "What a late firing (after downtime) does.", _enum(LatePolicy, "fire or skip")),
    Key("description", False, "Why the timer exists.", _TEXT),
))

LIMIT = Shape("limit", (
    Key("counts", True, "Message ids whose sends count.", {"type": "array", "items": _IDENT, "minItems": 1}),
    Key("max", True, "Most sends allowed in the window.", {"type": "integer", "minimum": 1}),
    Key("within", True, "Rolling window.", _DUR),
    Key("per", True, "Counted per patient or per recipient address.", _enum(LimitScope, "patient or recipient")),
    Key("description", False, "Where the limit comes from.", _TEXT),
))

MESSAGE = Shape("message", (
    Key("template", True, "Template name: workflows/templates/NAME.j2.", _IDENT),
    Key("channel", True, "How it is delivered.", _enum(Channel, "email, secure_message or letter")),
    Key("to", True, "Who receives it.", _enum(Recipient, "patient or guardian")),
    Key("carries", True, "The secret it delivers, if any.", _enum(Carries, "nothing, pin, link or credentials")),
    Key("opening_hours", False, "Send only during the site's opening hours.", {"type": "boolean"}),
    Key("description", False, "What the message is for.", _TEXT),
))

ACKNOWLEDGEMENT = Shape("acknowledgement", (
    Key("warning", True, "The policy warning's code.", {"type": "string", "enum": sorted(CODES)}),
    Key("reason", True, "Why the practice accepts it, for a compliance reviewer.", _TEXT),
))

SHAPES = {s.what: s for s in (WORKFLOW, STATE, TRANSITION, STEP, INPUT, TIMER, LIMIT, MESSAGE, ACKNOWLEDGEMENT)}
