"""charging profiles

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-24 12:37:58.563146
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0008'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('charging_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('stack_level', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charging_profiles'))
    )
    with op.batch_alter_table('charging_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charging_profiles_station_id_status'), ['station_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('charging_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charging_profiles_station_id_status'))

    op.drop_table('charging_profiles')
