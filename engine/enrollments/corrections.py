"""Correct a patient's details inside the caller's transaction: the one path a staff member's correction and an
import's update take, so the same rules apply to both.

The demographic fields go through event intake as a `demographics_changed` event, as an EHR's change would: a
changed required field re-triggers the invite workflow, a new email address must be confirmed as personal again,
a changed birth date takes the open PINs' lookup digests off (they were keyed on the old date), and the history
names the fields, never their values. Then the practice's own fields (PCP, placeholder name, ...), so a flag sent
explicitly wins over what a renamed newborn's new name says. Everything is checked before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.actors import ActorRef
from engine.enrollments.intake import EventIntake, IntakeEvent
from engine.ids import new_id
from engine.people import walls
from engine.people.demographics import COLUMNS, check_changes
from engine.people.practice_fields import check_practice_fields, update_practice_fields
from engine.people.subjects import load_patient


@dataclass(frozen=True, slots=True)
class Correction:
    changed: tuple[str, ...]  # the fields whose value really changed, sorted
    event: str | None  # what the demographic change did (e.g. "acted: ... invite re-sent"), when there was one


def correct_patient_in(conn: Connection, intake: EventIntake, now: datetime, actor: ActorRef, patient_id: str,
                       changes: Mapping[str, Any], *, origin: str = "staff", reason: str | None = None,
                       where: str = "changes") -> Correction:
    """Apply `changes` (demographic names as `engine.people.demographics.COLUMNS`, and the practice's own fields).

    `origin` starts the intake event's key ("staff", "import"); `reason` is recorded on the history's rows (an
    import names its file and row). Bad input raises `InvalidInput` naming `where`.field; a patient beyond the
    actor's walls is not found.
    """
    demographic = {k: v for k, v in changes.items() if k in COLUMNS}
    own = {k: v for k, v in changes.items() if k not in COLUMNS}
    check_changes(demographic, where=where)
    walls.see_patient(conn, actor, patient_id)
    load_patient(conn, patient_id)
    check_practice_fields(conn, own)
    changed: list[str] = []
    event = None
    if demographic:
        result = intake.receive_in(conn, IntakeEvent(
            f"{origin}:{actor.id}:{new_id()}", "demographics_changed", patient_id, demographic, source=actor.id,
            source_role=actor.role, reason=reason))
        changed += result.changed
        event = f"{result.outcome}: {result.detail}"
    if own:
        changed += update_practice_fields(conn, now, actor, patient_id, own, reason=reason)
    return Correction(tuple(sorted(changed)), event)
