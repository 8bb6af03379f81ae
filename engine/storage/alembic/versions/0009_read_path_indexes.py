"""Indexes for every read a page, a worklist or the API makes, so each stays fast at a million enrollments.

An enrollment's pending timers are found by (enrollment_id, status, due_at): with (enrollment_id, status) alone
SQLite preferred ix_timers_due for its order and read every pending timer of the practice (~1 s at 100,000).
The others serve an enrollment's messages and credentials, a household's enrollments, a patient's households,
the worklists (longest waiting first, soonest expiry first), the newest enrollments, searches by site, birth date
and name prefix (any case), signing in by username (any case) and the history's time range and a staff user's history in order.
Building them on a large database takes a while, once; `engine.storage.migrations` then refreshes the planner's
statistics.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (name, table, columns): a string is a column, a TextClause an expression.
NEW: tuple[tuple[str, str, list[str | sa.TextClause]], ...] = (
    ("ix_portal_accounts_username", "portal_accounts", [sa.text("lower(username)")]),
    ("ix_patients_site", "patients", ["site_id", "id"]),
    ("ix_patients_birth_date", "patients", ["birth_date"]),
    ("ix_patients_family_name", "patients", [sa.text("lower(family_name)")]),
    ("ix_patients_given_name", "patients", [sa.text("lower(given_name)")]),
    ("ix_households_site", "households", ["site_id", "id"]),
    ("ix_household_members_patient", "household_members", ["patient_id"]),
    ("ix_enrollments_household", "enrollments", ["household_id"]),
    ("ix_enrollments_started", "enrollments", ["started_at"]),
    ("ix_enrollments_waiting", "enrollments", ["workflow_id", "workflow_version", "state", "updated_at"]),
    ("ix_credentials_enrollment", "credentials", ["enrollment_id"]),
    ("ix_outbox_enrollment", "outbox", ["enrollment_id"]),
    ("ix_audit_events_at", "audit_events", ["at"]),
    ("ix_audit_events_actor_id", "audit_events", ["actor_id", "id"]),
)
OPEN = sa.text("used_at IS NULL AND revoked_at IS NULL AND locked_at IS NULL")
# (name, table, columns before, columns after): the same name, one column more.
WIDER = (
    ("ix_timers_enrollment", "timers", ["enrollment_id", "status"], ["enrollment_id", "status", "due_at"]),
    ("ix_enrollments_workflow_state", "enrollments", ["workflow_id", "state"], ["workflow_id", "state", "started_at"]),
)


def upgrade() -> None:
    for name, table, _, after in WIDER:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, after)
    for name, table, columns in NEW:
        op.create_index(name, table, columns)
    # Only the credentials still usable: the PINs-expiring worklist walks them by expiry, and no other query can
    # mistake it for the (patient_id, kind) index.
    op.create_index("ix_credentials_open", "credentials", ["kind", "expires_at"], sqlite_where=OPEN,
                    postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_credentials_open", table_name="credentials")
    for name, table, _ in reversed(NEW):
        op.drop_index(name, table_name=table)
    for name, table, before, _ in WIDER:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before)
