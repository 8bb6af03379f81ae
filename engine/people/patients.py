"""Create the people the workflows are about: patients, and households of one guardian and their children.

Each function works in the caller's transaction (`conn`) and appends an audit row on the subject's own chain
("patient:<id>", "household:<id>"). The row names the fields that were given, never their values: the audit trail
is exported and read by auditors, and a birth date or an email address has no business there (as intake's
`demographics_updated`).

Bad input raises `InvalidInput` naming the field, prefixed by `where` when one is given ("line 4.birth_date"); a
missing site, provider, household or patient raises `NotFound`; an id already taken raises `AlreadyExists`. All
checks run before the first write, so a refusal leaves nothing behind. Field values are checked by
`engine.people.demographics`' rules, the same an EHR's change event meets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from engine.actors import ActorRef
from engine.audit.entry import about_subject
from engine.audit.trail import append_to_subject
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.people.demographics import check_changes, is_placeholder_name
from engine.storage.tables import household_members, households, patients, providers, sites

_ID = re.compile(r"^[A-Za-z0-9._-]+$")
# The id is part of the audit chain's key ("patient:<id>"), and audit_events.chain holds 64 characters.
_CHAIN_LENGTH = 64
# Our attribute names -> the demographic vocabulary's, so `check_changes` applies its rules to them.
_VOCABULARY = {"given_name": "first_name", "family_name": "last_name", "birth_date": "birth_date",
               "birth_sex": "birth_sex", "zip": "zip", "email": "email", "cell_phone": "cell_phone"}
_GUARDIAN_VOCABULARY = {"guardian_given_name": "first_name", "guardian_family_name": "last_name",
                        "guardian_email": "email"}


@dataclass(frozen=True, slots=True)
class NewPatient:
    """A patient to create. `responsible_provider_id` None means the PCP; `name_is_placeholder` None means detect it."""

    id: str
    site_id: str
    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    birth_sex: str | None = None  # F, M or UNK (US Core birth sex)
    zip: str | None = None
    email: str | None = None
    cell_phone: str | None = None
    pcp_id: str | None = None
    responsible_provider_id: str | None = None
    name_is_placeholder: bool | None = None
    email_confirmed_personal: bool = False


@dataclass(frozen=True, slots=True)
class NewHousehold:
    """A guardian's household; its children are added as members, in order."""

    id: str
    site_id: str
    guardian_given_name: str
    guardian_family_name: str
    guardian_email: str | None = None
    guardian_email_confirmed_personal: bool = False


def create_patient(conn: Connection, now: datetime, actor: ActorRef, new: NewPatient, where: str = "") -> None:
    """Insert a patient after checking every field; audited as `patient_created` with the names of the fields given."""
    _check_id(new.id, _field(where, "id"), "patient")
    values = _demographics(_VOCABULARY, {name: getattr(new, name) for name in _VOCABULARY}, where)
    # A day's slack: `now` is UTC, and east of Greenwich a baby born today has tomorrow's UTC date.
    if values["birth_date"] is not None and values["birth_date"] > now.date() + timedelta(days=1):
        raise InvalidInput(_field(where, "birth_date"), "is in the future")
    if new.email_confirmed_personal and values["email"] is None:
        raise InvalidInput(_field(where, "email_confirmed_personal"), "there is no email address to confirm")
    if _exists(conn, patients, patients.c.id == new.id):
        raise AlreadyExists("patient", new.id)
    _require(conn, sites, "site", new.site_id)
    responsible = new.responsible_provider_id or new.pcp_id
    for provider_id in dict.fromkeys(p for p in (new.pcp_id, responsible) if p is not None):
        _require(conn, providers, "provider", provider_id)
    placeholder = new.name_is_placeholder
    if placeholder is None:
        placeholder = is_placeholder_name(values["given_name"])
    conn.execute(insert(patients).values(
        id=new.id, site_id=new.site_id, **values, name_is_placeholder=placeholder,
        email_confirmed_personal=new.email_confirmed_personal, pcp_id=new.pcp_id,
        responsible_provider_id=responsible, portal_access_enabled=False, portal_account_id=None))
    _record(conn, now, actor, "patient", new.id, "patient_created", {"fields": _given(new)})


def create_household(conn: Connection, now: datetime, actor: ActorRef, new: NewHousehold,
                     members: Sequence[str] = (), where: str = "") -> None:
    """Insert a household, then add `members` in order; audited as `household_created` (field names only)."""
    _check_id(new.id, _field(where, "id"), "household")
    for name in ("guardian_given_name", "guardian_family_name"):
        value = getattr(new, name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(_field(where, name), "required: a household is named after its guardian")
    values = _demographics(_GUARDIAN_VOCABULARY, {name: getattr(new, name) for name in _GUARDIAN_VOCABULARY},
                           where)
    if new.guardian_email_confirmed_personal and values["guardian_email"] is None:
        raise InvalidInput(_field(where, "guardian_email_confirmed_personal"),
                           "there is no email address to confirm")
    if _exists(conn, households, households.c.id == new.id):
        raise AlreadyExists("household", new.id)
    _require(conn, sites, "site", new.site_id)
    for patient_id in members:  # before the first write: a bad member refuses the whole household
        _check_member(conn, new.id, new.site_id, patient_id, where)
    conn.execute(insert(households).values(
        id=new.id, site_id=new.site_id, **values,
        guardian_email_confirmed_personal=new.guardian_email_confirmed_personal, portal_account_id=None))
    _record(conn, now, actor, "household", new.id, "household_created", {"fields": _given(new)})
    for patient_id in members:
        add_household_member(conn, now, actor, new.id, patient_id, where=where)


def add_household_member(conn: Connection, now: datetime, actor: ActorRef, household_id: str, patient_id: str,
                         where: str = "") -> bool:
    """Add a patient after the household's last member; False (and nothing written) if already a member."""
    # Locking the household row makes concurrent additions to one household queue, so positions stay distinct.
    household_site = conn.execute(
        select(households.c.site_id).where(households.c.id == household_id).with_for_update()).scalar_one_or_none()
    if household_site is None:
        raise NotFound("household", household_id)
    _check_member(conn, household_id, household_site, patient_id, where)
    member = household_members.c
    if _exists(conn, household_members, (member.household_id == household_id) & (member.patient_id == patient_id)):
        return False
    last = conn.execute(select(func.max(member.position)).where(member.household_id == household_id)).scalar_one()
    position = (last or 0) + 1
    conn.execute(insert(household_members).values(household_id=household_id, patient_id=patient_id,
                                                  position=position))
    _record(conn, now, actor, "household", household_id, "household_member_added",
            {"patient_id": patient_id, "position": position})
    return True


# ----- checks ---------------------------------------------------------------------------------------------------


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _check_id(ident: object, field: str, subject_type: str) -> None:
    if not isinstance(ident, str) or not ident:
        raise InvalidInput(field, "required")
    limit = _CHAIN_LENGTH - len(subject_type) - 1
    if len(ident) > limit:
        raise InvalidInput(field, f"longer than {limit} characters")
    if not _ID.match(ident):
        raise InvalidInput(field, "only letters, digits, '.', '_' and '-' are allowed")


def _demographics(vocabulary: Mapping[str, str], given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """`given` checked by demographics' rules, keyed by our names; a bad one is reported under our name."""
    ours = {word: name for name, word in vocabulary.items()}
    try:
        checked = check_changes({vocabulary[name]: value for name, value in given.items()}, where="new")
    except InvalidInput as bad:
        word = bad.field.split(".", 1)[1]
        problem = str(bad).removeprefix(f"{bad.field}: ")
        raise InvalidInput(_field(where, ours[word]), problem) from None
    # One checked value per name given, in the same order (check_changes keys them by table column instead).
    return dict(zip(given, checked.values(), strict=True))


def _check_member(conn: Connection, household_id: str, household_site: str, patient_id: str, where: str) -> None:
    patient_site = conn.execute(select(patients.c.site_id).where(patients.c.id == patient_id)).scalar_one_or_none()
    if patient_site is None:
        raise NotFound("patient", patient_id)
    if patient_site != household_site:
        raise InvalidInput(_field(where, "patient_id"),
                           f"patient '{patient_id}' is at site '{patient_site}' but household '{household_id}' is "
                           f"at site '{household_site}': a household's children are at its site")


def _exists(conn: Connection, table: Table, condition: ColumnElement[bool]) -> bool:
    return conn.execute(select(1).select_from(table).where(condition).limit(1)).first() is not None


def _require(conn: Connection, table: Table, what: str, ident: str) -> None:
    if not _exists(conn, table, table.c.id == ident):
        raise NotFound(what, ident)


def _given(new: NewPatient | NewHousehold) -> list[str]:
    """The names of the fields given a value (flags only when set): what the audit row may say about them."""
    return sorted(f.name for f in fields(new)
                  if f.name != "id" and getattr(new, f.name) is not None and getattr(new, f.name) is not False)


def _record(conn: Connection, now: datetime, actor: ActorRef, subject_type: str, subject_id: str, action: str,
            inputs: dict[str, object]) -> None:
    append_to_subject(conn, about_subject(subject_type, subject_id, now, actor, action, inputs=inputs))


GUARDIAN_FIELDS = ("guardian_given_name", "guardian_family_name", "guardian_email", "guardian_email_confirmed_personal")


def update_household(conn: Connection, now: datetime, actor: ActorRef, household_id: str,
                     changes: Mapping[str, Any]) -> list[str]:
    """Correct the guardian's details; returns the fields that really changed. A new email address is no longer
    confirmed as personal (as for a patient), unless the same change confirms it."""
    unknown = sorted(set(changes) - set(GUARDIAN_FIELDS))
    if unknown:
        raise InvalidInput(unknown[0], f"not one of {', '.join(GUARDIAN_FIELDS)}")
    texts = {k: v for k, v in changes.items() if k != "guardian_email_confirmed_personal"}
    for name in ("guardian_given_name", "guardian_family_name"):
        if name in texts and not (isinstance(texts[name], str) and texts[name].strip()):
            raise InvalidInput(name, "required: a household is named after its guardian")
    values = _demographics({k: _GUARDIAN_VOCABULARY[k] for k in texts}, texts, "")
    row = conn.execute(select(households).where(households.c.id == household_id).with_for_update()).first()
    if row is None:
        raise NotFound("household", household_id)
    confirmed = changes.get("guardian_email_confirmed_personal")
    if confirmed is not None and not isinstance(confirmed, bool):
        raise InvalidInput("guardian_email_confirmed_personal", "true or false")
    changed = {k: v for k, v in values.items() if row._mapping[k] != v}
    if "guardian_email" in changed:
        changed["guardian_email_confirmed_personal"] = bool(confirmed) and changed["guardian_email"] is not None
    elif confirmed is not None and confirmed != row.guardian_email_confirmed_personal:
        if confirmed and row.guardian_email is None:
            raise InvalidInput("guardian_email_confirmed_personal", "there is no email address to confirm")
        changed["guardian_email_confirmed_personal"] = confirmed
    if changed:
        conn.execute(update(households).where(households.c.id == household_id).values(**changed))
        _record(conn, now, actor, "household", household_id, "household_updated", {"fields": sorted(changed)})
    return sorted(changed)
