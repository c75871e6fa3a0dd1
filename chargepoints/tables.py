"""Tables of the charging domain; only the repository and queries select from them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

import csms.accounts.tables  # noqa: F401  (sites belong to tenants, cards to users)
import tariffs.tables  # noqa: F401  (sessions and records refer to tariff versions)
from csms.db import Money, UtcDateTime


class SiteRow(SQLModel, table=True):
    """A place with stations: its time zone prices tariff bands, its grid limit caps power."""

    __tablename__ = "sites"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    address: str | None = Field(default=None, max_length=255)
    latitude: float | None = None
    longitude: float | None = None
    time_zone: str = Field(default="UTC", max_length=64)
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id", ondelete="SET NULL", index=True)
    # {"mon": [["08:00", "20:00"]], ...} in the site's time zone; None: always open.
    opening_hours: dict[str, list[list[str]]] | None = Field(default=None, sa_type=JSON)
    photos: list[str] = Field(default_factory=list, sa_type=JSON)  # image URLs
    # The platform's share of each session here (an investor's site may have its own deal);
    # None: the server-wide CSMS_PLATFORM_FEE_RATE.
    platform_fee_rate: Decimal | None = Field(default=None, sa_type=Money)
    created_at: datetime = Field(sa_type=UtcDateTime)


class StationRow(SQLModel, table=True):
    __tablename__ = "stations"

    id: str = Field(primary_key=True, max_length=48)
    site_id: int | None = Field(default=None, foreign_key="sites.id", ondelete="SET NULL")
    password_hash: str | None = Field(default=None, max_length=255)
    registration_status: str = Field(default="Accepted", max_length=16)
    lenient: bool = False  # repair known vendor schema breaks instead of refusing (csms/ocpp/repair.py)
    vendor: str | None = Field(default=None, max_length=50)
    model: str | None = Field(default=None, max_length=50)
    serial_number: str | None = Field(default=None, max_length=50)
    firmware_version: str | None = Field(default=None, max_length=50)
    ocpp_version: str | None = Field(default=None, max_length=8)
    status: str | None = Field(default=None, max_length=16)
    error_code: str | None = Field(default=None, max_length=50)
    firmware_status: str | None = Field(default=None, max_length=40)
    diagnostics_status: str | None = Field(default=None, max_length=40)
    boot_info: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    last_boot_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)


class EvseRow(SQLModel, table=True):
    __tablename__ = "evses"
    __table_args__ = (UniqueConstraint("station_id", "evse_id"),)

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    evse_id: int
    max_power_w: int | None = None


class ConnectorRow(SQLModel, table=True):
    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("station_id", "evse_id", "connector_id"),)

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    evse_id: int
    connector_id: int
    status: str = Field(max_length=16)
    charging_state: str | None = Field(default=None, max_length=16)
    error_code: str | None = Field(default=None, max_length=50)
    info: str | None = Field(default=None, max_length=500)
    status_at: datetime = Field(sa_type=UtcDateTime)
    type: str | None = Field(default=None, max_length=20)
    max_power_w: int | None = None


class StatusHistoryRow(SQLModel, table=True):
    __tablename__ = "status_history"
    __table_args__ = (Index(None, "station_id", "timestamp"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    evse_id: int
    connector_id: int
    status: str = Field(max_length=16)
    charging_state: str | None = Field(default=None, max_length=16)
    error_code: str | None = Field(default=None, max_length=50)
    info: str | None = Field(default=None, max_length=500)
    vendor_error_code: str | None = Field(default=None, max_length=255)
    timestamp: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)


class IdTokenRow(SQLModel, table=True):
    __tablename__ = "id_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=255)
    type: str = Field(default="ISO14443", max_length=20)
    status: str = Field(default="Accepted", max_length=16)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    group_id: str | None = Field(default=None, max_length=255)
    master_pass: bool = False
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL", index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)


class TransactionRow(SQLModel, table=True):
    """One charging session. ``id`` is the identity column 1.6 stations get as transactionId;
    ``station_tx_id`` is the station's own name for it (2.0.1) or the 1.6 start's fingerprint."""

    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("station_id", "station_tx_id"),
        Index(None, "station_id", "state"),
        Index(None, "started_at"),
        Index(None, "review_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    station_tx_id: str = Field(max_length=64)
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = Field(default=None, max_length=255)
    stop_id_token: str | None = Field(default=None, max_length=255)
    state: str = Field(default="Active", max_length=8)
    charging_state: str | None = Field(default=None, max_length=16)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    meter_start_wh: int | None = None
    meter_stop_wh: int | None = None
    stop_reason: str | None = Field(default=None, max_length=40)
    remote_start_id: int | None = None
    last_seq_no: int | None = None
    offline: bool = False
    review_reason: str | None = Field(default=None, max_length=255)  # the reasons' words, in short
    review_reasons: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)  # code and text each
    review_state: str | None = Field(default=None, max_length=10)  # rules.review.ReviewState
    # Pinned at the start, so a later version never reprices the session. No foreign key: adding
    # one makes SQLite rebuild this table, and dropping the old one would cascade to its samples.
    tariff_version_id: int | None = None
    updated_at: datetime = Field(sa_type=UtcDateTime)

    @property
    def energy_wh(self) -> int | None:
        if self.meter_start_wh is None or self.meter_stop_wh is None:
            return None
        return self.meter_stop_wh - self.meter_start_wh


class CdrRow(SQLModel, table=True):
    """A charge detail record: what one ended session is billed, written once and never changed.

    The unique transaction id makes the record exist exactly once, whoever writes it first: the
    stop's handler, the sweep job or an operator's review. ``lines`` holds the itemised price with
    amounts as strings; ``corrected_from_wh`` keeps the measured energy when an operator corrected it.
    """

    __tablename__ = "cdrs"
    __table_args__ = (
        UniqueConstraint("transaction_id"),
        Index(None, "station_id", "ended_at"),
        Index(None, "ended_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: int = Field(foreign_key="transactions.id")
    station_id: str = Field(max_length=48)
    evse_id: int | None = None
    id_token: str | None = Field(default=None, max_length=255)
    driver_id: int | None = None
    tariff_id: int | None = None
    tariff_version_id: int | None = Field(default=None, foreign_key="tariff_versions.id")
    currency: str | None = Field(default=None, max_length=3)
    started_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime = Field(sa_type=UtcDateTime)
    meter_start_wh: int | None = None
    meter_stop_wh: int | None = None
    energy_wh: int
    charging_s: int
    idle_s: int
    total_s: int
    lines: list[dict[str, str | None]] = Field(default_factory=list, sa_type=JSON)
    subtotal: Decimal = Field(sa_type=Money)
    tax: Decimal = Field(sa_type=Money)
    total: Decimal = Field(sa_type=Money)
    corrected_from_wh: int | None = None
    correction_note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UtcDateTime)


class TransactionEventRow(SQLModel, table=True):
    """Every 2.0.1 TransactionEvent once: the unique key makes a resent event a no-op."""

    __tablename__ = "transaction_events"
    __table_args__ = (UniqueConstraint("station_id", "station_tx_id", "seq_no"),)

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    station_tx_id: str = Field(max_length=64)
    seq_no: int
    event_type: str = Field(max_length=8)
    trigger_reason: str = Field(max_length=40)
    offline: bool = False
    timestamp: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)


class MeterSampleRow(SQLModel, table=True):
    __tablename__ = "meter_samples"
    __table_args__ = (
        Index(None, "transaction_id", "timestamp"),
        Index(None, "station_id", "timestamp"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    transaction_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"))
    )
    station_id: str = Field(max_length=48)
    evse_id: int
    timestamp: datetime = Field(sa_type=UtcDateTime)
    measurand: str = Field(max_length=50)
    value: float
    unit: str | None = Field(default=None, max_length=20)
    phase: str | None = Field(default=None, max_length=8)
    location: str | None = Field(default=None, max_length=10)
    context: str | None = Field(default=None, max_length=30)


class StationVariableRow(SQLModel, table=True):
    """A device-model attribute (2.0.1 NotifyReport) or a 1.6 configuration key."""

    __tablename__ = "station_variables"
    __table_args__ = (
        UniqueConstraint(
            "station_id",
            "component",
            "component_instance",
            "evse_id",
            "connector_id",
            "variable",
            "variable_instance",
            "attribute_type",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    component: str = Field(max_length=50)
    component_instance: str = Field(default="", max_length=50)
    evse_id: int = 0
    connector_id: int = 0
    variable: str = Field(max_length=50)
    variable_instance: str = Field(default="", max_length=50)
    attribute_type: str = Field(default="Actual", max_length=8)
    value: str | None = Field(default=None, max_length=2500)
    mutability: str | None = Field(default=None, max_length=10)
    data_type: str | None = Field(default=None, max_length=20)
    unit: str | None = Field(default=None, max_length=16)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class StationEventRow(SQLModel, table=True):
    """Notifications kept as history: NotifyEvent, security events, firmware/log status."""

    __tablename__ = "station_events"
    __table_args__ = (Index(None, "station_id", "timestamp"),)

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(max_length=48)
    kind: str = Field(max_length=20)
    code: str = Field(max_length=100)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    timestamp: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)


class MessageLogRow(SQLModel, table=True):
    """Every OCPP frame in and out, for the operator; trimmed by a retention job."""

    __tablename__ = "ocpp_messages"
    __table_args__ = (Index(None, "station_id", "at"), Index(None, "at"))

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    station_id: str = Field(max_length=48)
    direction: str = Field(max_length=3)
    message_type: int | None = None
    unique_id: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=50)
    frame: str
    at: datetime = Field(sa_type=UtcDateTime)


class CommandRow(SQLModel, table=True):
    """Every CSMS-initiated command: who asked, what was sent, what the station answered."""

    __tablename__ = "commands"
    __table_args__ = (Index(None, "station_id", "created_at"), Index(None, "status"))

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(max_length=48)
    action: str = Field(max_length=50)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    requester: str = Field(max_length=100)
    status: str = Field(default="queued", max_length=16)
    response: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class StoredFileRow(SQLModel, table=True):
    """A file in the CSMS's store: firmware offered to stations, or a log a station uploaded.

    ``token`` is the unguessable part of the URL a station gets, since stations fetch and
    upload without our credentials.
    """

    __tablename__ = "stored_files"
    __table_args__ = (UniqueConstraint("token"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    name: str = Field(max_length=255)
    token: str = Field(max_length=64)
    station_id: str | None = Field(default=None, max_length=48)
    size: int = 0
    sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ReservationRow(SQLModel, table=True):
    """A reservation; ``id`` is the reservationId the station gets (both versions use ints)."""

    __tablename__ = "reservations"
    __table_args__ = (Index(None, "station_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(max_length=48)
    evse_id: int | None = None
    id_token: str = Field(max_length=255)
    group_id: str | None = Field(default=None, max_length=255)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    status: str = Field(default="Requested", max_length=12)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class LocalListRow(SQLModel, table=True):
    """The local authorisation list a station last accepted: its version and its entries, so
    the next differential update sends only what changed."""

    __tablename__ = "local_lists"

    station_id: str = Field(primary_key=True, max_length=48)
    version: int
    entries: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    sent_at: datetime = Field(sa_type=UtcDateTime)


class BulkJobRow(SQLModel, table=True):
    """One operation sent to many stations at once; each station's command is in the command log."""

    __tablename__ = "bulk_jobs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=50)
    requester: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UtcDateTime)


class BulkJobItemRow(SQLModel, table=True):
    """One station of a bulk job: the command it was sent, or (no command) why none could be."""

    __tablename__ = "bulk_job_items"
    __table_args__ = (UniqueConstraint("job_id", "station_id"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="bulk_jobs.id", ondelete="CASCADE")
    station_id: str = Field(max_length=48)
    command_id: int | None = Field(default=None, foreign_key="commands.id", ondelete="CASCADE")
    error: str | None = Field(default=None, max_length=500)


class ChargingProfileRow(SQLModel, table=True):
    """A charging profile as the operator defined it; ``id`` is the chargingProfileId sent."""

    __tablename__ = "charging_profiles"
    __table_args__ = (Index(None, "station_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(max_length=48)
    evse_id: int = 0
    purpose: str = Field(max_length=40)
    stack_level: int = 0
    definition: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="Requested", max_length=12)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
