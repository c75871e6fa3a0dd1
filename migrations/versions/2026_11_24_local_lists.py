"""local lists

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 12:36:45.272844
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('local_lists',
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('sent_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('station_id', name=op.f('pk_local_lists'))
    )


def downgrade() -> None:
    op.drop_table('local_lists')
