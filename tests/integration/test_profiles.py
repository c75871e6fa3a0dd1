"""Charging profiles: stored, translated per version, installed or rejected, cleared, composite."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.builders import a_station, a_token, boot16, boot201, start16
from tests.conftest import LiveServer
from tests.wire import WireStation

PROFILES = "/api/v1/operator/stations/CP-1/charging-profiles"
DAILY = {
    "evse_id": 0,
    "purpose": "ChargingStationMaxProfile",
    "kind": "Recurring",
    "recurrency": "Daily",
    "start": "2026-11-24T00:00:00Z",
    "unit": "A",
    "periods": [{"start_s": 0, "limit": 32}, {"start_s": 61200, "limit": 16, "phases": 3}],
}


async def exchange(
    api: httpx.AsyncClient,
    station: WireStation,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    reply: dict[str, Any],
) -> tuple[httpx.Response, list[Any]]:
    request = asyncio.create_task(api.request(method, path, json=body))
    frame = await station.recv()
    await station.send_raw(f'[3,"{frame[1]}",{json.dumps(reply)}]')
    return await request, frame


async def test_1_6_station_max_profile_and_tx_profile(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    await a_token(server.system, "TAG-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        made, frame = await exchange(api, station, "POST", PROFILES, DAILY, {"status": "Accepted"})
        tx_id = (await station.ok("StartTransaction", start16()))["transactionId"]
        tx_body = {
            "evse_id": 1,
            "purpose": "TxProfile",
            "kind": "Relative",
            "transaction_id": tx_id,
            "unit": "W",
            "periods": [{"start_s": 0, "limit": 7400}],
        }
        refused, tx_frame = await exchange(api, station, "POST", PROFILES, tx_body, {"status": "Rejected"})
        listed = (await api.get(PROFILES)).json()
    assert made.status_code == 201 and made.json()["status"] == "Installed"
    assert frame[3] == {
        "connectorId": 0,
        "csChargingProfiles": {
            "chargingProfileId": made.json()["id"],
            "stackLevel": 0,
            "chargingProfileKind": "Recurring",
            "recurrencyKind": "Daily",
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "startSchedule": "2026-11-24T00:00:00.000Z",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 32.0},
                    {"startPeriod": 61200, "limit": 16.0, "numberPhases": 3},
                ],
            },
        },
    }
    assert tx_frame[3]["csChargingProfiles"]["transactionId"] == tx_id
    assert refused.status_code == 409
    assert [p["status"] for p in listed] == ["Installed", "Rejected"]


async def test_2_0_1_set_clear_and_composite(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1", subprotocols=("ocpp2.0.1",)) as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot201())
        made, frame = await exchange(
            api, station, "POST", PROFILES, {**DAILY, "evse_id": 1}, {"status": "Accepted"}
        )
        cleared, clear_frame = await exchange(
            api, station, "DELETE", f"{PROFILES}?evse_id=1", None, {"status": "Accepted"}
        )
        schedule = {
            "status": "Accepted",
            "schedule": {
                "evseId": 1,
                "duration": 3600,
                "scheduleStart": "2026-11-24T00:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32}],
            },
        }
        composite, composite_frame = await exchange(
            api,
            station,
            "POST",
            "/api/v1/operator/stations/CP-1/composite-schedule",
            {"evse_id": 1, "duration_s": 3600},
            schedule,
        )
        listed = (await api.get(PROFILES)).json()
    profile = frame[3]["chargingProfile"]
    assert frame[3]["evseId"] == 1 and profile["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    assert profile["chargingSchedule"][0]["chargingSchedulePeriod"][1] == {
        "startPeriod": 61200,
        "limit": 16.0,
        "numberPhases": 3,
    }
    assert clear_frame[3] == {"chargingProfileCriteria": {"evseId": 1}}
    assert cleared.json()["cleared"] == [made.json()["id"]] and listed[0]["status"] == "Cleared"
    assert composite_frame[3] == {"evseId": 1, "duration": 3600}
    assert composite.json()["response"]["schedule"]["chargingSchedulePeriod"][0]["limit"] == 32


async def test_invalid_profiles_are_422_before_anything_is_sent(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        bad = [
            {**DAILY, "periods": [{"start_s": 10, "limit": 16}]},
            {**DAILY, "recurrency": None},
            {**DAILY, "purpose": "TxProfile"},
            {**DAILY, "unit": "kW"},
            {**DAILY, "purpose": "ChargingStationExternalConstraints"},
        ]
        codes = [(await api.post(PROFILES, json=body)).status_code for body in bad]
        stored = (await api.get(PROFILES)).json()
    assert codes == [422, 422, 422, 422, 422]
    assert stored == []
