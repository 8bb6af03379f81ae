"""Patient demographics as integrations name them: check a change, apply it, and say which fields really changed.

The names are the workflow vocabulary's (`first_name`, `birth_date`, ...), not the table's columns. A value of
None clears a field. A changed email address is no longer confirmed as personal: staff must confirm it again. A
changed given name says again whether the name is a newborn's placeholder ("Baby Girl").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import InvalidInput, NotFound
from engine.storage.tables import credentials, patients

COLUMNS = {"first_name": "given_name", "last_name": "family_name", "birth_date": "birth_date",
           "birth_sex": "birth_sex", "zip": "zip", "email": "email", "cell_phone": "cell_phone"}
BIRTH_SEXES = ("F", "M", "UNK")  # US Core birth sex
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ZIP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{7,}$")
# Newborns are registered before they are named: "Baby Boy", "Baby Girl", twins as "Baby Girl A" / "Infant Boy 2".
_PLACEHOLDER = re.compile(r"^(baby|infant)( (boy|girl))?( [a-z0-9])?$", re.IGNORECASE)


def is_placeholder_name(given_name: str | None) -> bool:
    """Whether a given name is a newborn's placeholder ("Baby Boy", "Baby Girl", "Infant Girl", "Baby")."""
    return given_name is not None and _PLACEHOLDER.match(" ".join(given_name.split())) is not None


def check_changes(changes: Mapping[str, Any], where: str = "changes") -> dict[str, Any]:
    """The changes as column values, or `InvalidInput` naming the first bad field."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in COLUMNS:
            raise InvalidInput(f"{where}.{name}", f"not a demographic field; known: {', '.join(COLUMNS)}")
        checked[COLUMNS[name]] = None if value is None else _check(f"{where}.{name}", name, value)
    return checked


def _check(field: str, name: str, value: Any) -> Any:
    if name == "birth_date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(field, "not a date (YYYY-MM-DD)") from None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must be non-empty text, or null to clear it")
    text = value.strip()
    limit = patients.c[COLUMNS[name]].type.length  # type: ignore[attr-defined]
    if len(text) > limit:
        raise InvalidInput(field, f"longer than {limit} characters")
    if name == "birth_sex" and text not in BIRTH_SEXES:
        raise InvalidInput(field, f"must be one of {', '.join(BIRTH_SEXES)}")
    if name == "email" and not _EMAIL.match(text):
        raise InvalidInput(field, "not an email address")
    if name == "zip" and not _ZIP.match(text):
        raise InvalidInput(field, "not a postal code")
    if name == "cell_phone" and not _PHONE.match(text):
        raise InvalidInput(field, "not a phone number")
    return text


def apply_changes(conn: Connection, patient_id: str, changes: Mapping[str, Any]) -> list[str]:
    """Store checked `changes` (from `check_changes`); returns the vocabulary names whose value really changed."""
    columns = [patients.c[column] for column in changes]
    current = conn.execute(select(*columns).where(patients.c.id == patient_id)).first() if columns else None
    if columns and current is None:
        raise NotFound("patient", patient_id)
    changed = {column: value for (column, value), old in zip(changes.items(), current or (), strict=False)
               if value != old}
    if not changed:
        return []
    values = dict(changed)
    if "email" in changed:
        values["email_confirmed_personal"] = False
    if "given_name" in changed:  # a newborn named at last ("Baby Girl" -> "Nina") is no longer a placeholder
        values["name_is_placeholder"] = is_placeholder_name(changed["given_name"])
    conn.execute(update(patients).where(patients.c.id == patient_id).values(**values))
    if "birth_date" in changed:  # open PINs' lookup digests were keyed on the old date: checked one by one now
        conn.execute(update(credentials).where(
            (credentials.c.patient_id == patient_id) & (credentials.c.kind == "pin") & credentials.c.lookup.is_not(None)
            & credentials.c.used_at.is_(None) & credentials.c.revoked_at.is_(None)).values(lookup=None))
    names = {column: name for name, column in COLUMNS.items()}
    return [names[column] for column in changed]
