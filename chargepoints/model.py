"""Domain values in OCPP 2.0.1 words; version adapters translate 1.6 onto these.

Only the standard library is used here, so the rules and services can be reasoned about (and
tested) without a database or a protocol stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

STATION_EVSE = 0
"""EVSE id that addresses the station as a whole (OCPP 1.6 connectorId 0)."""


class RegistrationStatus(StrEnum):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class ConnectorStatus(StrEnum):
    AVAILABLE = "Available"
    OCCUPIED = "Occupied"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class ChargingState(StrEnum):
    CHARGING = "Charging"
    EV_CONNECTED = "EVConnected"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    IDLE = "Idle"


class AuthorizationStatus(StrEnum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    UNKNOWN = "Unknown"
    CONCURRENT_TX = "ConcurrentTx"


class TokenStatus(StrEnum):
    """What an operator can set on a stored id token."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class TransactionEventType(StrEnum):
    STARTED = "Started"
    UPDATED = "Updated"
    ENDED = "Ended"


class TxState(StrEnum):
    ACTIVE = "Active"
    ENDED = "Ended"


class StationEventKind(StrEnum):
    """Notifications a station sends that are kept as a history, not as current state."""

    NOTIFY_EVENT = "NotifyEvent"
    SECURITY_EVENT = "SecurityEvent"
    FIRMWARE_STATUS = "FirmwareStatus"
    DIAGNOSTICS_STATUS = "DiagnosticsStatus"
    LOG_STATUS = "LogStatus"
    DATA_TRANSFER = "DataTransfer"
    PAYLOAD_REPAIRED = "PayloadRepaired"


class CommandStatus(StrEnum):
    """Where a CSMS-initiated command is; the last four are final."""

    QUEUED = "queued"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    STATION_OFFLINE = "station_offline"

    @property
    def final(self) -> bool:
        return self not in (CommandStatus.QUEUED, CommandStatus.SENT)


@dataclass(frozen=True, slots=True)
class IdToken:
    value: str
    type: str = "ISO14443"


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    status: AuthorizationStatus
    expires_at: datetime | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, normalised: energy in Wh, power in W, whatever the station sent."""

    timestamp: datetime
    measurand: str
    value: float
    unit: str | None = None
    phase: str | None = None
    location: str | None = None
    context: str | None = None


ENERGY_REGISTER = "Energy.Active.Import.Register"


@dataclass(frozen=True, slots=True)
class BootInfo:
    station_id: str
    vendor: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    reason: str | None = None
    ocpp_version: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BootDecision:
    status: RegistrationStatus
    interval: int
    current_time: datetime


@dataclass(frozen=True, slots=True)
class StatusReport:
    station_id: str
    evse_id: int
    connector_id: int
    status: ConnectorStatus
    timestamp: datetime
    charging_state: ChargingState | None = None
    error_code: str | None = None
    info: str | None = None
    vendor_error_code: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionStart:
    """A 1.6-style start: the station has no transaction id of its own yet.

    ``dedup_key`` identifies a resent message (same connector, token, meter and time), so a
    repeat returns the transaction already issued instead of creating a second one.
    """

    station_id: str
    evse_id: int
    connector_id: int
    id_token: IdToken
    meter_start_wh: int
    timestamp: datetime
    dedup_key: str
    reservation_id: int | None = None


@dataclass(frozen=True, slots=True)
class TransactionStop:
    station_id: str
    transaction_id: int
    meter_stop_wh: int
    timestamp: datetime
    reason: str | None = None
    id_token: IdToken | None = None
    samples: tuple[Sample, ...] = ()


@dataclass(frozen=True, slots=True)
class TransactionEvent:
    """A 2.0.1 TransactionEvent; 2.0.1 stations name their transactions themselves."""

    station_id: str
    event_type: TransactionEventType
    station_tx_id: str
    seq_no: int
    timestamp: datetime
    trigger_reason: str
    offline: bool = False
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: IdToken | None = None
    charging_state: ChargingState | None = None
    stopped_reason: str | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None
    samples: tuple[Sample, ...] = ()


@dataclass(frozen=True, slots=True)
class MeterReport:
    station_id: str
    evse_id: int
    samples: tuple[Sample, ...]
    transaction_id: int | None = None
    station_tx_id: str | None = None


@dataclass(frozen=True, slots=True)
class VariableReport:
    """One device-model attribute (2.0.1) or configuration key (1.6, component '')."""

    component: str
    variable: str
    value: str | None
    attribute_type: str = "Actual"
    component_instance: str = ""
    variable_instance: str = ""
    evse_id: int = 0
    connector_id: int = 0
    mutability: str | None = None
    data_type: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class StationEvent:
    station_id: str
    kind: StationEventKind
    code: str
    timestamp: datetime
    details: dict[str, object] = field(default_factory=dict)
