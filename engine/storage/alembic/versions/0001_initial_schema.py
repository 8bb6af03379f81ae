"""Initial schema: every table of engine/storage/tables.py, and the append-only audit triggers on PostgreSQL.

Revision ID: 0001
Revises: none
Create Date: 2026-11-22 02:39:41.141086
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.storage.audit_protection import PROTECT_DDL, UNPROTECT_DDL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_anchors',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('upto_event_id', sa.Integer(), nullable=False),
    sa.Column('chains', sa.Integer(), nullable=False),
    sa.Column('heads_digest', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchors'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('chain', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('enrollment_id', sa.String(length=64), nullable=True),
    sa.Column('from_state', sa.String(length=64), nullable=True),
    sa.Column('to_state', sa.String(length=64), nullable=True),
    sa.Column('trigger', sa.String(length=64), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('chain', 'seq', name='uq_audit_events_chain_seq')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_actor', ['actor_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_events_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('portal_accounts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=120), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_portal_accounts_username'))
    )
    op.create_table('providers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers'))
    )
    op.create_table('sites',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('portal_url', sa.String(length=500), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('specialist_office', sa.Boolean(), nullable=False),
    sa.Column('go_live_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites'))
    )
    op.create_table('staff_users',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('linked_to_staff_record', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users'))
    )
    op.create_table('workflow_versions',
    sa.Column('workflow_id', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('workflow_id', 'version', name=op.f('pk_workflow_versions'))
    )
    op.create_table('households',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('guardian_given_name', sa.String(length=120), nullable=False),
    sa.Column('guardian_family_name', sa.String(length=120), nullable=False),
    sa.Column('guardian_email', sa.String(length=320), nullable=True),
    sa.Column('guardian_email_confirmed_personal', sa.Boolean(), nullable=False),
    sa.Column('portal_account_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['portal_account_id'], ['portal_accounts.id'], name=op.f('fk_households_portal_account_id_portal_accounts')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_households_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households'))
    )
    op.create_table('patients',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('given_name', sa.String(length=120), nullable=True),
    sa.Column('family_name', sa.String(length=120), nullable=True),
    sa.Column('name_is_placeholder', sa.Boolean(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('birth_sex', sa.String(length=16), nullable=True),
    sa.Column('zip', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_confirmed_personal', sa.Boolean(), nullable=False),
    sa.Column('cell_phone', sa.String(length=32), nullable=True),
    sa.Column('pcp_id', sa.String(length=64), nullable=True),
    sa.Column('responsible_provider_id', sa.String(length=64), nullable=True),
    sa.Column('portal_access_enabled', sa.Boolean(), nullable=False),
    sa.Column('portal_account_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['pcp_id'], ['providers.id'], name=op.f('fk_patients_pcp_id_providers')),
    sa.ForeignKeyConstraint(['portal_account_id'], ['portal_accounts.id'], name=op.f('fk_patients_portal_account_id_portal_accounts')),
    sa.ForeignKeyConstraint(['responsible_provider_id'], ['providers.id'], name=op.f('fk_patients_responsible_provider_id_providers')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_patients_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients'))
    )
    op.create_table('enrollments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('workflow_id', sa.String(length=120), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('household_id', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('selected_children', sa.JSON(), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.Column('audit_head', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_enrollments_household_id_households')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_enrollments_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollments'))
    )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_enrollments_patient', ['patient_id'], unique=False)
        batch_op.create_index('ix_enrollments_workflow_state', ['workflow_id', 'state'], unique=False)

    op.create_table('household_members',
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_members_household_id_households')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_household_members_patient_id_patients')),
    sa.PrimaryKeyConstraint('household_id', 'patient_id', name=op.f('pk_household_members'))
    )
    op.create_table('credentials',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('enrollment_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('lookup', sa.String(length=64), nullable=True),
    sa.Column('do_not_send', sa.Boolean(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_credentials_enrollment_id_enrollments')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_credentials_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials')),
    sa.UniqueConstraint('lookup', name=op.f('uq_credentials_lookup'))
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index('ix_credentials_patient_kind', ['patient_id', 'kind'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('enrollment_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_outbox_enrollment_id_enrollments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_recipient', ['recipient', 'created_at'], unique=False)
        batch_op.create_index('ix_outbox_status', ['status', 'created_at'], unique=False)

    op.create_table('step_completions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('enrollment_id', sa.String(length=64), nullable=False),
    sa.Column('enrollment_version', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('step_id', sa.String(length=64), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=True),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_step_completions_enrollment_id_enrollments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_completions'))
    )
    with op.batch_alter_table('step_completions', schema=None) as batch_op:
        batch_op.create_index('ix_step_completions_enrollment', ['enrollment_id', 'enrollment_version'], unique=False)

    op.create_table('timers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('enrollment_id', sa.String(length=64), nullable=False),
    sa.Column('timer_id', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('armed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_timers_enrollment_id_enrollments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers'))
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_timers_enrollment', ['enrollment_id', 'status'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in PROTECT_DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UNPROTECT_DDL:
            op.execute(statement)
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index('ix_timers_enrollment')
        batch_op.drop_index('ix_timers_due')

    op.drop_table('timers')
    with op.batch_alter_table('step_completions', schema=None) as batch_op:
        batch_op.drop_index('ix_step_completions_enrollment')

    op.drop_table('step_completions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status')
        batch_op.drop_index('ix_outbox_recipient')

    op.drop_table('outbox')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('ix_credentials_patient_kind')

    op.drop_table('credentials')
    op.drop_table('household_members')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_workflow_state')
        batch_op.drop_index('ix_enrollments_patient')

    op.drop_table('enrollments')
    op.drop_table('patients')
    op.drop_table('households')
    op.drop_table('workflow_versions')
    op.drop_table('staff_users')
    op.drop_table('sites')
    op.drop_table('providers')
    op.drop_table('portal_accounts')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject')
        batch_op.drop_index('ix_audit_events_actor')

    op.drop_table('audit_events')
    op.drop_table('audit_anchors')
