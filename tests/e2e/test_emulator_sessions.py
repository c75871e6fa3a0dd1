"""The bundled emulator charging against the real server, for both OCPP versions."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from emulator import Station, StationSpec
from tests.builders import a_station, a_token
from tests.conftest import LiveServer


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_boot_session_and_api_readback(server: LiveServer, version: str) -> None:
    await a_station(server.system, "EMU-1", password="emulator-secret-01")
    await a_token(server.system, "TAG-0001")
    spec = StationSpec("EMU-1", version, evse_count=2, password="emulator-secret-01")  # type: ignore[arg-type]
    station = Station(spec, server.ws)
    assert await station.connect() == "Accepted"
    tx_id = await station.start_transaction(1, "TAG-0001")
    for _ in range(3):
        await station.send_meter_values(1, seconds=60)
    await station.stop_transaction(1)
    await station.close()

    async with httpx.AsyncClient(base_url=server.http) as api:
        stations = (await api.get("/api/v1/operator/stations")).json()
        detail = (await api.get("/api/v1/operator/stations/EMU-1")).json()
        listed = (await api.get("/api/v1/operator/transactions", params={"station_id": "EMU-1"})).json()
        tx = (await api.get(f"/api/v1/operator/transactions/{listed['items'][0]['id']}")).json()
    assert stations["total"] == 1 and stations["items"][0]["ocpp_version"] == version
    assert {evse["evse_id"] for evse in detail["evses"]} == {1, 2}
    assert listed["total"] == 1
    assert tx["state"] == "Ended" and tx["id_token"] == "TAG-0001"
    assert version == "2.0.1" or str(tx["id"]) == tx_id
    energy = [
        s["value"]
        for s in tx["samples"]
        if s["measurand"] == "Energy.Active.Import.Register" and s["phase"] is None
    ]
    assert energy == sorted(energy) and energy[-1] > energy[0]
    assert tx["energy_wh"] == tx["meter_stop_wh"] - tx["meter_start_wh"] > 0


async def test_a_small_mixed_fleet_shows_up_live(server: LiveServer) -> None:
    specs = [StationSpec(f"FLEET-{n}", "1.6" if n % 2 else "2.0.1", evse_count=1) for n in range(6)]
    for spec in specs:
        await a_station(server.system, spec.station_id)
    stations = [Station(spec, server.ws) for spec in specs]
    assert await asyncio.gather(*(s.connect() for s in stations)) == ["Accepted"] * 6
    async with httpx.AsyncClient(base_url=server.http) as api:
        listed = (await api.get("/api/v1/operator/stations", params={"limit": 4})).json()
        page2 = (await api.get("/api/v1/operator/stations", params={"limit": 4, "offset": 4})).json()
    assert listed["total"] == 6 and len(listed["items"]) == 4 and len(page2["items"]) == 2
    assert all(item["connected"] for item in listed["items"] + page2["items"])
    await asyncio.gather(*(s.close() for s in stations))
