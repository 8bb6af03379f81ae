"""Published workflow versions keep the templates they use and who published them, so a version loads from the
database whatever the designers' folder holds now.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_versions") as batch:
        # Versions published before this revision keep NULL: their templates are the folder's (checked by hash).
        batch.add_column(sa.Column("templates", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("published_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("file_name", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_versions") as batch:
        batch.drop_column("file_name")
        batch.drop_column("published_by")
        batch.drop_column("templates")
