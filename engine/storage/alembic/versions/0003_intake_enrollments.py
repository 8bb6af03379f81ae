"""Event intake remembers which enrollments an event started or moved, so a repeated delivery can name them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_events") as batch:
        batch.add_column(sa.Column("enrollment_ids", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake_events") as batch:
        batch.drop_column("enrollment_ids")
