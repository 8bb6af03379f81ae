"""Correct a patient who already exists from an import row (the import's update mode), through the path a staff
member's correction takes (`engine.enrollments.corrections`), so the same rules apply: a changed required field
re-triggers the invite workflow, a new email address must be confirmed as personal again, a changed birth date
takes the open PINs' lookup digests off (they were keyed on the old date), and each change is on the patient's
history with who made it (the import's actor) and why (the import's file and row).

A patient is matched by id (the MRN: `patient_id` in a CSV file, the Patient resource's `id` in a Bundle), the one
key an import creates patients by. A row corrects each field it gives a value; a blank cell, a column the file
does not have, an element the resource leaves out leave the field as it is: an import never clears a field (staff
do that on the patient's page). The row is compared with what is stored first, so a row that changes nothing
writes nothing at all (no history row, no event) and is reported unchanged. A patient is corrected at their own
site: a row naming another site is rejected (an import never moves a patient).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from engine.actors import ActorRef
from engine.enrollments.corrections import Correction, correct_patient_in
from engine.enrollments.intake import EventIntake
from engine.errors import InvalidInput
from engine.people.demographics import COLUMNS, check_changes
from engine.people.patients import NewPatient
from engine.people.walls import walls_of
from engine.storage.tables import patients

# NewPatient's attributes -> the demographic vocabulary the correction path takes, and back.
WORDS = {"given_name": "first_name", "family_name": "last_name", "birth_date": "birth_date",
         "birth_sex": "birth_sex", "zip": "zip", "email": "email", "cell_phone": "cell_phone"}
_OURS = {word: name for name, word in WORDS.items()}
_PRACTICE = ("pcp_id", "name_is_placeholder")
NO_CHANGE = Correction((), None)


def updatable(conn: Connection, actor: ActorRef, new: NewPatient) -> bool:
    """Whether `new` names a patient who exists and whom `actor` may correct. One beyond the actor's walls is
    treated as by a creation, which refuses an id that is taken."""
    site = conn.execute(select(patients.c.site_id).where(patients.c.id == new.id)).scalar()
    if site is None:
        return False
    sites = walls_of(actor)
    return sites is None or site in sites


def correct_from_row(conn: Connection, intake: EventIntake, now: datetime, actor: ActorRef, new: NewPatient,
                     reason: str) -> Correction:
    """Correct the patient `new.id` with the values the row gives; the changed fields are NewPatient's names.

    Raises `InvalidInput` naming NewPatient's field (a bad value, another site), before anything is written.
    """
    wanted = {word: getattr(new, name) for name, word in WORDS.items() if getattr(new, name) is not None}
    try:
        checked = check_changes(wanted, where="row")
    except InvalidInput as bad:
        word = bad.field.split(".", 1)[1]
        raise InvalidInput(_OURS[word], str(bad).removeprefix(f"{bad.field}: ")) from None
    birth_date = checked.get("birth_date")
    if birth_date is not None and birth_date > now.date() + timedelta(days=1):  # as a new patient's (a day's slack)
        raise InvalidInput("birth_date", "is in the future")
    stored = conn.execute(select(patients).where(patients.c.id == new.id)).one()._mapping
    if stored["site_id"] != new.site_id:
        raise InvalidInput("site_id", f"patient '{new.id}' is at another site: an import corrects a patient at "
                                      "their own site and never moves one")
    changes: dict[str, Any] = {word: checked[COLUMNS[word]] for word in wanted
                               if checked[COLUMNS[word]] != stored[COLUMNS[word]]}
    for name in _PRACTICE:
        value = getattr(new, name)
        # A renamed newborn's flag is set again from the new name unless the row says it: then the row's wins.
        if value is not None and (value != stored[name] or (name == "name_is_placeholder" and "first_name" in changes)):
            changes[name] = value
    if not changes:
        return NO_CHANGE
    done = correct_patient_in(conn, intake, now, actor, new.id, changes, origin="import", reason=reason, where="row")
    return Correction(tuple(sorted(_OURS.get(name, name) for name in done.changed)), done.event)
