"""PostgreSQL: the function through which an anchor locks the audit tables without the rights to change them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 23:35:00
"""

from __future__ import annotations

from alembic import op

from engine.storage.audit_locks import DROP_LOCK_FUNCTION_DDL, LOCK_FUNCTION_DDL

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LOCK_FUNCTION_DDL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_LOCK_FUNCTION_DDL)
