"""On PostgreSQL the planner knows the names finely enough to walk their index for a rare prefix.

A search by name prefix (engine.people.finding) asks for the first 50 patients in id order whose lowered name starts
with the prefix. PostgreSQL weighs two plans: a range of the name's index, then a sort of what it found; or a walk of
the patients in id order, keeping the matches, until 50 are kept. It estimates how many patients match from a
histogram of the lowered names with 100 bins (the default statistics target). A prefix such as "fam1234" matches a
few dozen of 100,000 patients, but whenever one bin's bound falls inside its range the estimate is a whole bin, 1 %
of the table: the planner then expects 50 matches within the first 5 % of the walk in id order, takes it, and reads
the whole table (tests/engine/test_name_search_plans.py failed one run in four that way).

With 1,000 bins for each lowered name a bin is 0.1 %, and the walk in id order only wins for prefixes that really
are common, where it is the faster plan. The price is ANALYZE's sample of the patients table: 300,000 rows instead
of 30,000. SQLite chooses its index by the query's shape (engine.people.finding): nothing changes there.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NAMES = ("ix_patients_family_name", "ix_patients_given_name")
TARGET = 1000


def _statistics(target: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for index in NAMES:  # the index's one column is its expression, lower(name)
        op.execute(f"ALTER INDEX {index} ALTER COLUMN 1 SET STATISTICS {target}")


def upgrade() -> None:
    _statistics(TARGET)


def downgrade() -> None:
    _statistics(-1)  # back to the server's default_statistics_target
