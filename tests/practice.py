"""The practice most tests run in: one site, staff, providers, and patients covering each procedure's cases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, insert

from engine.storage.tables import household_members, households, patients, providers, sites, staff_users

START = "2026-03-02T14:00:00+00:00"  # the fake clock's first moment: a Monday afternoon, the site open


def seed_practice(db: Engine) -> None:
    """One site, staff users, providers, and patients covering each procedure's cases."""
    with db.begin() as conn:
        conn.execute(insert(sites).values(id="main", name="Maple Family Practice", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0100",
                                          specialist_office=False, go_live_on=date(2026, 1, 5)))
        conn.execute(insert(staff_users), [
            {"id": "ana", "name": "Ana Front Desk", "role": "staff", "linked_to_staff_record": True, "active": True},
            {"id": "bob", "name": "Bob New Hire", "role": "staff", "linked_to_staff_record": False, "active": True},
        ])
        conn.execute(insert(providers), [{"id": "dr-pcp", "name": "Dr. Pat Primary"},
                                         {"id": "dr-other", "name": "Dr. Oz Other"}])
        base = {"site_id": "main", "birth_sex": "F", "zip": "02139", "email_confirmed_personal": True,
                "cell_phone": None, "pcp_id": "dr-pcp", "responsible_provider_id": "dr-pcp",
                "portal_access_enabled": False, "portal_account_id": None, "name_is_placeholder": False}
        conn.execute(insert(patients), [
            {**base, "id": "p-jane", "given_name": "Jane", "family_name": "Doe", "birth_date": date(1980, 4, 1),
             "email": "jane@example.test"},
            {**base, "id": "p-noemail", "given_name": "Nora", "family_name": "Mail", "birth_date": date(1975, 1, 2),
             "email": None},
            {**base, "id": "c-ava", "given_name": "Ava", "family_name": "Lee", "birth_date": date(2018, 6, 1),
             "email": None},
            {**base, "id": "c-ben", "given_name": "Baby Girl", "family_name": "Lee", "birth_date": date(2021, 9, 9),
             "email": None, "name_is_placeholder": True},
            {**base, "id": "c-cal", "given_name": "Cal", "family_name": "Lee", "birth_date": date(2016, 2, 2),
             "email": None},
        ])
        conn.execute(insert(households).values(id="h-lee", site_id="main", guardian_given_name="Kim",
                                               guardian_family_name="Lee", guardian_email="kim@example.test",
                                               guardian_email_confirmed_personal=True, portal_account_id=None))
        conn.execute(insert(household_members), [
            {"household_id": "h-lee", "patient_id": "c-ava", "position": 1},
            {"household_id": "h-lee", "patient_id": "c-ben", "position": 2},
            {"household_id": "h-lee", "patient_id": "c-cal", "position": 3},
        ])
