"""OCPP 2.0.1 payloads to domain values and back (the domain already speaks 2.0.1's words)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from chargepoints.charging_needs import Need
from chargepoints.model import (
    AuthorizationResult,
    BootInfo,
    ChargingState,
    ConnectorStatus,
    IdToken,
    MeterReport,
    Sample,
    StatusReport,
    TransactionEvent,
    TransactionEventType,
    VariableReport,
)
from chargepoints.rules.metering import normalise
from csms.ocpp import timestamps
from csms.ocpp.errors import V201_CODES


def boot_info(station_id: str, kw: dict[str, Any]) -> BootInfo:
    station = kw["charging_station"]
    modem = station.get("modem") or {}
    extra = {k: str(v) for k, v in modem.items() if v is not None}
    return BootInfo(
        station_id,
        station["vendor_name"],
        station["model"],
        station.get("serial_number"),
        station.get("firmware_version"),
        kw["reason"],
        "2.0.1",
        extra,
    )


def status_report(station_id: str, kw: dict[str, Any]) -> StatusReport:
    return StatusReport(
        station_id,
        kw["evse_id"],
        kw["connector_id"],
        ConnectorStatus(kw["connector_status"]),
        timestamps.parse(kw["timestamp"], V201_CODES),
    )


def id_token(data: dict[str, Any]) -> IdToken:
    return IdToken(data["id_token"], data["type"])


def id_token_info(result: AuthorizationResult) -> dict[str, Any]:
    info: dict[str, Any] = {"status": result.status.value}
    if result.expires_at is not None:
        info["cache_expiry_date_time"] = timestamps.format(result.expires_at)
    if result.group_id is not None:
        info["group_id_token"] = {"id_token": result.group_id, "type": "Central"}
    return info


def samples(meter_values: Iterable[dict[str, Any]]) -> tuple[Sample, ...]:
    return tuple(_samples(meter_values))


def _samples(meter_values: Iterable[dict[str, Any]]) -> Iterator[Sample]:
    for meter_value in meter_values:
        at = timestamps.parse(meter_value["timestamp"], V201_CODES)
        for sv in meter_value["sampled_value"]:
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            unit_of_measure = sv.get("unit_of_measure") or {}
            raw = float(sv["value"]) * 10 ** int(unit_of_measure.get("multiplier", 0))
            value, unit = normalise(raw, unit_of_measure.get("unit"), measurand)
            yield Sample(at, measurand, value, unit, sv.get("phase"), sv.get("location"), sv.get("context"))


def meter_report(station_id: str, kw: dict[str, Any]) -> MeterReport:
    return MeterReport(station_id, kw["evse_id"], samples(kw["meter_value"]))


def transaction_event(station_id: str, kw: dict[str, Any]) -> TransactionEvent:
    info = kw["transaction_info"]
    evse = kw.get("evse") or {}
    charging = info.get("charging_state")
    return TransactionEvent(
        station_id=station_id,
        event_type=TransactionEventType(kw["event_type"]),
        station_tx_id=info["transaction_id"],
        seq_no=kw["seq_no"],
        timestamp=timestamps.parse(kw["timestamp"], V201_CODES),
        trigger_reason=kw["trigger_reason"],
        offline=bool(kw.get("offline", False)),
        evse_id=evse.get("id"),
        connector_id=evse.get("connector_id"),
        id_token=id_token(kw["id_token"]) if kw.get("id_token") else None,
        charging_state=ChargingState(charging) if charging else None,
        stopped_reason=info.get("stopped_reason"),
        remote_start_id=info.get("remote_start_id"),
        reservation_id=kw.get("reservation_id"),
        samples=samples(kw.get("meter_value") or []),
    )


def variable_reports(report_data: Iterable[dict[str, Any]]) -> Iterator[VariableReport]:
    for item in report_data:
        component, variable = item["component"], item["variable"]
        evse = component.get("evse") or {}
        characteristics = item.get("variable_characteristics") or {}
        for attribute in item["variable_attribute"]:
            yield VariableReport(
                component=component["name"],
                variable=variable["name"],
                value=attribute.get("value"),
                attribute_type=attribute.get("type", "Actual"),
                component_instance=component.get("instance", ""),
                variable_instance=variable.get("instance", ""),
                evse_id=evse.get("id", 0),
                connector_id=evse.get("connector_id", 0),
                mutability=attribute.get("mutability"),
                data_type=characteristics.get("data_type"),
                unit=characteristics.get("unit"),
            )


def charging_needs(needs: dict[str, Any]) -> Need | None:
    """An EV's charging needs, or None when it gives no departure time to plan around."""
    departure = needs.get("departure_time")
    ac, dc = needs.get("ac_charging_parameters"), needs.get("dc_charging_parameters")
    energy = (ac or {}).get("energy_amount", (dc or {}).get("energy_amount"))
    if departure is None or energy is None:
        return None
    max_power = (dc or {}).get("ev_max_power")
    return Need(
        timestamps.parse(departure, V201_CODES), int(energy), None if max_power is None else int(max_power)
    )
