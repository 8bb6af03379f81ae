"""The sites each staff user works at (none: every site).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_user_sites",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_staff_user_sites_site_id_sites")),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"],
                                name=op.f("fk_staff_user_sites_user_id_staff_users")),
        sa.PrimaryKeyConstraint("user_id", "site_id", name=op.f("pk_staff_user_sites")),
    )


def downgrade() -> None:
    op.drop_table("staff_user_sites")
