"""smart charging: site loads, allocations, load history, charging needs, profile library

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 17:34:54.177031
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('charging_profile_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_charging_profile_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charging_profile_templates')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_charging_profile_templates_tenant_id'))
    )
    op.create_table('site_load_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('limit', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('allocated_a', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('measured_a', csms.db.Money(precision=18, scale=6), nullable=True),
    sa.Column('sessions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_load_samples_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_load_samples'))
    )
    with op.batch_alter_table('site_load_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_load_samples_site_id_at'), ['site_id', 'at'], unique=False)

    op.create_table('site_loads',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('max_import', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('dynamic_limit', csms.db.Money(precision=18, scale=6), nullable=True),
    sa.Column('dynamic_until', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('min_current_a', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_loads_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_loads'))
    )
    op.create_table('charging_needs',
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('departure_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('energy_wh', sa.Integer(), nullable=False),
    sa.Column('max_power_w', sa.Integer(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('updated_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_charging_needs_transaction_id_transactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_charging_needs'))
    )
    op.create_table('session_allocations',
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('limit_a', csms.db.Money(precision=18, scale=6), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('raised_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['charging_profiles.id'], name=op.f('fk_session_allocations_profile_id_charging_profiles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_session_allocations_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_session_allocations_transaction_id_transactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_session_allocations'))
    )
    with op.batch_alter_table('session_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_allocations_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('session_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_allocations_site_id'))

    op.drop_table('session_allocations')
    op.drop_table('charging_needs')
    op.drop_table('site_loads')
    with op.batch_alter_table('site_load_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_load_samples_site_id_at'))

    op.drop_table('site_load_samples')
    op.drop_table('charging_profile_templates')
