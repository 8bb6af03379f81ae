"""Anchors carry a seal: an HMAC of their hash under a key kept outside the database.

Anchors written before this have none; `engine.audit.verify` requires one on every anchor after the first sealed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_anchors", sa.Column("seal", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_anchors") as batch:
        batch.drop_column("seal")
