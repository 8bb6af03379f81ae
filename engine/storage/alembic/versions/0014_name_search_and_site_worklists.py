"""Name search on PostgreSQL walks an index; one site's worklists walk an index of that site's enrollments.

Staff find patients by a name's prefix, any case: `lower(family_name) LIKE 'doe%'` (engine.people.finding). A
plain index on lower(name) serves that only where the database's collation is C: under any other (C.UTF-8 and
en_US.UTF-8 included) PostgreSQL cannot turn the LIKE into a range of the index and reads the whole patients
table. The text_pattern_ops operator class compares byte by byte whatever the collation, so the prefix becomes an
index range; it answers equality too, and no query orders patients by lower(name). So on PostgreSQL both indexes
are rebuilt under the same names with that class. SQLite compares bytes already, and its search is a range on the
index (engine.people.finding): nothing changes there. No extension is needed (a substring search would need pg_trgm,
which only a superuser can create; the search is by prefix).

A site's worklist (invites waiting, households part-registered) walked every waiting enrollment of the practice in
order and kept those whose patient is at the site: at a million enrollments (tests/practice_at_scale.py, 64,000
invites waiting) 185 ms for a site with none, 0.9 ms now. Enrollments now carry their subject's site (copied from
the patient or household here, and when one starts), indexed (site, workflow, version, state, updated_at): each of
the site's branches is a walk of its own first rows. About 10 s at a million enrollments on SQLite, once.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NAMES = (("ix_patients_family_name", "family_name"), ("ix_patients_given_name", "given_name"))
SITE_WAITING = ["site_id", "workflow_id", "workflow_version", "state", "updated_at"]


def _rebuild_names(operator_class: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for index, column in NAMES:
        op.drop_index(index, table_name="patients")
        op.execute(f"CREATE INDEX {index} ON patients (lower({column}){operator_class})")


def upgrade() -> None:
    _rebuild_names(" text_pattern_ops")
    op.add_column("enrollments", sa.Column("site_id", sa.String(length=64), nullable=True))
    for subject, column in (("patients", "patient_id"), ("households", "household_id")):
        op.execute(f"UPDATE enrollments SET site_id = {subject}.site_id FROM {subject} "  # noqa: S608 - constants
                   f"WHERE {subject}.id = enrollments.{column}")
    op.create_index("ix_enrollments_site_waiting", "enrollments", SITE_WAITING)


def downgrade() -> None:
    op.drop_index("ix_enrollments_site_waiting", table_name="enrollments")
    op.drop_column("enrollments", "site_id")
    _rebuild_names("")
