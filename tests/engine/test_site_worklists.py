"""Issue 15, item 14: an enrollment carries its subject's site, so one site's worklists walk that site's rows only.

Started through the engine, an enrollment records the site of its patient or household; revision 0014 gives every
enrollment already stored the same. A site's invites waiting and households part-registered are then the rows of
that site alone, for the site asked for and for a user kept to some sites (their plans at a million enrollments
are tests/engine/test_query_plans.py's). On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, select, text, update

from definitions.model import Actor
from engine.actors import EVERY_SITE, ActorRef
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.start import StartEnrollment
from engine.storage.database import make_engine
from engine.storage.migrations import upgrade
from engine.storage.tables import enrollments, household_members, households, patients, portal_accounts, sites

ANA = ActorRef("ana", "staff", Actor.STAFF)
PXP, EASY = "nextgen-pxp-portal-invites", "op-generate-pin-easy-button"


def _north(flow: Any) -> None:
    """A second site with a patient like Jane and a household like the Lees."""
    with flow.db.begin() as conn:
        conn.execute(insert(sites).values(id="north", name="North", timezone="America/Chicago",
                                          portal_url="https://north.example.test", phone="(617) 555-0111",
                                          specialist_office=False, go_live_on=date(2026, 1, 5)))
        jane = conn.execute(select(patients).where(patients.c.id == "p-jane")).one()._asdict()
        conn.execute(insert(patients), [{**jane, "id": "p-nell", "site_id": "north"},
                                        {**jane, "id": "c-nia", "site_id": "north", "email": None},
                                        {**jane, "id": "c-noa", "site_id": "north", "email": None}])
        conn.execute(insert(households).values(id="h-north", site_id="north", guardian_given_name="Nan",
                                               guardian_family_name="Lee", guardian_email="nan@example.test",
                                               guardian_email_confirmed_personal=True))
        conn.execute(insert(household_members), [{"household_id": "h-north", "patient_id": c, "position": n}
                                                 for n, c in enumerate(("c-nia", "c-noa"), 1)])


def _invite(flow: Any, patient_id: str) -> str:
    started = flow.start(StartEnrollment(PXP, ANA, patient_id=patient_id))
    flow.advance(AdvanceEnrollment(started.enrollment_id, "enroll_now", ANA,
                                   inputs={"confirm_required_fields": True, "enroll_now": "chart_banner"}))
    return str(started.enrollment_id)


def _part_registered(flow: Any, household_id: str, first_child: str) -> str:
    started = flow.start(StartEnrollment(EASY, ANA, household_id=household_id))
    with flow.db.begin() as conn:
        conn.execute(insert(portal_accounts).values(id=f"acct-{first_child}", must_change_password=False,
                                                     created_at=flow.services.clock.now()))
        conn.execute(update(patients).where(patients.c.id == first_child).values(
            portal_account_id=f"acct-{first_child}"))
    return str(started.enrollment_id)


def test_an_enrollment_records_the_site_of_its_patient_or_household_when_it_starts(flow: Any) -> None:
    _north(flow)
    started = {_invite(flow, "p-jane"): "main", _invite(flow, "p-nell"): "north",
               _part_registered(flow, "h-lee", "c-ava"): "main", _part_registered(flow, "h-north", "c-nia"): "north"}
    with flow.db.connect() as conn:
        stored = dict(conn.execute(select(enrollments.c.id, enrollments.c.site_id)).all())
    assert stored == started


def test_a_sites_worklists_hold_that_sites_rows_for_the_site_asked_for_and_for_a_user_kept_there(flow: Any) -> None:
    _north(flow)
    jane, nell = _invite(flow, "p-jane"), _invite(flow, "p-nell")
    lees, norths = _part_registered(flow, "h-lee", "c-ava"), _part_registered(flow, "h-north", "c-nia")
    lists = flow.worklists
    north_user = ActorRef("nat", "staff", Actor.STAFF, frozenset({"north"}))

    def invited(viewer: ActorRef = EVERY_SITE, **kwargs: Any) -> list[str]:
        return [row.enrollment_id for row in lists.invites_waiting(viewer=viewer, **kwargs)]

    def households(viewer: ActorRef = EVERY_SITE, **kwargs: Any) -> list[str]:
        return [row.enrollment_id for row in lists.households_part_registered(viewer=viewer, **kwargs)]

    assert invited() == [jane, nell]
    assert invited(site_id="north") == invited(viewer=north_user) == [nell]
    assert invited(site_id="main") == [jane]
    assert invited(site_id="main", viewer=north_user) == []  # asked for a site beyond the user's walls: nothing
    assert invited(site_id="nowhere") == []
    assert households() == [lees, norths]
    assert households(site_id="north") == households(viewer=north_user) == [norths]
    assert households(site_id="main", viewer=north_user) == []


def test_upgrading_to_revision_0014_gives_every_stored_enrollment_its_subjects_site(database_url: str) -> None:
    db = make_engine(database_url)
    try:
        upgrade(db, "0013")
        with db.begin() as conn:
            for site in ("main", "north"):
                conn.execute(text("INSERT INTO sites (id, name, timezone, portal_url, specialist_office) "
                                  "VALUES (:id, :id, 'UTC', 'https://portal.example.test', false)"), {"id": site})
            conn.execute(text("INSERT INTO patients (id, site_id, name_is_placeholder, email_confirmed_personal, "
                              "portal_access_enabled) VALUES ('p1', 'north', false, false, false), "
                              "('p2', 'main', false, false, false)"))
            conn.execute(text("INSERT INTO households (id, site_id, guardian_given_name, guardian_family_name, "
                              "guardian_email_confirmed_personal) VALUES ('h1', 'north', 'Kay', 'Lee', false)"))
            conn.execute(text(
                "INSERT INTO enrollments (id, workflow_id, workflow_version, content_hash, patient_id, household_id, "
                "state, version, audit_seq, audit_head, started_at, updated_at) VALUES "
                "('e1', 'w', 1, 'x', 'p1', NULL, 's', 1, 1, 'h', :t, :t), "
                "('e2', 'w', 1, 'x', 'p2', NULL, 's', 1, 1, 'h', :t, :t), "
                "('e3', 'w', 1, 'x', NULL, 'h1', 's', 1, 1, 'h', :t, :t)"), {"t": "2026-03-02 14:00:00"})
        upgrade(db)
        with db.connect() as conn:
            stored = dict(conn.execute(text("SELECT id, site_id FROM enrollments")).all())
        assert stored == {"e1": "north", "e2": "main", "e3": "north"}
    finally:
        db.dispose()
