"""Parse YAML text into a small tree of positioned nodes.

The loader reads workflow files through this tree rather than through plain dicts so that every error can name
its file, line and column. Parsing follows YAML 1.2: only `true`/`false` are booleans, so `on/off/yes/no` stay
text and the reader decides what a value means where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from definitions.errors import DefinitionInvalid, Position, Problem

_TAG_PREFIX = "tag:yaml.org,2002:"


@dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar value; `kind` is what YAML 1.2 resolved it to: str, int, float, bool or null."""

    text: str
    kind: str
    position: Position


@dataclass(frozen=True, slots=True)
class MapNode:
    """A mapping whose keys are text scalars, in source order, without duplicates."""

    entries: tuple[tuple[Scalar, YamlNode], ...]
    position: Position

    def get(self, key: str) -> YamlNode | None:
        for name, value in self.entries:
            if name.text == key:
                return value
        return None

    def key_position(self, key: str) -> Position:
        for name, _ in self.entries:
            if name.text == key:
                return name.position
        return self.position


@dataclass(frozen=True, slots=True)
class SeqNode:
    items: tuple[YamlNode, ...]
    position: Position


YamlNode = Scalar | MapNode | SeqNode


def parse_yaml(text: str, path: str) -> YamlNode:
    """Parse one YAML document; malformed input raises `DefinitionInvalid` naming the place."""
    try:
        root = YAML(typ="rt").compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or exc.context or "malformed YAML"
        context = exc.context_mark
        if exc.problem and exc.context and context is not None and (context.line, context.column) != (
            mark.line if mark else -1, mark.column if mark else -1):
            what += f" ({exc.context} that starts at line {context.line + 1}, column {context.column + 1})"
        raise _invalid(Position(path, line, column), f"malformed YAML: {what}") from None
    except YAMLError as exc:
        raise _invalid(Position(path, 1, 1), f"malformed YAML: {exc}") from None
    if root is None:
        raise _invalid(Position(path, 1, 1), "the file is empty: a workflow needs id, version, states, ...")
    return _convert(root, path)


def _invalid(position: Position, message: str) -> DefinitionInvalid:
    return DefinitionInvalid((Problem(position, message),))


def _position(node: Node, path: str) -> Position:
    return Position(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: Node, path: str) -> YamlNode:
    if isinstance(node, ScalarNode):
        return _scalar(node, path)
    if isinstance(node, SequenceNode):
        return SeqNode(tuple(_convert(item, path) for item in node.value), _position(node, path))
    if isinstance(node, MappingNode):
        return _mapping(node, path)
    raise _invalid(_position(node, path), f"unsupported YAML node {type(node).__name__}")


def _scalar(node: ScalarNode, path: str) -> Scalar:
    tag = str(node.tag)
    kind = tag[len(_TAG_PREFIX):] if tag.startswith(_TAG_PREFIX) and node.style is None else "str"
    if kind not in {"str", "int", "float", "bool", "null"}:
        kind = "str"
    # ruamel's round-trip composer marks where a folded (`>`) scalar was folded with a BEL character, to write
    # the folds back; the text itself has none.
    text = str(node.value).replace("\a", "") if node.style == ">" else str(node.value)
    return Scalar(text, kind, _position(node, path))


def _mapping(node: MappingNode, path: str) -> MapNode:
    entries: list[tuple[Scalar, YamlNode]] = []
    seen: dict[str, Position] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise _invalid(_position(key_node, path), "a key must be plain text, not a list or mapping")
        key = _scalar(key_node, path)
        if key.text in seen:
            first = seen[key.text]
            raise _invalid(key.position, f"duplicate key '{key.text}' (first given at line {first.line})")
        seen[key.text] = key.position
        entries.append((key, _convert(value_node, path)))
    return MapNode(tuple(entries), _position(node, path))
