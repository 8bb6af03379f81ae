"""Name search on PostgreSQL walks an index: lower(name) indexed with text_pattern_ops.

Staff find patients by a name's prefix, any case: `lower(family_name) LIKE 'doe%'` (engine.people.finding). A
plain index on lower(name) serves that only where the database's collation is C: under any other (C.UTF-8 and
en_US.UTF-8 included) PostgreSQL cannot turn the LIKE into a range of the index and reads the whole patients
table. The text_pattern_ops operator class compares byte by byte whatever the collation, so the prefix becomes an
index range; it answers equality too, and no query orders patients by lower(name). So on PostgreSQL both indexes
are rebuilt under the same names with that class. SQLite compares bytes already, and its search is a range on the
index (engine.people.finding): nothing changes there. No extension is needed (a substring search would need pg_trgm,
which only a superuser can create; the search is by prefix).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 01:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NAMES = (("ix_patients_family_name", "family_name"), ("ix_patients_given_name", "given_name"))


def _rebuild(operator_class: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for index, column in NAMES:
        op.drop_index(index, table_name="patients")
        op.execute(f"CREATE INDEX {index} ON patients (lower({column}){operator_class})")


def upgrade() -> None:
    _rebuild(" text_pattern_ops")


def downgrade() -> None:
    _rebuild("")
