"""CSMS-initiated operations in OCPP 2.0.1's words, independent of a station's version.

The gateway translates each into the message of the station's protocol (csms/ocpp/translate.py),
so use cases and the API never branch on the version. Operations one version cannot express
(display messages on 1.6, say) are refused there, not here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from chargepoints.model import IdToken

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"


def new_request_id() -> int:
    """A positive id a station echoes in the messages that follow a request (remoteStartId,
    requestId). Random rather than counted, so it needs no shared counter across nodes and
    restarts; it stays within 31 bits because stations commonly store it as a signed int32."""
    return secrets.randbelow(2**31 - 1) + 1


class ResetKind(StrEnum):
    """Immediate = 1.6 Hard; OnIdle = 1.6 Soft (waits for sessions to end)."""

    IMMEDIATE = "Immediate"
    ON_IDLE = "OnIdle"


class OperationalStatus(StrEnum):
    OPERATIVE = "Operative"
    INOPERATIVE = "Inoperative"


class ReportBase(StrEnum):
    CONFIGURATION_INVENTORY = "ConfigurationInventory"
    FULL_INVENTORY = "FullInventory"
    SUMMARY_INVENTORY = "SummaryInventory"


class TriggerKind(StrEnum):
    """Messages both versions can be asked to send; 1.6 calls the last DiagnosticsStatusNotification."""

    BOOT_NOTIFICATION = "BootNotification"
    HEARTBEAT = "Heartbeat"
    STATUS_NOTIFICATION = "StatusNotification"
    METER_VALUES = "MeterValues"
    FIRMWARE_STATUS_NOTIFICATION = "FirmwareStatusNotification"
    LOG_STATUS_NOTIFICATION = "LogStatusNotification"


class AttributeType(StrEnum):
    ACTUAL = "Actual"
    TARGET = "Target"
    MIN_SET = "MinSet"
    MAX_SET = "MaxSet"


class MessagePriority(StrEnum):
    ALWAYS_FRONT = "AlwaysFront"
    IN_FRONT = "InFront"
    NORMAL_CYCLE = "NormalCycle"


class MessageState(StrEnum):
    """When a display message shows: only while the station is in this state."""

    CHARGING = "Charging"
    FAULTED = "Faulted"
    IDLE = "Idle"
    UNAVAILABLE = "Unavailable"


class MessageFormat(StrEnum):
    ASCII = "ASCII"
    HTML = "HTML"
    URI = "URI"
    UTF8 = "UTF8"


@dataclass(frozen=True, slots=True)
class VariableRef:
    """A device-model variable: a component (optionally on one EVSE/connector) and its variable.

    No ``attribute_type`` means the station's default, Actual.
    """

    component: str
    variable: str
    component_instance: str | None = None
    variable_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    attribute_type: AttributeType | None = None


@dataclass(frozen=True, slots=True)
class VariableValue:
    ref: VariableRef
    value: str


@dataclass(frozen=True, slots=True)
class DisplayMessage:
    id: int
    content: str
    priority: MessagePriority = MessagePriority.NORMAL_CYCLE
    format: MessageFormat = MessageFormat.UTF8
    language: str | None = None
    state: MessageState | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """Base of every operation; subclasses are plain values."""


@dataclass(frozen=True, slots=True)
class Reset(Operation):
    kind: ResetKind = ResetKind.ON_IDLE
    evse_id: int | None = None


@dataclass(frozen=True, slots=True)
class ClearCache(Operation):
    pass


@dataclass(frozen=True, slots=True)
class RemoteStart(Operation):
    """Ask the station to start a session for ``id_token``; ``remote_start_id`` comes back in the
    2.0.1 TransactionEvent, tying the session to this request (1.6 has no such id)."""

    id_token: IdToken
    remote_start_id: int
    evse_id: int | None = None


@dataclass(frozen=True, slots=True)
class RemoteStop(Operation):
    """Stop a session; 1.6 stations know it by our id, 2.0.1 stations by their own."""

    transaction_id: int
    station_tx_id: str


@dataclass(frozen=True, slots=True)
class UnlockConnector(Operation):
    evse_id: int
    connector_id: int = 1


@dataclass(frozen=True, slots=True)
class ChangeAvailability(Operation):
    """The whole station when ``evse_id`` is None, else that EVSE (or one of its connectors)."""

    status: OperationalStatus
    evse_id: int | None = None
    connector_id: int | None = None


@dataclass(frozen=True, slots=True)
class GetConfiguration(Operation):
    """1.6 configuration keys; none means all of them."""

    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeConfiguration(Operation):
    """One setting for either version: 1.6 stations get ``key``, 2.0.1 stations ``variable``.

    The two name the same setting differently (1.6 HeartbeatInterval is 2.0.1
    OCPPCommCtrlr.HeartbeatInterval), so a change meant for a mixed fleet carries both.
    """

    value: str
    key: str | None = None
    variable: VariableRef | None = None


@dataclass(frozen=True, slots=True)
class GetVariables(Operation):
    variables: tuple[VariableRef, ...]


@dataclass(frozen=True, slots=True)
class SetVariables(Operation):
    values: tuple[VariableValue, ...]


@dataclass(frozen=True, slots=True)
class GetBaseReport(Operation):
    """2.0.1 answers with NotifyReport messages carrying ``request_id``."""

    request_id: int
    report_base: ReportBase = ReportBase.FULL_INVENTORY


@dataclass(frozen=True, slots=True)
class TriggerMessage(Operation):
    message: TriggerKind
    evse_id: int | None = None
    connector_id: int | None = None


@dataclass(frozen=True, slots=True)
class DataTransfer(Operation):
    vendor_id: str
    message_id: str | None = None
    data: JsonValue = None


@dataclass(frozen=True, slots=True)
class SetDisplayMessage(Operation):
    message: DisplayMessage


@dataclass(frozen=True, slots=True)
class GetDisplayMessages(Operation):
    """2.0.1 answers with NotifyDisplayMessages carrying ``request_id``; no filter means all."""

    request_id: int
    ids: tuple[int, ...] = ()
    priority: MessagePriority | None = None
    state: MessageState | None = None


@dataclass(frozen=True, slots=True)
class ClearDisplayMessage(Operation):
    id: int
