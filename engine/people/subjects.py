"""Read the people an enrollment is about: the patient, or the household's guardian and children.

Plain frozen records, loaded once per transition on first use: guards and effects read these, and templates get
a minimal dict made from them, never a database row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, select

from engine.errors import NotFound
from engine.storage.direct import DirectStatement
from engine.storage.tables import enrollments, household_members, households, patients, sites


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    site_id: str
    given_name: str | None
    family_name: str | None
    name_is_placeholder: bool
    birth_date: date | None
    birth_sex: str | None
    zip: str | None
    email: str | None
    email_confirmed_personal: bool
    cell_phone: str | None
    pcp_id: str | None
    responsible_provider_id: str | None
    portal_access_enabled: bool
    portal_account_id: str | None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p) or self.id


@dataclass(frozen=True, slots=True)
class Household:
    id: str
    site_id: str
    guardian_given_name: str
    guardian_family_name: str
    guardian_email: str | None
    guardian_email_confirmed_personal: bool
    portal_account_id: str | None
    children: tuple[Patient, ...]


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    timezone: str
    portal_url: str
    phone: str | None
    specialist_office: bool
    go_live_on: date | None
    workflows: tuple[str, ...] | None  # the workflows it uses; None: every one (a site set up before sites chose)

    def uses(self, workflow_id: str) -> bool:
        return self.workflows is None or workflow_id in self.workflows

    def not_using(self, workflow_id: str, title: str) -> str:
        """Why nothing starts for `workflow_id` here, in staff's words."""
        used = ", ".join(self.workflows or ()) or "none"
        return (f"site '{self.name}' does not use the workflow '{title}' ({workflow_id}); it uses: {used}. "
                "An admin can add it to the site's workflows")


def _record(cls: Any, row: Any) -> Any:
    mapping = row._mapping
    return cls(**{name: mapping[name] for name in cls.__slots__})


# A transition's guards and effects read its patient (on first use): built once, run on the driver's cursor
# (`engine.storage.direct`), the columns in `Patient`'s field order.
_PATIENT = DirectStatement(select(*(patients.c[name] for name in Patient.__slots__))
                           .where(patients.c.id == bindparam("b_id")))


def load_patient(conn: Connection, patient_id: str) -> Patient:
    row = _PATIENT.first(conn, {"b_id": patient_id})
    if row is None:
        raise NotFound("patient", patient_id)
    return Patient(*row)


def load_household(conn: Connection, household_id: str) -> Household:
    found = load_households(conn, [household_id])
    if not found:
        raise NotFound("household", household_id)
    return found[0]


def load_households(conn: Connection, household_ids: Sequence[str]) -> list[Household]:
    """These households with their children, in the order given (unknown ids left out): two queries whatever
    their number, never a round per household."""
    ids = list(dict.fromkeys(household_ids))
    if not ids:
        return []
    rows = {r.id: r for r in conn.execute(select(households).where(households.c.id.in_(ids)))}
    children: dict[str, list[Patient]] = {}
    for member in conn.execute(
            select(patients, household_members.c.household_id.label("member_of"))
            .join(household_members, household_members.c.patient_id == patients.c.id)
            .where(household_members.c.household_id.in_(list(rows)))
            .order_by(household_members.c.household_id, household_members.c.position)):
        children.setdefault(member.member_of, []).append(_record(Patient, member))
    return [_household(rows[i], children.get(i, [])) for i in ids if i in rows]


def _household(row: Any, children: list[Patient]) -> Household:
    mapping = row._mapping
    return Household(
        id=mapping["id"], site_id=mapping["site_id"], guardian_given_name=mapping["guardian_given_name"],
        guardian_family_name=mapping["guardian_family_name"], guardian_email=mapping["guardian_email"],
        guardian_email_confirmed_personal=mapping["guardian_email_confirmed_personal"],
        portal_account_id=mapping["portal_account_id"], children=tuple(children))


# Prebuilt (engine.storage.direct): every enrollment read whose next step waits for go-live loads its site.
_SITE = DirectStatement(select(sites.c.id, sites.c.name, sites.c.timezone, sites.c.portal_url, sites.c.phone,
                               sites.c.specialist_office, sites.c.go_live_on, sites.c.workflows)
                        .where(sites.c.id == bindparam("b_id")))


def load_site(conn: Connection, site_id: str) -> Site:
    row = _SITE.first(conn, {"b_id": site_id})
    if row is None:
        raise NotFound("site", site_id)
    id_, name, timezone, portal_url, phone, specialist_office, go_live_on, workflows = row
    return Site(id_, name, timezone, portal_url, phone, specialist_office, go_live_on,
                tuple(workflows) if workflows is not None else None)


def site_id_of(conn: Connection, patient_id: str | None, household_id: str | None) -> str:
    """The site of an enrollment's subject (its household's, or its patient's)."""
    if household_id:
        site = conn.execute(select(households.c.site_id).where(households.c.id == household_id)).scalar_one()
    else:
        site = conn.execute(select(patients.c.site_id).where(patients.c.id == patient_id)).scalar_one()
    return str(site)


def enrollment_site_id(conn: Connection, enrollment_id: str) -> str:
    """The site of an enrollment's subject, from the enrollment's id (a message or timer knows only that)."""
    row = conn.execute(select(enrollments.c.patient_id, enrollments.c.household_id)
                       .where(enrollments.c.id == enrollment_id)).first()
    if row is None:
        raise NotFound("enrollment", enrollment_id)
    return site_id_of(conn, row.patient_id, row.household_id)
