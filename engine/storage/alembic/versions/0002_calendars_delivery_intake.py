"""Calendars (site hours, closures, holidays), outbox delivery state, timer outcomes, event intake.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:13:09.867042
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_events',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_intake_events'))
    )
    op.create_table('site_closures',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_closures_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', 'day', name=op.f('pk_site_closures'))
    )
    op.create_table('site_hours',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_hours_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', 'weekday', 'opens', name=op.f('pk_site_hours'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opening_hours', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sending_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivery_ref', sa.String(length=500), nullable=True))
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('subdivision', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('from_address', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('recipient_daily_cap', sa.Integer(), nullable=True))

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_column('detail')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('recipient_daily_cap')
        batch_op.drop_column('from_address')
        batch_op.drop_column('subdivision')
        batch_op.drop_column('country')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_column('delivery_ref')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('sending_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('opening_hours')

    op.drop_table('site_hours')
    op.drop_table('site_closures')
    op.drop_table('intake_events')
