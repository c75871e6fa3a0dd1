"""Builders for OCPP payloads and stored rows, overridable per test: ``boot16(vendor="X")``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from chargepoints import admin
from chargepoints.model import TokenStatus
from csms.bootstrap import System
from csms.passwords import hash_password


def iso(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")


def boot16(**overrides: Any) -> dict[str, Any]:
    return {"chargePointVendor": "ACME", "chargePointModel": "Fast-22", **overrides}


def boot201(**overrides: Any) -> dict[str, Any]:
    return {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "Fast-22"}, **overrides}


def start16(**overrides: Any) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "idTag": "TAG-1",
        "meterStart": 1000,
        "timestamp": "2026-11-24T10:00:00Z",
        **overrides,
    }


def meter16(transaction_id: int | None, wh: float, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": iso(),
                "sampledValue": [
                    {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                    {"value": "16.1", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
                ],
            }
        ],
        **overrides,
    }
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload


def tx_event(event_type: str, tx_id: str, seq_no: int, **overrides: Any) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "timestamp": iso(),
        "triggerReason": {
            "Started": "Authorized",
            "Updated": "MeterValuePeriodic",
            "Ended": "StopAuthorized",
        }[event_type],
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": tx_id},
        **overrides,
    }


def energy(wh: float, at: str | None = None, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    return [
        {
            "timestamp": at or iso(),
            "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register", "context": context}],
        }
    ]


def mid_day_zone(now: datetime) -> ZoneInfo:
    """A fixed-offset zone where it is about noon, so a time a few hours on stays in the day."""
    offset = (12 - now.hour + 12) % 24 - 12  # -12 .. 11 hours ahead of UTC
    return ZoneInfo(f"Etc/GMT{-offset:+d}")  # the Etc names count the other way


async def a_station(
    system: System, station_id: str, *, password: str | None = None, **overrides: Any
) -> None:
    spec = admin.StationSpec(station_id, hash_password(password) if password else None, **overrides)
    await admin.put_station(spec, uow=system.uow(), clock=system.clock)


async def a_token(system: System, token: str, **overrides: Any) -> None:
    spec = admin.TokenSpec(token, **{"status": TokenStatus.ACCEPTED, **overrides})
    await admin.put_token(spec, uow=system.uow(), clock=system.clock)
