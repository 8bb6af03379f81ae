"""Parse YAML text into a small tree of positioned nodes.

The loader reads workflow files through this tree rather than through plain dicts so that every error can name
its file, line and column. Parsing follows YAML 1.2: only `true`/`false` are booleans, so `on/off/yes/no` stay
text and the reader decides what a value means where it is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, Event, ScalarEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from definitions.errors import DefinitionInvalid, Position, Problem

_TAG_PREFIX = "tag:yaml.org,2002:"
# Bounds on what a workflow file may ask of the loader: far above any real workflow (the largest shipped is ~12 KB,
# 8 levels deep, with no alias), far below what would crash it or take seconds.
MAX_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_NODES = 100_000  # after expanding aliases
MAX_NUMBER = 100  # characters of a number
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")


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
    """Parse one YAML document; malformed input raises `DefinitionInvalid` naming the place, and so does a file
    over the bounds (size, nesting, nodes after expanding aliases): checked on the event stream first, which
    needs no recursion and expands nothing."""
    if len(text) > MAX_BYTES:
        raise _invalid(Position(path, 1, 1), f"the file has {len(text):,} characters; a workflow has at most "
                                             f"{MAX_BYTES:,}")
    _check_flow_brackets(text, path)
    try:
        _check_bounds(text, path)
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


def _check_flow_brackets(text: str, path: str) -> None:
    """Refuse more than MAX_DEPTH `[` or `{` open at once before the YAML scanner sees them: ruamel's scanner keeps
    a possible simple key per open flow level and re-checks them all at every token, so thousands of brackets on
    one line take seconds before the first event could be refused. Brackets are counted in the raw text (in quoted
    text and comments too), which can only over-count a file's real nesting; a workflow with 64 brackets left
    open in its prose is not one anybody writes."""
    depth = 0
    for bracket in _FLOW_BRACKETS.finditer(text):
        if bracket.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                at = bracket.start()
                line = text.count("\n", 0, at) + 1
                column = at - (text.rfind("\n", 0, at) + 1) + 1
                raise _invalid(Position(path, line, column), f"nested more than {MAX_DEPTH} levels deep")
        elif depth:
            depth -= 1


def _check_bounds(text: str, path: str) -> None:
    """Walk the parser's events: nesting deeper than MAX_DEPTH, or more than MAX_NODES nodes once every alias is
    expanded (each alias counts the nodes of what it names), is refused at the line where it happens."""
    depth, total = 0, 0
    open_counts: list[list[int]] = []  # per open collection: [nodes inside so far]
    anchors: list[str | None] = []
    sizes: dict[str, int] = {}
    for event in YAML(typ="rt").parse(text):
        if isinstance(event, AliasEvent):
            if str(event.anchor) in anchors:
                raise _invalid(_mark(event, path), f"the alias *{event.anchor} is inside what it names: a loop")
            added = sizes.get(str(event.anchor), 1)
        elif isinstance(event, ScalarEvent | CollectionStartEvent):
            added = 1
        else:
            added = 0
        if added:
            total += added
            for counts in open_counts:
                counts[0] += added
            if total > MAX_NODES:
                raise _invalid(_mark(event, path), f"the file expands to more than {MAX_NODES:,} values (through "
                                                   "its aliases); a workflow has far fewer")
            anchor = getattr(event, "anchor", None)
            if isinstance(event, ScalarEvent) and anchor is not None:
                sizes[str(anchor)] = 1
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _invalid(_mark(event, path), f"nested more than {MAX_DEPTH} levels deep")
            open_counts.append([0])
            anchors.append(None if event.anchor is None else str(event.anchor))
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
            inside = open_counts.pop()[0]
            name = anchors.pop()
            if name is not None:
                sizes[name] = inside + 1


def _mark(event: Event, path: str) -> Position:
    mark = event.start_mark
    return Position(path, mark.line + 1, mark.column + 1) if mark is not None else Position(path, 1, 1)


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
    if kind in ("int", "float") and len(text) > MAX_NUMBER:
        raise _invalid(_position(node, path), f"a number of {len(text):,} characters; numbers here have at most "
                                              f"{MAX_NUMBER}")
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
