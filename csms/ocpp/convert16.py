"""OCPP 1.6 payloads to domain values and back. The only module that knows a 1.6 connectorId n
is EVSE n / connector 1, and that connectorId 0 is the station itself."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chargepoints.model import (
    STATION_EVSE,
    AuthorizationResult,
    AuthorizationStatus,
    BootInfo,
    ChargingState,
    ConnectorStatus,
    IdToken,
    MeterReport,
    Sample,
    StatusReport,
    TransactionStart,
    TransactionStop,
)
from chargepoints.rules.metering import normalise
from csms.ocpp import timestamps
from csms.ocpp.errors import V16_CODES

_STATUS: dict[str, tuple[ConnectorStatus, ChargingState | None]] = {
    "Available": (ConnectorStatus.AVAILABLE, ChargingState.IDLE),
    "Preparing": (ConnectorStatus.OCCUPIED, ChargingState.EV_CONNECTED),
    "Charging": (ConnectorStatus.OCCUPIED, ChargingState.CHARGING),
    "SuspendedEV": (ConnectorStatus.OCCUPIED, ChargingState.SUSPENDED_EV),
    "SuspendedEVSE": (ConnectorStatus.OCCUPIED, ChargingState.SUSPENDED_EVSE),
    "Finishing": (ConnectorStatus.OCCUPIED, ChargingState.EV_CONNECTED),
    "Reserved": (ConnectorStatus.RESERVED, None),
    "Unavailable": (ConnectorStatus.UNAVAILABLE, None),
    "Faulted": (ConnectorStatus.FAULTED, None),
}
_BOOT_EXTRAS = ("charge_box_serial_number", "iccid", "imsi", "meter_type", "meter_serial_number")


def boot_info(station_id: str, kw: dict[str, Any]) -> BootInfo:
    extra = {k: str(kw[k]) for k in _BOOT_EXTRAS if kw.get(k) is not None}
    return BootInfo(
        station_id,
        kw["charge_point_vendor"],
        kw["charge_point_model"],
        kw.get("charge_point_serial_number"),
        kw.get("firmware_version"),
        None,
        "1.6",
        extra,
    )


def status_report(station_id: str, kw: dict[str, Any], now: datetime) -> StatusReport:
    """The timestamp is optional in 1.6; without one the report is as of its arrival."""
    status, charging = _STATUS[kw["status"]]
    connector = kw["connector_id"]
    error = kw["error_code"]
    return StatusReport(
        station_id,
        connector,
        0 if connector == STATION_EVSE else 1,
        status,
        timestamps.parse(kw["timestamp"], V16_CODES) if kw.get("timestamp") else now,
        None if connector == STATION_EVSE else charging,
        None if error == "NoError" else error,
        kw.get("info"),
        kw.get("vendor_error_code"),
    )


def id_tag_info(result: AuthorizationResult) -> dict[str, Any]:
    status = result.status
    if status is AuthorizationStatus.UNKNOWN:
        status = AuthorizationStatus.INVALID  # 1.6 has no "Unknown"
    info: dict[str, Any] = {"status": status.value}
    if result.expires_at is not None:
        info["expiry_date"] = timestamps.format(result.expires_at)
    if result.group_id is not None:
        info["parent_id_tag"] = result.group_id
    return info


def samples(meter_values: Iterable[dict[str, Any]]) -> tuple[Sample, ...]:
    """Numeric samples, energy in Wh and power in W; signed data has no number to keep."""
    out: list[Sample] = []
    for meter_value in meter_values:
        at = timestamps.parse(meter_value["timestamp"], V16_CODES)
        for sv in meter_value["sampled_value"]:
            if sv.get("format") == "SignedData":
                continue
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            try:
                raw = float(sv["value"])
            except ValueError:
                continue
            value, unit = normalise(raw, sv.get("unit"), measurand)
            out.append(
                Sample(at, measurand, value, unit, sv.get("phase"), sv.get("location"), sv.get("context"))
            )
    return tuple(out)


def meter_report(station_id: str, kw: dict[str, Any]) -> MeterReport:
    return MeterReport(
        station_id, kw["connector_id"], samples(kw["meter_value"]), transaction_id=kw.get("transaction_id")
    )


def transaction_start(station_id: str, kw: dict[str, Any]) -> TransactionStart:
    fingerprint = "|".join(
        str(kw.get(k)) for k in ("connector_id", "id_tag", "meter_start", "timestamp", "reservation_id")
    )
    return TransactionStart(
        station_id,
        kw["connector_id"],
        1,
        IdToken(kw["id_tag"]),
        kw["meter_start"],
        timestamps.parse(kw["timestamp"], V16_CODES),
        "16:" + hashlib.sha256(fingerprint.encode()).hexdigest()[:40],
        kw.get("reservation_id"),
    )


def transaction_stop(station_id: str, kw: dict[str, Any]) -> TransactionStop:
    data = samples(kw.get("transaction_data") or [])
    return TransactionStop(
        station_id,
        kw["transaction_id"],
        kw["meter_stop"],
        timestamps.parse(kw["timestamp"], V16_CODES),
        kw.get("reason", "Local"),
        IdToken(kw["id_tag"]) if kw.get("id_tag") else None,
        data,
    )
