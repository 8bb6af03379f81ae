"""A patient's fields that are the practice's own, not the EHR's: the PCP, the responsible provider, "email
confirmed correct and personal", and whether the name is a newborn's placeholder.

Demographic fields (names, birth date, birth sex, zip, email, cell phone) change through event intake instead, so a
change to a field the invite workflow requires re-triggers it as an EHR change would (`engine.enrollments.intake`).
Each change is audited with the names of the fields, never their values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from engine.actors import ActorRef
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.errors import InvalidInput, NotFound
from engine.storage.tables import patients, providers

PRACTICE_FIELDS = ("pcp_id", "responsible_provider_id", "email_confirmed_personal", "name_is_placeholder")


def check_practice_fields(conn: Connection, changes: dict[str, Any]) -> None:
    """`InvalidInput` naming the first field that is not one of ours or has a wrong value; writes nothing."""
    for name, value in changes.items():
        if name not in PRACTICE_FIELDS:
            raise InvalidInput(name, f"not one of {', '.join(PRACTICE_FIELDS)}")
        if name.endswith("_id") and value is not None and conn.execute(
                select(providers.c.id).where(providers.c.id == value)).first() is None:
            raise InvalidInput(name, f"no provider '{value}'")
        if not name.endswith("_id") and not isinstance(value, bool):
            raise InvalidInput(name, "true or false")


def update_practice_fields(conn: Connection, now: datetime, actor: ActorRef, patient_id: str,
                           changes: dict[str, Any], *, reason: str | None = None) -> list[str]:
    """Apply the practice's own fields; returns the names that really changed. `reason`: why, for the history."""
    check_practice_fields(conn, changes)
    row = conn.execute(select(*[patients.c[n] for n in PRACTICE_FIELDS]).where(patients.c.id == patient_id)
                       .with_for_update()).first()
    if row is None:
        raise NotFound("patient", patient_id)
    changed = {n: v for n, v in changes.items() if row._mapping[n] != v}
    if changed:
        conn.execute(update(patients).where(patients.c.id == patient_id).values(**changed))
        append_to_subject(conn, about_subject("patient", patient_id, now, actor, "patient_updated",
                                              inputs={"fields": sorted(changed)}, reason=reason))
    return sorted(changed)
