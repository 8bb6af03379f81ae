"""Read guard, effect and rule calls and type their parameters against the vocabulary.

A call is written either as a bare name (`email_on_file`) or as a one-key mapping of name to parameters
(`issue_pin: {lifetime: 30d}`). A name outside the vocabulary never validates; parameters are checked for
unknown names, missing required ones, type, range and, for references, that the message, timer or limit exists.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from definitions.durations import BadDuration, parse_duration
from definitions.model import Call, ParamValue
from definitions.reader import Reader, describe
from definitions.vocabulary import Entry, EntryKind, ParamSpec, ParamType, Vocabulary
from definitions.yamlnodes import MapNode, Scalar, SeqNode, YamlNode

_REF_TYPES = (ParamType.MESSAGE, ParamType.TIMER, ParamType.LIMIT)


class CallReader:
    """Reads calls of one workflow; `refs` holds the ids of its messages, timers and limits."""

    def __init__(self, reader: Reader, vocabulary: Vocabulary, refs: Mapping[ParamType, frozenset[str]]) -> None:
        self.reader = reader
        self.vocabulary = vocabulary
        self.refs = refs

    def calls(self, node: YamlNode | None, kind: EntryKind, where: str) -> tuple[Call, ...]:
        if node is None:
            return ()
        found = (self.call(item, kind, where) for item in self.reader.items(node, where))
        return tuple(c for c in found if c is not None)

    def call(self, node: YamlNode, kind: EntryKind, where: str) -> Call | None:
        name_node, params_node = self._split(node, kind, where)
        if name_node is None:
            return None
        entry = self._entry(name_node, kind, where)
        if entry is None:
            return None
        params = self._params(entry, params_node, name_node)
        return Call(entry.name, params, name_node.position) if params is not None else None

    def _split(self, node: YamlNode, kind: EntryKind, where: str) -> tuple[Scalar | None, YamlNode | None]:
        if isinstance(node, Scalar) and node.kind == "str":
            return node, None
        if isinstance(node, MapNode) and len(node.entries) == 1:
            return node.entries[0]
        self.reader.error(node.position, f"{where}: a {kind.value} is written as a name or as "
                                         f"'name: {{param: value}}', got {describe(node)}")
        return None, None

    def _entry(self, name: Scalar, kind: EntryKind, where: str) -> Entry | None:
        known = self.vocabulary.of(kind)
        entry = known.get(name.text)
        if entry is None:
            close = difflib.get_close_matches(name.text, list(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known {kind.value}s: {', '.join(sorted(known))}"
            self.reader.error(name.position, f"unknown {kind.value} '{name.text}' in {where}{hint}")
        return entry

    def _params(self, entry: Entry, node: YamlNode | None, name: Scalar) -> tuple[tuple[str, ParamValue], ...] | None:
        given: tuple[tuple[Scalar, YamlNode], ...] = ()
        if isinstance(node, MapNode):
            given = node.entries
        elif node is not None and not (isinstance(node, Scalar) and node.kind == "null"):
            self.reader.error(node.position, f"parameters of {entry.kind.value} '{entry.name}' must be a mapping "
                                             f"of name: value, got {describe(node)}")
            return None
        ok = True
        values: dict[str, ParamValue] = {}
        for key, value_node in given:
            spec = entry.param(key.text)
            if spec is None:
                allowed = ", ".join(p.name for p in entry.params) or "none"
                self.reader.error(key.position, f"unknown parameter '{key.text}' for {entry.kind.value} "
                                                f"'{entry.name}'; allowed parameters: {allowed}")
                ok = False
                continue
            value = self._value(entry, spec, value_node)
            ok = ok and value is not None
            if value is not None:
                values[spec.name] = value
        named = {key.text for key, _ in given}
        for spec in entry.params:
            if spec.name in values or spec.name in named:
                continue
            if spec.required:
                self.reader.error(name.position, f"{entry.kind.value} '{entry.name}' is missing required "
                                                 f"parameter '{spec.name}'")
                ok = False
            elif spec.default is not None:
                values[spec.name] = spec.default
        if not ok:
            return None
        return tuple((p.name, values[p.name]) for p in entry.params if p.name in values)

    def _value(self, entry: Entry, spec: ParamSpec, node: YamlNode) -> ParamValue | None:
        where = f"parameter '{spec.name}' of {entry.kind.value} '{entry.name}'"
        if spec.type is ParamType.LIST:
            return self._list(spec, node, where)
        if not isinstance(node, Scalar):
            self.reader.error(node.position, f"{where} must be a single value, got {describe(node)}")
            return None
        if spec.type is ParamType.INTEGER:
            number = self.reader.integer(node, where, spec.min if spec.min is not None else -(2**63))
            return number
        if spec.type is ParamType.BOOLEAN:
            if node.kind != "bool":
                self.reader.error(node.position, f"{where} must be true or false, got {describe(node)}")
                return None
            return node.text.lower() == "true"
        if spec.type is ParamType.DURATION:
            try:
                return parse_duration(node.text)
            except BadDuration as exc:
                self.reader.error(node.position, f"{where}: {exc}")
                return None
        if spec.type is ParamType.ENUM and node.text not in spec.values:
            self.reader.error(node.position, f"{where} must be one of {', '.join(spec.values)}, got '{node.text}'")
            return None
        if spec.type in _REF_TYPES and node.text not in self.refs.get(spec.type, frozenset()):
            known = ", ".join(sorted(self.refs.get(spec.type, frozenset()))) or "none defined"
            self.reader.error(node.position, f"{where}: no {spec.type.value} '{node.text}' in this workflow "
                                             f"(defined: {known})")
            return None
        if node.kind != "str":
            self.reader.error(node.position, f"{where} must be text, got {describe(node)}")
            return None
        return node.text

    def _list(self, spec: ParamSpec, node: YamlNode, where: str) -> tuple[str, ...] | None:
        if not isinstance(node, SeqNode) or not node.items:
            self.reader.error(node.position, f"{where} must be a non-empty list of: {', '.join(spec.values)}")
            return None
        chosen: list[str] = []
        for item in node.items:
            if not isinstance(item, Scalar) or item.text not in spec.values:
                self.reader.error(item.position, f"{where}: {describe(item)} is not one of {', '.join(spec.values)}")
                return None
            chosen.append(item.text)
        return tuple(chosen)
