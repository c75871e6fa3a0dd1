"""What an autopilot does on its own against the real server: reconnect with the configured
back-off, let EVs arrive as the scenario says and end sessions after their drawn length."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from chargepoints.tables import TransactionRow
from emulator.fleet import Fleet
from emulator.scenario import Arrivals, Network, Scenario, SessionLength
from emulator.station import StationSpec
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

QUICK = Network(backoff_base_s=0.05, backoff_cap_s=0.05)


async def _until(condition: object, limit: float = 2.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_a_link_the_server_drops_comes_back_after_the_back_off(server: LiveServer) -> None:
    await a_station(server.system, "AP-1")
    async with Fleet(server.ws, [StationSpec("AP-1", "2.0.1")], scenario=Scenario(network=QUICK)) as fleet:
        await fleet.wait_connected()
        adapter = server.system.connections.get("AP-1")
        assert adapter is not None
        await adapter._connection.close()
        await _until(lambda: fleet.stats().connects == 2 and fleet.stats().connected == 1)
    assert server.system.connections.get("AP-1") is not adapter


async def test_refused_connections_are_retried_at_the_configured_pace(server: LiveServer) -> None:
    # A wrong password is refused before the upgrade (401), so every attempt fails.
    for station_id in ("AP-3", "AP-4"):
        await a_station(server.system, station_id, password="right-password-01")
    specs = [StationSpec(station_id, "1.6", password="wrong-password-01") for station_id in ("AP-3", "AP-4")]
    quick = Fleet(server.ws, specs[:1], scenario=Scenario(network=QUICK))
    patient = Fleet(
        server.ws, specs[1:], scenario=Scenario(network=Network(backoff_base_s=30, backoff_cap_s=60))
    )
    async with quick, patient:
        # Poll rather than sleep a fixed time: each refusal costs a password check, which a
        # loaded machine slows down; the patient station's 30 s back-off leaves ample margin.
        async with asyncio.timeout(10):
            while quick.stats().connect_failures < 4 or patient.stats().connect_failures < 1:
                await asyncio.sleep(0.05)
    assert quick.stats().connect_failures >= 4
    assert patient.stats().connect_failures == 1
    assert quick.stats().connects == patient.stats().connects == 0


async def test_evs_arrive_and_leave_after_their_session_length(server: LiveServer) -> None:
    await a_station(server.system, "AP-2")
    await a_token(server.system, "TAG-AP")
    scenario = Scenario(
        arrivals=Arrivals(rate_per_hour=360_000.0),  # Poisson: an EV at almost every 50 ms tick
        sessions=SessionLength("fixed", minutes=0.002),  # 0.12 s
        id_tokens=("TAG-AP",),
    )
    spec = StationSpec("AP-2", "1.6", evse_count=1, meter_interval_s=0.05)
    async with Fleet(server.ws, [spec], scenario=scenario) as fleet:
        await _until(lambda: fleet.stats().sessions_ended >= 2)
    async with server.system.sessions() as session:
        rows = list((await session.execute(select(TransactionRow))).scalars())
    assert len(rows) >= 2 and all(row.state == "Ended" and row.stop_reason == "Local" for row in rows)
    assert fleet.stats().sessions_started == len(rows)
