"""Find patients and households for staff: by site, name prefix (any case) and birth date, a page at a time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from engine.storage.tables import household_members, households, patients


def find_patients(conn: Connection, *, site_id: str | None = None, family_name: str | None = None,
                  given_name: str | None = None, birth_date: date | None = None, limit: int = 50,
                  after: str | None = None) -> list[str]:
    """Patient ids matching every filter given (names case-insensitively, by prefix), in id order."""
    query = select(patients.c.id).order_by(patients.c.id).limit(limit)
    if site_id:
        query = query.where(patients.c.site_id == site_id)
    if family_name:
        query = query.where(func.lower(patients.c.family_name).startswith(family_name.lower(), autoescape=True))
    if given_name:
        query = query.where(func.lower(patients.c.given_name).startswith(given_name.lower(), autoescape=True))
    if birth_date:
        query = query.where(patients.c.birth_date == birth_date)
    if after:
        query = query.where(patients.c.id > after)
    return list(conn.execute(query).scalars())


def households_of(conn: Connection, patient_id: str) -> list[str]:
    return list(conn.execute(select(household_members.c.household_id).where(
        household_members.c.patient_id == patient_id).order_by(household_members.c.household_id)).scalars())


def list_households(conn: Connection, *, site_id: str | None = None, limit: int = 50,
                    after: str | None = None) -> list[str]:
    query = select(households.c.id).order_by(households.c.id).limit(limit)
    if site_id:
        query = query.where(households.c.site_id == site_id)
    if after:
        query = query.where(households.c.id > after)
    return list(conn.execute(query).scalars())
