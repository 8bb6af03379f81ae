"""The JSON Schema of the workflow format, built from the same shapes and vocabulary the loader uses.

Kept in `docs/workflow.schema.json` so editors can autocomplete keys, guard and effect names and parameters.
The loader stays the authority (it also checks references and the state graph); the schema is its mirror.
"""

from __future__ import annotations

from typing import Any

from definitions.shapes import (
    ACKNOWLEDGEMENT,
    DURATION,
    IDENTIFIER,
    INPUT,
    LIMIT,
    MESSAGE,
    STATE,
    STEP,
    TIMER,
    TRANSITION,
    WORKFLOW,
    Shape,
)
from definitions.vocabulary import Entry, ParamSpec, ParamType, Vocabulary, standard_vocabulary

SCHEMA_ID = "https://portalflow.invalid/schemas/workflow.schema.json"


def _object(shape: Shape, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {k.name: {**k.schema, "description": k.description} for k in shape.keys},
        "required": list(shape.required),
        "additionalProperties": False,
    }


def _param(spec: ParamSpec) -> dict[str, Any]:
    schema: dict[str, Any]
    if spec.type is ParamType.INTEGER:
        schema = {"type": "integer"} | ({"minimum": spec.min} if spec.min is not None else {})
    elif spec.type is ParamType.BOOLEAN:
        schema = {"type": "boolean"}
    elif spec.type is ParamType.DURATION:
        schema = {"type": "string", "pattern": DURATION}
    elif spec.type is ParamType.ENUM:
        schema = {"type": "string", "enum": list(spec.values)}
    elif spec.type is ParamType.LIST:
        schema = {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(spec.values)}}
    elif spec.type in (ParamType.MESSAGE, ParamType.TIMER, ParamType.LIMIT):
        schema = {"type": "string", "pattern": IDENTIFIER}
    else:
        schema = {"type": "string"}
    if spec.default is not None:
        schema["default"] = spec.default
    return schema | {"description": spec.description}


def _call(entries: dict[str, Entry], what: str) -> dict[str, Any]:
    bare = sorted(name for name, e in entries.items() if not any(p.required for p in e.params))
    with_params = {
        name: {
            "description": e.description,
            "type": ["object", "null"] if not any(p.required for p in e.params) else "object",
            "properties": {p.name: _param(p) for p in e.params},
            "required": [p.name for p in e.params if p.required],
            "additionalProperties": False,
        }
        for name, e in sorted(entries.items())
    }
    return {
        "description": f"A {what}: its name, or 'name: {{param: value}}'.",
        "oneOf": [
            {"type": "string", "enum": bare},
            {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": with_params,
             "additionalProperties": False},
        ],
    }


def workflow_schema(vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    vocabulary = vocabulary or standard_vocabulary()
    root = _object(WORKFLOW, "A PortalFlow workflow: one documented enrollment procedure.")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "PortalFlow workflow",
        **root,
        "$defs": {
            "state": _object(STATE, "A state of an enrollment."),
            "transition": _object(TRANSITION, "A move from one or more states to another."),
            "step": _object(STEP, "A guided step for staff."),
            "input": _object(INPUT, "What a step asks for."),
            "timer": _object(TIMER, "A clock-driven trigger."),
            "limit": _object(LIMIT, "A contact limit."),
            "message": _object(MESSAGE, "A message and how it travels."),
            "acknowledgement": _object(ACKNOWLEDGEMENT, "A policy warning the practice accepts, and why."),
            "call_guard": _call(dict(vocabulary.guards), "guard"),
            "call_effect": _call(dict(vocabulary.effects), "effect"),
            "call_rule": _call(dict(vocabulary.rules), "input rule"),
            "calls_guard": {"type": "array", "items": {"$ref": "#/$defs/call_guard"}},
            "calls_effect": {"type": "array", "items": {"$ref": "#/$defs/call_effect"}},
        },
    }
