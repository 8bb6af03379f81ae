"""Typed reading of positioned YAML nodes, collecting every problem instead of stopping at the first.

Each method returns the typed value, or None after recording a problem that names the key and its place.
"""

from __future__ import annotations

import re
from datetime import time
from enum import Enum
from typing import TypeVar

from definitions.durations import BadDuration, Duration, parse_duration
from definitions.errors import Position, Problem, Severity
from definitions.shapes import CLOCK_TIME, IDENTIFIER, Shape
from definitions.yamlnodes import MapNode, Scalar, SeqNode, YamlNode

E = TypeVar("E", bound=Enum)

_KIND_WORDS = {"str": "text", "int": "a number", "float": "a number", "bool": "true/false", "null": "nothing"}
_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}


def describe(node: YamlNode) -> str:
    if isinstance(node, MapNode):
        return "a mapping"
    if isinstance(node, SeqNode):
        return "a list"
    return f"'{node.text}'" if node.kind != "null" else "nothing"


class Reader:
    """Collects problems while converting nodes; `problems` is read when the whole file has been walked."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, position: Position, message: str) -> None:
        self.problems.append(Problem(position, message))

    def warn(self, position: Position, message: str) -> None:
        self.problems.append(Problem(position, message, Severity.WARNING))

    def mapping(self, node: YamlNode, shape: Shape, where: str) -> MapNode | None:
        """Check a mapping against its shape: unknown keys (with the allowed ones listed) and missing keys."""
        if not isinstance(node, MapNode):
            self.error(node.position, f"{where} must be a mapping of keys, got {describe(node)}")
            return None
        for key, _ in node.entries:
            if key.text not in shape.allowed:
                allowed = ", ".join(shape.allowed)
                self.error(key.position, f"unknown key '{key.text}' in {where}; allowed keys: {allowed}")
        for name in shape.required:
            if node.get(name) is None:
                self.error(node.position, f"{where} is missing required key '{name}'")
        return node

    def keyed(self, node: YamlNode, where: str) -> tuple[tuple[Scalar, YamlNode], ...]:
        """A mapping of id -> body (states, timers, ...): ids must be identifiers."""
        if not isinstance(node, MapNode):
            self.error(node.position, f"{where} must be a mapping of id: definition, got {describe(node)}")
            return ()
        for key, _ in node.entries:
            self._identifier_text(key, f"id '{key.text}' in {where}")
        return node.entries

    def items(self, node: YamlNode, where: str) -> tuple[YamlNode, ...]:
        if not isinstance(node, SeqNode):
            self.error(node.position, f"{where} must be a list, got {describe(node)}")
            return ()
        return node.items

    def text(self, node: YamlNode | None, where: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, Scalar) or node.kind == "null" or node.text.strip() == "":
            self.error(node.position, f"{where} must be text, got {describe(node)}")
            return None
        return node.text

    def identifier(self, node: YamlNode | None, where: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, Scalar) or node.kind == "null":
            self.error(node.position, f"{where} must be an identifier, got {describe(node)}")
            return None
        return self._identifier_text(node, where)

    def _identifier_text(self, node: Scalar, where: str) -> str | None:
        if not re.fullmatch(IDENTIFIER, node.text):
            self.error(node.position, f"{where}: '{node.text}' is not an identifier "
                                      "(lowercase letters, digits and _, starting with a letter)")
            return None
        return node.text

    def identifiers(self, node: YamlNode | None, where: str) -> tuple[str, ...]:
        """One identifier or a non-empty list of them."""
        if node is None:
            return ()
        if isinstance(node, SeqNode):
            if not node.items:
                self.error(node.position, f"{where} must name at least one")
            found = (self.identifier(item, where) for item in node.items)
            return tuple(i for i in found if i is not None)
        one = self.identifier(node, where)
        return (one,) if one is not None else ()

    def boolean(self, node: YamlNode | None, where: str, default: bool) -> bool:
        if node is None:
            return default
        if isinstance(node, Scalar) and node.kind == "bool":
            return node.text.lower() == "true"
        hint = ""
        if isinstance(node, Scalar) and node.text.lower() in _YAML11_BOOLEANS:
            hint = " ('yes', 'no', 'on' and 'off' are not booleans here)"
        self.error(node.position, f"{where} must be true or false, got {describe(node)}{hint}")
        return default

    def integer(self, node: YamlNode | None, where: str, minimum: int) -> int | None:
        if node is None:
            return None
        if not isinstance(node, Scalar) or node.kind != "int":
            self.error(node.position, f"{where} must be a whole number, got {describe(node)}")
            return None
        value = int(node.text.replace("_", ""), 0 if node.text[:2].lower() in ("0x", "0o") else 10)
        if value < minimum:
            self.error(node.position, f"{where} must be at least {minimum}, got {value}")
            return None
        return value

    def duration(self, node: YamlNode | None, where: str) -> Duration | None:
        if node is None:
            return None
        if not isinstance(node, Scalar) or node.kind not in ("str", "int"):
            self.error(node.position, f"{where} must be a duration such as 30d, got {describe(node)}")
            return None
        try:
            return parse_duration(node.text)
        except BadDuration as exc:
            self.error(node.position, f"{where}: {exc}")
            return None

    def clock_time(self, node: YamlNode | None, where: str) -> time | None:
        if node is None:
            return None
        if not isinstance(node, Scalar) or not re.fullmatch(CLOCK_TIME, node.text):
            self.error(node.position, f"{where} must be a local time HH:MM such as \"08:00\", "
                                      f"got {describe(node)}")
            return None
        hours, minutes = node.text.split(":")
        return time(int(hours), int(minutes))

    def choice(self, node: YamlNode | None, enum: type[E], where: str, default: E | None = None) -> E | None:
        if node is None:
            return default
        allowed = [m.value for m in enum]
        if isinstance(node, Scalar) and node.text in allowed:
            return enum(node.text)
        self.error(node.position, f"{where} must be one of {', '.join(allowed)}, got {describe(node)}")
        return default
