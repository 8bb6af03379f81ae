"""Check a guided step's input against its declared type, and say what is wrong in staff's words.

Returns the value normalised (e.g. "yes" -> True, an ISO date -> date) or a problem. Password inputs are
secrets: they are checked here but `public_value` keeps them out of audit rows and step records.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from definitions.model import InputType, Step

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_YES = {"yes", "y", "true"}
_NO = {"no", "n", "false"}


def check_input(step: Step, value: Any) -> tuple[Any, str | None]:
    """(normalised value, None) or (None, problem)."""
    assert step.input is not None
    kind = step.input.type
    label = step.input.label or step.id
    if kind is InputType.CONFIRMATION:
        return (True, None) if value is True or str(value).lower() in _YES else (
            None, f"'{label}' must be confirmed")
    if kind is InputType.YES_NO:
        text = str(value).lower()
        if value is True or text in _YES:
            return "yes", None
        if value is False or text in _NO:
            return "no", None
        return None, f"'{label}' must be answered yes or no"
    if kind is InputType.CHOICE:
        options = step.input.options
        return (value, None) if value in options else (None, f"'{label}' must be one of: {', '.join(options)}")
    if kind is InputType.DATE:
        try:
            return (value if isinstance(value, date) else date.fromisoformat(str(value))), None
        except ValueError:
            return None, f"'{label}' must be a date written YYYY-MM-DD"
    if kind is InputType.CHILDREN:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return None, f"'{label}' must be a list of the children's ids"
        return tuple(value), None
    if kind is InputType.EMAIL:
        return (value, None) if isinstance(value, str) and _EMAIL.match(value) else (
            None, f"'{label}' must be an email address")
    if value is None:
        return "", None
    if not isinstance(value, str):
        return None, f"'{label}' must be text"
    return value.strip() if kind is not InputType.PASSWORD else value, None


def is_secret(step: Step) -> bool:
    return step.input is not None and step.input.type is InputType.PASSWORD


def public_value(step: Step, value: Any) -> Any:
    """What may be written to an audit row or a step record."""
    if is_secret(step):
        return "[redacted]"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
