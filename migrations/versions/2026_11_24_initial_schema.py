"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 11:21:52.233533
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import csms.db


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('id_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('expires_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('group_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('master_pass', sa.Boolean(), nullable=False),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_id_tokens')),
    sa.UniqueConstraint('token', name=op.f('uq_id_tokens_token'))
    )
    op.create_table('ocpp_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('message_type', sa.Integer(), nullable=True),
    sa.Column('unique_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('frame', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ocpp_messages'))
    )
    with op.batch_alter_table('ocpp_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ocpp_messages_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ocpp_messages_station_id_at'), ['station_id', 'at'], unique=False)

    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('name', name=op.f('uq_sites_name'))
    )
    op.create_table('station_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('timestamp', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_events'))
    )
    with op.batch_alter_table('station_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_events_station_id_timestamp'), ['station_id', 'timestamp'], unique=False)

    op.create_table('stations',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('registration_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('vendor', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('serial_number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('firmware_version', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('ocpp_version', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('firmware_status', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('diagnostics_status', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('boot_info', sa.JSON(), nullable=False),
    sa.Column('last_boot_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_stations_site_id_sites'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations'))
    )
    op.create_table('connectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('charging_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('info', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('status_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_connectors_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connectors')),
    sa.UniqueConstraint('station_id', 'evse_id', 'connector_id', name=op.f('uq_connectors_station_id'))
    )
    op.create_table('evses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=False),
    sa.Column('max_power_w', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_evses_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evses')),
    sa.UniqueConstraint('station_id', 'evse_id', name=op.f('uq_evses_station_id'))
    )
    op.create_table('station_variables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('component', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('component_instance', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('variable', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('variable_instance', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('attribute_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=2500), nullable=True),
    sa.Column('mutability', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('data_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('updated_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_station_variables_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_variables')),
    sa.UniqueConstraint('station_id', 'component', 'component_instance', 'evse_id', 'connector_id', 'variable', 'variable_instance', 'attribute_type', name=op.f('uq_station_variables_station_id'))
    )
    op.create_table('status_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('charging_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('info', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('vendor_error_code', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('timestamp', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_status_history_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_history'))
    )
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_history_station_id_timestamp'), ['station_id', 'timestamp'], unique=False)

    op.create_table('transaction_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('station_tx_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seq_no', sa.Integer(), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('trigger_reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('timestamp', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_transaction_events_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transaction_events')),
    sa.UniqueConstraint('station_id', 'station_tx_id', 'seq_no', name=op.f('uq_transaction_events_station_id'))
    )
    op.create_table('transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('station_tx_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=True),
    sa.Column('connector_id', sa.Integer(), nullable=True),
    sa.Column('id_token', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('stop_id_token', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('charging_state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('started_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', csms.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('meter_start_wh', sa.Integer(), nullable=True),
    sa.Column('meter_stop_wh', sa.Integer(), nullable=True),
    sa.Column('stop_reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('remote_start_id', sa.Integer(), nullable=True),
    sa.Column('last_seq_no', sa.Integer(), nullable=True),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('review_reason', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('updated_at', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_transactions_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions')),
    sa.UniqueConstraint('station_id', 'station_tx_id', name=op.f('uq_transactions_station_id'))
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transactions_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transactions_station_id_state'), ['station_id', 'state'], unique=False)

    op.create_table('meter_samples',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('evse_id', sa.Integer(), nullable=False),
    sa.Column('timestamp', csms.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('measurand', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('context', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_meter_samples_transaction_id_transactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_samples'))
    )
    with op.batch_alter_table('meter_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_samples_station_id_timestamp'), ['station_id', 'timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_meter_samples_transaction_id_timestamp'), ['transaction_id', 'timestamp'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('meter_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_samples_transaction_id_timestamp'))
        batch_op.drop_index(batch_op.f('ix_meter_samples_station_id_timestamp'))

    op.drop_table('meter_samples')
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_station_id_state'))
        batch_op.drop_index(batch_op.f('ix_transactions_started_at'))

    op.drop_table('transactions')
    op.drop_table('transaction_events')
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_history_station_id_timestamp'))

    op.drop_table('status_history')
    op.drop_table('station_variables')
    op.drop_table('evses')
    op.drop_table('connectors')
    op.drop_table('stations')
    with op.batch_alter_table('station_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_events_station_id_timestamp'))

    op.drop_table('station_events')
    op.drop_table('sites')
    with op.batch_alter_table('ocpp_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ocpp_messages_station_id_at'))
        batch_op.drop_index(batch_op.f('ix_ocpp_messages_at'))

    op.drop_table('ocpp_messages')
    op.drop_table('id_tokens')
