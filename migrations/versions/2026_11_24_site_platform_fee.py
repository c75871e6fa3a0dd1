"""a site's own platform fee rate

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24 18:34:54.034847
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platform_fee_rate', csms.db.Money(precision=18, scale=6), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('platform_fee_rate')

