"""Scenario files: parse once into typed objects, naming every problem with its file, line and key.

A scenario names a workflow, a start moment, the records it needs (sites, staff, providers, patients,
households), optionally one enrollment to start, and an ordered list of steps. Each step happens `at` an offset
from the start ("+0", "+30d", "+29d23h") or an absolute UTC moment, does at most one thing and may check what
followed (`expect`). `engine.designer.simulation` runs what this module reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, Integer, Table, Time

from definitions.errors import DefinitionInvalid
from definitions.reader import Reader, describe
from definitions.yamlnodes import MapNode, Scalar, SeqNode, YamlNode, parse_yaml
from engine.storage.tables import (
    households,
    patients,
    providers,
    site_closures,
    site_hours,
    sites,
    staff_users,
)

TOP_KEYS = ("workflow", "start", "description", "records", "enroll", "steps")
RECORD_TABLES: dict[str, Table] = {"sites": sites, "site_hours": site_hours, "site_closures": site_closures,
                                   "staff": staff_users, "providers": providers, "patients": patients,
                                   "households": households}
ENROLL_KEYS = ("patient", "household", "children", "as")
ACTIONS = ("fire", "complete_step", "present_pin", "present_link", "update_patient", "sweep", "event")
FIRE_KEYS = ("as", "inputs", "reason")
EVENT_KEYS = ("kind", "key", "patient", "changes")
EXPECT_KEYS = ("state", "status", "refused", "messages_queued", "timers_pending", "timers_due", "credential_refused",
               "event")
_OFFSET = re.compile(r"^\+(?:0|(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?)$")




class ScenarioInvalid(DefinitionInvalid):
    """The scenario file itself is wrong: every problem is named with its file, line and key."""


@dataclass(frozen=True, slots=True)
class ScenarioStep:
    number: int
    line: int
    at: datetime
    action: str | None
    args: Any
    extra: dict[str, Any]
    expect: dict[str, tuple[Any, int]]


@dataclass(frozen=True, slots=True)
class Scenario:
    path: str
    workflow: str
    start: datetime
    records: dict[str, list[dict[str, Any]]]
    members: dict[str, list[str]]
    enroll: dict[str, Any]
    steps: tuple[ScenarioStep, ...]


# ----- parsing ------------------------------------------------------------------------------------------------

def plain(node: YamlNode) -> Any:
    """A node as a plain value (YAML 1.2 kinds), for inputs and expectations."""
    if isinstance(node, MapNode):
        return {key.text: plain(value) for key, value in node.entries}
    if isinstance(node, SeqNode):
        return [plain(item) for item in node.items]
    if node.kind == "bool":
        return node.text.lower() == "true"
    if node.kind == "int":
        return int(node.text)
    if node.kind == "float":
        return float(node.text)
    return None if node.kind == "null" else node.text


def _keys(reader: Reader, node: YamlNode, allowed: tuple[str, ...], where: str) -> MapNode | None:
    if not isinstance(node, MapNode):
        reader.error(node.position, f"{where} must be a mapping of keys, got {describe(node)}")
        return None
    for key, _ in node.entries:
        if key.text not in allowed:
            reader.error(key.position, f"unknown key '{key.text}' in {where}; allowed keys: {', '.join(allowed)}")
    return node


def parse_moment(text: str, start: datetime) -> datetime | None:
    """'+0', '+30d', '+29d23h', '+90m' from the start, or an absolute ISO time (UTC if no offset is given)."""
    found = _OFFSET.match(text.strip())
    if found:
        days, hours, minutes = (int(g) if g else 0 for g in found.groups())
        return start + timedelta(days=days, hours=hours, minutes=minutes)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def offset_text(moment: datetime, start: datetime) -> str:
    seconds = int((moment - start).total_seconds())
    if seconds == 0:
        return "+0"
    sign, seconds = ("-", -seconds) if seconds < 0 else ("+", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (rest // 60, "m")) if n]
    return sign + "".join(parts)


def _column_value(reader: Reader, table: Table, key: Scalar, node: YamlNode, where: str) -> Any:
    column = table.c[key.text]
    if isinstance(node, Scalar) and node.kind == "null":
        return None
    if isinstance(column.type, Boolean):
        return reader.boolean(node, f"'{key.text}' in {where}", False)
    if isinstance(column.type, Date):
        try:
            return date.fromisoformat(node.text) if isinstance(node, Scalar) else None
        except ValueError:
            pass
        reader.error(node.position, f"'{key.text}' in {where} must be a date YYYY-MM-DD, got {describe(node)}")
        return None
    if isinstance(column.type, Integer):
        return reader.integer(node, f"'{key.text}' in {where}", 0)
    if isinstance(column.type, Time):
        try:
            return time.fromisoformat(node.text) if isinstance(node, Scalar) else None
        except ValueError:
            pass
        reader.error(node.position, f"'{key.text}' in {where} must be a time HH:MM, got {describe(node)}")
        return None
    return reader.text(node, f"'{key.text}' in {where}")


def _records(reader: Reader, node: YamlNode) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in RECORD_TABLES}
    members: dict[str, list[str]] = {}
    body = _keys(reader, node, ("site", *RECORD_TABLES), "records")
    if body is None:
        return found, members
    # Sites first, so a patient or household of a one-site practice may leave out site_id.
    for key, value in sorted(body.entries, key=lambda entry: entry[0].text not in ("site", "sites")):
        name = "sites" if key.text == "site" else key.text
        if name not in RECORD_TABLES:
            continue
        table = RECORD_TABLES[name]
        items = (value,) if key.text == "site" else reader.items(value, f"records.{name}")
        extra = ("children",) if name == "households" else ()
        for index, item in enumerate(items):
            where = f"records.{name}[{index}]"
            row = _keys(reader, item, (*table.c.keys(), *extra), where)
            if row is None:
                continue
            values = {k.text: _column_value(reader, table, k, v, where) for k, v in row.entries if k.text in table.c}
            if "site_id" in table.c and "site_id" not in values and len(found["sites"]) == 1:
                values["site_id"] = found["sites"][0]["id"]
            for column in table.c:
                if not column.nullable and column.default is None and column.name not in values:
                    reader.error(row.position, f"{where} is missing required key '{column.name}'")
            children = row.get("children")
            if children is not None:
                members[str(values.get("id"))] = [str(c) for c in plain(children)]
            found[name].append(values)
    return found, members


def _step(reader: Reader, node: YamlNode, number: int, start: datetime, previous: datetime) -> ScenarioStep | None:
    where = f"step {number}"
    body = _keys(reader, node, ("at", "note", *ACTIONS, *FIRE_KEYS, "expect"), where)
    if body is None:
        return None
    at = previous
    at_node = body.get("at")
    if at_node is not None:
        moment = parse_moment(at_node.text, start) if isinstance(at_node, Scalar) else None
        if moment is None:
            reader.error(at_node.position, f"'at' in {where} must be an offset such as +0, +30d, +29d23h "
                                           f"or an ISO time, got {describe(at_node)}")
        elif moment < previous:
            reader.error(at_node.position, f"'at' in {where} goes back in time ({offset_text(moment, start)} "
                                           f"is before {offset_text(previous, start)})")
        else:
            at = moment
    actions = [k for k in ACTIONS if body.get(k) is not None]
    if len(actions) > 1:
        reader.error(body.position, f"{where} does more than one thing ({', '.join(actions)}): split it")
    action = actions[0] if actions else None
    extra = {k: plain(v) for k, v in ((k, body.get(k)) for k in FIRE_KEYS) if v is not None}
    if extra and action != "fire":
        reader.error(body.key_position(next(iter(extra))), f"'{next(iter(extra))}' in {where} only goes with 'fire'")
    expect: dict[str, tuple[Any, int]] = {}
    expect_node = body.get("expect")
    if expect_node is not None:
        checks = _keys(reader, expect_node, EXPECT_KEYS, f"expect of {where}")
        for key, value in checks.entries if checks else ():
            expect[key.text] = (plain(value), key.position.line)
    if action is None and not expect:
        reader.error(body.position, f"{where} does nothing: give one of {', '.join(ACTIONS)} or an expect")
    args = plain(body.get(action)) if action else None  # type: ignore[arg-type]
    if action == "event":
        event = _keys(reader, body.get("event"), EVENT_KEYS, f"event of {where}")  # type: ignore[arg-type]
        for required in ("kind", "key"):
            if event is not None and event.get(required) is None:
                reader.error(event.position, f"the event of {where} is missing required key '{required}'")
    return ScenarioStep(number, body.position.line, at, action, args, extra, expect)


def load_scenario(path: Path) -> Scenario:
    """Parse a scenario file once into typed objects; every problem raises `ScenarioInvalid` with its place."""
    name = str(path)
    root = parse_yaml(path.read_text(encoding="utf-8"), name)
    reader = Reader()
    body = _keys(reader, root, TOP_KEYS, "the scenario")
    if body is None:
        raise ScenarioInvalid(tuple(reader.problems))
    for required in ("workflow", "start", "steps"):
        if body.get(required) is None:
            reader.error(body.position, f"the scenario is missing required key '{required}'")
    workflow = reader.text(body.get("workflow"), "workflow") or ""
    start_node = body.get("start")
    start = datetime(2000, 1, 1, tzinfo=UTC)
    if isinstance(start_node, Scalar):
        parsed = parse_moment(start_node.text, start) if not start_node.text.startswith("+") else None
        if parsed is None:
            reader.error(start_node.position, f"'start' must be an ISO UTC time, got {describe(start_node)}")
        else:
            start = parsed
    records_node = body.get("records")
    records, members = _records(reader, records_node) if records_node is not None else (
        {n: [] for n in RECORD_TABLES}, {})
    enroll: dict[str, Any] = {}
    enroll_node = body.get("enroll")
    if enroll_node is not None and _keys(reader, enroll_node, ENROLL_KEYS, "enroll") is not None:
        enroll = plain(enroll_node)
    steps: list[ScenarioStep] = []
    previous = start
    for number, item in enumerate(reader.items(body.get("steps") or SeqNode((), body.position), "steps"), 1):
        step = _step(reader, item, number, start, previous)
        if step is not None:
            steps.append(step)
            previous = step.at
    errors = [p for p in reader.problems if p.severity.value == "error"]
    if errors:
        raise ScenarioInvalid(tuple(errors))
    return Scenario(name, workflow, start, records, members, enroll, tuple(steps))
