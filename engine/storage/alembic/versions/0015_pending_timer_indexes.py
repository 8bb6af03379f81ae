"""The timers' two indexes hold pending timers only: a timer settled by the sweep leaves them, and nothing replaces it.

Every read of `timers` that needs an index asks for pending ones (`status = 'pending'`, written as a literal so that
the planner can match it to the index's condition): the sweep's claim (due first), an enrollment's pending timers
(the enrollment page, migrations, simulation), the soonest due per waiting enrollment, the cancellation of a
state's timers, and the operations page's counts. With `status` as the indexes' first column, settling a timer
moved its entry in both (a delete and an insert each); now it only deletes them: two index insertions fewer per
expiry the sweep fires. The settled rows, which outnumber the pending ones as time goes on, no longer weigh on
either index. On PostgreSQL a settled timer's new row version is not inserted into them either (only into the
primary key's).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
# (name, columns before, columns after)
INDEXES = (("ix_timers_due", ["status", "due_at"], ["due_at", "id"]),
           ("ix_timers_enrollment", ["enrollment_id", "status", "due_at"], ["enrollment_id", "due_at"]))


def upgrade() -> None:
    for name, _, after in INDEXES:
        op.drop_index(name, table_name="timers")
        op.create_index(name, "timers", after, sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    for name, before, _ in INDEXES:
        op.drop_index(name, table_name="timers")
        op.create_index(name, "timers", before)
