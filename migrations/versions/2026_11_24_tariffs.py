"""tariffs, tenants and the audit log

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 14:24:46.371232
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_subject_at'), ['subject', 'at'], unique=False)

    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('name', name=op.f('uq_tenants_name'))
    )
    op.create_table('tariffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tariffs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariffs')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_tariffs_tenant_id'))
    )
    op.create_table('tariff_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True),
    sa.Column('evse_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(site_id IS NOT NULL AND station_id IS NULL AND evse_id IS NULL) OR (site_id IS NULL AND station_id IS NOT NULL)', name=op.f('ck_tariff_assignments_one_target')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_tariff_assignments_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_tariff_assignments_station_id_stations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name=op.f('fk_tariff_assignments_tariff_id_tariffs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_assignments')),
    sa.UniqueConstraint('target', name=op.f('uq_tariff_assignments_target'))
    )
    with op.batch_alter_table('tariff_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariff_assignments_tariff_id'), ['tariff_id'], unique=False)

    op.create_table('tariff_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('valid_from', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name=op.f('fk_tariff_versions_tariff_id_tariffs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_versions')),
    sa.UniqueConstraint('tariff_id', 'version', name=op.f('uq_tariff_versions_tariff_id'))
    )
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariff_versions_tariff_id_valid_from'), ['tariff_id', 'valid_from'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tariff_versions_tariff_id_valid_from'))

    op.drop_table('tariff_versions')
    with op.batch_alter_table('tariff_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tariff_assignments_tariff_id'))

    op.drop_table('tariff_assignments')
    op.drop_table('tariffs')
    op.drop_table('tenants')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_subject_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
