"""alarms: faulted and offline stations, acknowledged and resolved

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 15:29:52.638877
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alarms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=True),
    sa.Column('connector_id', sa.Integer(), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('raised_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('open_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('acknowledged_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('resolved_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_alarms_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarms')),
    sa.UniqueConstraint('open_key', name=op.f('uq_alarms_open_key'))
    )
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarms_raised_at'), ['raised_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarms_station_id_raised_at'), ['station_id', 'raised_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarms_station_id_raised_at'))
        batch_op.drop_index(batch_op.f('ix_alarms_raised_at'))

    op.drop_table('alarms')
