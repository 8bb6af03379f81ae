"""A practice at a real practice's size, written straight into a migrated SQLite file with set-based SQL.

1,000,000 enrollments of the five shipped workflows (version 2, their real content hashes and states), 100,000 of
them waiting with a pending timer and 200,000 older timers settled; 200,000 patients (a tenth with a portal
account, 40,000 of them children of 20,000 households), PINs and links, messages (a few failed or held) and audit
rows. Enrollments and patients repeat in fixed patterns (`i % n`), so every figure is the same on every run.
Seeded through the driver with the journal off and the indexes built after the rows (a sort each, far faster
than a million inserts into each index); the file is then an ordinary PortalFlow database in WAL mode.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

ENROLLMENTS = 1_000_000
PATIENTS = 200_000
HOUSEHOLDS = 20_000  # each with two children: patients 0 .. 2*HOUSEHOLDS-1
NOW = "2026-03-02 14:00:00"  # tests/practice.py START, as SQLite stores times

PXP, REGENERATE, ONBOARDING = ("nextgen-pxp-portal-invites", "nextgen-regenerate-expired-pin",
                               "portal-invitation-reset-onboarding")
OP, SIBLINGS = "op-generate-pin-easy-button", "intellichart-pins-for-siblings"
FINAL = ("registered", "activated", "account_set_up")
WAITING = ("invited", "pending_registration", "partially_registered")
FIRST = ("not_invited", "not_enrolled", "access_disabled", "not_registered")
OURS = "id BETWEEN 'se0000000' AND 'se9999999'"  # not the few a caller may have started through the engine


def at(seconds: str) -> str:
    """SQL for the moment `seconds` (an SQL expression) after NOW, as SQLAlchemy stores an aware time on SQLite."""
    return f"strftime('%Y-%m-%d %H:%M:%f000', '{NOW}', ({seconds}) || ' seconds')"


def patient(i: str) -> str:
    return f"printf('sp%07d', {i})"


def enrollment(i: int) -> str:
    return f"se{i:07d}"


def site_of(i: str) -> str:
    """SQL for the site of patient `i`: one in ten at 'north', patient 999 alone at 'rare', the rest at 'main'."""
    return f"CASE WHEN {i} = 999 THEN 'rare' WHEN ({i} / 10) % 10 = 7 THEN 'north' ELSE 'main' END"


def seed(path: Path) -> None:
    """Fill the (migrated, empty but for tests/practice.py's rows) database at `path`."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-500000", "foreign_keys=OFF",
                       "temp_store=MEMORY"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("BEGIN")
        indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            db.execute(f"DROP INDEX {name}")
        db.execute("CREATE TEMP TABLE n (i INTEGER PRIMARY KEY)")
        db.execute("WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < ?) "
                   "INSERT INTO n SELECT i FROM r", (ENROLLMENTS - 1,))
        _people(db)
        _enrollments(db)
        _around_enrollments(db)
        for _, sql in indexes:
            db.execute(sql)
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()


def _people(db: sqlite3.Connection) -> None:
    children = 2 * HOUSEHOLDS
    # A child of every fourth household has a portal account, both of the next; and every tenth adult.
    account = (f"((i < {children} AND ((i / 2) % 4 = 1 OR ((i / 2) % 4 = 0 AND i % 2 = 1))) "
               f"OR (i >= {children} AND i % 10 = 3))")
    db.execute(f"INSERT INTO portal_accounts (id, created_at, must_change_password) "
               f"SELECT printf('sa%07d', i), {at('-86400 * (i % 700)')}, 0 FROM n WHERE i < {PATIENTS} AND {account}")
    db.execute(
        "INSERT INTO sites (id, name, timezone, portal_url, specialist_office) VALUES "
        "('north', 'North Clinic', 'America/Chicago', 'https://north.example.test', 0), "
        "('rare', 'Rare Clinic', 'UTC', 'https://rare.example.test', 0)")
    given = "CASE i % 8 " + " ".join(f"WHEN {n} THEN '{name}'" for n, name in enumerate(
        ("Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal"))) + " END"
    db.execute(
        "INSERT INTO patients (id, site_id, given_name, family_name, name_is_placeholder, birth_date, birth_sex, zip, "
        "email, email_confirmed_personal, pcp_id, responsible_provider_id, portal_access_enabled, portal_account_id) "
        f"SELECT {patient('i')}, {site_of('i')}, "
        f"{given}, 'Fam' || (i % 20000), 0, date('1940-01-01', (i % 30000) || ' days'), 'F', '02139', "
        f"printf('sp%07d@example.test', i), 1, 'dr-pcp', 'dr-pcp', 1, "
        f"CASE WHEN {account} THEN printf('sa%07d', i) END FROM n WHERE i < {PATIENTS}")
    db.execute("INSERT INTO households (id, site_id, guardian_given_name, guardian_family_name, guardian_email, "
               "guardian_email_confirmed_personal) SELECT printf('sh%06d', i), 'main', 'Kim', 'Fam' || i, "
               f"printf('sh%06d@example.test', i), 1 FROM n WHERE i < {HOUSEHOLDS}")
    db.execute("INSERT INTO household_members (household_id, patient_id, position) "
               f"SELECT printf('sh%06d', i / 2), {patient('i')}, 1 + i % 2 FROM n WHERE i < {children}")


def _enrollments(db: sqlite3.Connection) -> None:
    """Enrollments 0 .. 2H-1 are households' (two each); the others one of a patient's, by i % 3; i % 10 says
    how far each got: 0-7 finished, 8 waiting on the patient (a pending timer), 9 not started."""
    hashes = dict(db.execute("SELECT workflow_id, content_hash FROM workflow_versions WHERE version = 2"))
    households = 2 * HOUSEHOLDS
    workflow = (f"CASE WHEN i < {households} THEN (CASE i % 2 WHEN 0 THEN '{OP}' ELSE '{SIBLINGS}' END) "
                f"ELSE (CASE i % 3 WHEN 0 THEN '{PXP}' WHEN 1 THEN '{REGENERATE}' ELSE '{ONBOARDING}' END) END")
    household_state = ("CASE WHEN i % 10 < 6 THEN 'registered' WHEN i % 10 = 6 THEN 'pending_registration' "
                       "WHEN i % 10 = 7 THEN 'partially_registered' WHEN i % 10 = 8 THEN 'not_registered' "
                       "ELSE 'pin_expired' END")
    patient_state = ("CASE WHEN i % 10 < 8 THEN (CASE i % 3 WHEN 0 THEN 'activated' WHEN 1 THEN 'registered' "
                     "ELSE 'account_set_up' END) WHEN i % 10 = 8 THEN (CASE i % 3 WHEN 1 THEN 'pending_registration' "
                     "ELSE 'invited' END) ELSE (CASE i % 3 WHEN 0 THEN 'not_invited' WHEN 1 THEN 'not_enrolled' "
                     "ELSE 'access_disabled' END) END")
    content = "CASE w " + " ".join(f"WHEN '{w}' THEN '{h}'" for w, h in hashes.items()) + " END"
    db.execute(
        "INSERT INTO enrollments (id, workflow_id, workflow_version, content_hash, patient_id, household_id, site_id, "
        "state, version, selected_children, audit_seq, audit_head, started_at, updated_at) "
        f"SELECT printf('se%07d', i), w, 2, {content}, CASE WHEN i >= {households} THEN {patient(f'i % {PATIENTS}')} "
        f"END, CASE WHEN i < {households} THEN printf('sh%06d', i / 2) END, "
        f"CASE WHEN i < {households} THEN 'main' ELSE {site_of(f'i % {PATIENTS}')} END, "
        "s, 2, NULL, 1, 'head', t, t FROM "
        f"(SELECT i, {workflow} AS w, CASE WHEN i < {households} THEN {household_state} ELSE {patient_state} END AS s, "
        f"{at('-63072000 + i * 63')} AS t FROM n)")  # two years of starts, oldest first


def _around_enrollments(db: sqlite3.Connection) -> None:
    waiting = "('" + "', '".join(WAITING) + "')"
    db.execute(
        'INSERT INTO timers (enrollment_id, timer_id, "trigger", status, armed_at, due_at, settled_at, attempts) '
        f"SELECT id, 'timer', 'fire', CASE WHEN state IN {waiting} THEN 'pending' ELSE 'fired' END, started_at, "
        f"CASE WHEN state IN {waiting} THEN {at('(rowid * 7919) % 3456000 - 864000')} ELSE started_at END, "
        f"CASE WHEN state IN {waiting} THEN NULL ELSE started_at END, 0 FROM enrollments "
        f"WHERE {OURS} AND (state IN {waiting} OR rowid % 5 = 0)")
    first = "('" + "', '".join(FIRST) + "')"
    final = "('" + "', '".join(FINAL) + "')"
    db.execute(  # a PIN for each PIN enrollment, a link for each invitation; open ones expire within 40 days of now
        "INSERT INTO credentials (id, kind, purpose, enrollment_id, patient_id, secret_hash, lookup, do_not_send, "
        "failures, created_at, expires_at, used_at) "
        f"SELECT 'sc' || substr(id, 3), CASE WHEN workflow_id = '{REGENERATE}' THEN 'pin' ELSE 'link' END, "
        f"'registration', id, patient_id, 'x', CASE WHEN workflow_id = '{REGENERATE}' THEN NULL ELSE id END, 0, 0, "
        f"started_at, CASE WHEN state IN {final} THEN started_at ELSE {at('(rowid * 7919) % 3456000 - 864000')} END, "
        f"CASE WHEN state IN {final} THEN updated_at END FROM enrollments "
        f"WHERE {OURS} AND patient_id IS NOT NULL AND state NOT IN {first} "
        f"AND (state NOT IN {final} OR rowid % 10 = 1)")
    db.execute(  # the invitations, one in a hundred failed or held
        "INSERT INTO outbox (enrollment_id, message_id, channel, recipient, subject, body, status, created_at, "
        "opening_hours, attempts, sent_at) SELECT e.id, 'invitation', 'email', p.email, 'Your portal', '', "
        "CASE WHEN e.rowid % 199 = 0 THEN 'failed' WHEN e.rowid % 199 = 100 THEN 'held' ELSE 'sent' END, "
        f"e.started_at, 0, 1, e.started_at FROM enrollments e JOIN patients p ON p.id = e.patient_id "
        f"WHERE e.{OURS} AND e.workflow_id = '{PXP}' AND e.state != 'not_invited' "
        "AND (e.state != 'activated' OR e.rowid % 4 = 0)")
    db.execute(  # each enrollment's start, by one of three actors
        "INSERT INTO audit_events (chain, seq, prev_hash, hash, at, actor_id, actor_role, action, subject_type, "
        'subject_id, enrollment_id, to_state, outcome) SELECT id, 1, \'genesis\', \'hash\', started_at, '
        "CASE rowid % 3 WHEN 0 THEN 'ana' WHEN 1 THEN 'bob' ELSE 'system' END, 'staff', 'started', "
        "CASE WHEN patient_id IS NULL THEN 'household' ELSE 'patient' END, coalesce(patient_id, household_id), id, "
        f"state, 'ok' FROM enrollments WHERE {OURS} AND (rowid % 4 = 0 OR household_id IS NOT NULL)")
