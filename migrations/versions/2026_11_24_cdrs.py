"""charge detail records and session review

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 14:27:17.600876
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cdrs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=True),
    sa.Column('id_token', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('tariff_id', sa.Integer(), nullable=True),
    sa.Column('tariff_version_id', sa.Integer(), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('started_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('meter_start_wh', sa.Integer(), nullable=True),
    sa.Column('meter_stop_wh', sa.Integer(), nullable=True),
    sa.Column('energy_wh', sa.Integer(), nullable=False),
    sa.Column('charging_s', sa.Integer(), nullable=False),
    sa.Column('idle_s', sa.Integer(), nullable=False),
    sa.Column('total_s', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('subtotal', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('tax', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('total', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('corrected_from_wh', sa.Integer(), nullable=True),
    sa.Column('correction_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tariff_version_id'], ['tariff_versions.id'], name=op.f('fk_cdrs_tariff_version_id_tariff_versions')),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_cdrs_transaction_id_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cdrs')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_cdrs_transaction_id'))
    )
    with op.batch_alter_table('cdrs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cdrs_ended_at'), ['ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cdrs_station_id_ended_at'), ['station_id', 'ended_at'], unique=False)

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_reasons', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('review_state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column('tariff_version_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_transactions_review_state'), ['review_state'], unique=False)
    _reasons_from_review_reason()


def _reasons_from_review_reason() -> None:
    """Sessions flagged before this revision keep their reason, now with a code."""
    transactions = sa.table(
        'transactions', sa.column('id', sa.Integer), sa.column('review_reason', sa.String),
        sa.column('review_reasons', sa.JSON),
    )
    bind = op.get_bind()
    flagged = bind.execute(
        sa.select(transactions.c.id, transactions.c.review_reason).where(transactions.c.review_reason.is_not(None))
    ).all()
    for tx_id, text in flagged:
        code = 'unknown_transaction' if text.startswith('StopTransaction') else 'unknown_token'
        bind.execute(
            transactions.update().where(transactions.c.id == tx_id).values(review_reasons=[{'code': code, 'text': text}])
        )


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_review_state'))
        batch_op.drop_column('tariff_version_id')
        batch_op.drop_column('review_state')
        batch_op.drop_column('review_reasons')

    with op.batch_alter_table('cdrs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cdrs_station_id_ended_at'))
        batch_op.drop_index(batch_op.f('ix_cdrs_ended_at'))

    op.drop_table('cdrs')
