"""Ten emulated stations on a 100 A site, sessions starting and stopping at random: once each
re-allocation has settled, the current the stations report never adds up to more than the limit."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import httpx
import pytest
from sqlmodel import col, select

from chargepoints import admin
from chargepoints.load_tables import AllocationRow
from chargepoints.tables import MeterSampleRow
from csms.bootstrap import System
from csms.settings import Settings
from emulator import Station, StationSpec
from emulator.ev import EvSpec
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

SITE_LIMIT_A = Decimal(100)
STATIONS = 10
NEARLY_FULL, FULL_SOC = "LOAD-09", 99.0
"""This EV hardly draws (its battery is almost full), so most of its share goes to the others."""
ROUNDING_A = Decimal("0.01")
"""The emulator reports amps to two decimals; per session that is all the slack allowed."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"load_debounce": 0.05, "load_retry": 1.0})


async def settled(system: System, charging: set[str]) -> list[AllocationRow]:
    """Wait until every charging station has taken its share and nothing is left to send."""
    for _ in range(200):
        await system.load.settled()
        async with system.sessions() as session:
            rows = list((await session.execute(select(AllocationRow))).scalars())
        if {r.station_id for r in rows} == charging and all(r.status == "Accepted" for r in rows):
            await asyncio.sleep(0.1)  # any event that came back over the bus meanwhile
            await system.load.settled()
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"allocations did not settle: {rows}")


async def site_current(system: System, stations: dict[str, Station], charging: set[str]) -> Decimal:
    """Have each charging station report now, and add up the highest phase current each sent."""
    before = {station_id: await latest_sample_id(system, station_id) for station_id in charging}
    await asyncio.gather(*(stations[station_id].send_meter_values(1) for station_id in charging))
    total = Decimal(0)
    for station_id in charging:
        async with system.sessions() as session:
            query = select(MeterSampleRow.value).where(
                col(MeterSampleRow.station_id) == station_id,
                col(MeterSampleRow.measurand) == "Current.Import",
                col(MeterSampleRow.id) > before[station_id],
            )
            values = list((await session.execute(query)).scalars())
        assert values, f"{station_id} reported no current"
        total += Decimal(str(max(values)))
    return total


async def latest_sample_id(system: System, station_id: str) -> int:
    async with system.sessions() as session:
        query = select(MeterSampleRow.id).where(col(MeterSampleRow.station_id) == station_id)
        return max((await session.execute(query)).scalars(), default=0) or 0


async def test_ten_stations_share_a_100_amp_site(server: LiveServer) -> None:
    system = server.system
    site_id = await admin.put_site("Garage", uow=system.uow(), clock=system.clock)
    ids = [f"LOAD-{n:02d}" for n in range(STATIONS)]
    for n, station_id in enumerate(ids):
        await a_station(system, station_id, site_id=site_id)
        await a_token(system, f"TAG-{n:02d}")
    load = f"/api/v1/operator/sites/{site_id}/load"
    async with httpx.AsyncClient(base_url=server.http) as api:
        made = await api.put(load, json={"max_import": str(SITE_LIMIT_A), "unit": "A"})
        assert made.status_code == 200, made.text

        stations: dict[str, Station] = {}
        for n, station_id in enumerate(ids):
            version = "2.0.1" if n % 2 else "1.6"
            ev = EvSpec(initial_soc=FULL_SOC if station_id == NEARLY_FULL else 20.0 + 7 * n)
            spec = StationSpec(station_id, version, evse_count=1, meter_interval_s=3600, ev=ev)  # type: ignore[arg-type]
            stations[station_id] = Station(spec, server.ws)
        assert set(await asyncio.gather(*(s.connect() for s in stations.values()))) == {"Accepted"}

        rng = random.Random(8)
        charging: set[str] = set()
        worst = Decimal(0)
        reclaimed: list[bool] = []
        for step in range(24):
            was_charging = set(charging)
            idle = sorted(set(ids) - charging)
            if idle and (not charging or rng.random() < 0.65):
                station_id = rng.choice(idle)
                await stations[station_id].start_transaction(1, f"TAG-{ids.index(station_id):02d}")
                charging.add(station_id)
            else:
                station_id = rng.choice(sorted(charging))
                await stations[station_id].stop_transaction(1)
                await stations[station_id].unplug(1)
                charging.discard(station_id)
            rows = await settled(system, charging)
            allocated = sum((r.limit_a for r in rows), Decimal(0))
            assert allocated <= SITE_LIMIT_A, f"step {step}: {allocated} A allocated"
            measured = await site_current(system, stations, charging)
            worst = max(worst, measured)
            if (
                NEARLY_FULL in charging & was_charging and len(charging) >= 4
            ):  # it has reported since it began
                shares = {r.station_id: r.limit_a for r in rows}
                reclaimed.append(shares[NEARLY_FULL] < max(shares.values()))
            assert measured <= SITE_LIMIT_A + ROUNDING_A * len(charging), f"step {step}: {measured} A drawn"
        assert len(charging) >= 5, "the walk should have loaded the site"
        assert reclaimed and all(reclaimed), "the nearly full EV kept a full share"

        state = (await api.get(load)).json()
        assert {a["station_id"] for a in state["allocations"]} == charging
        history = (await api.get(f"{load}/history")).json()
        assert history and all(Decimal(h["allocated_a"]) <= SITE_LIMIT_A for h in history)
        assert any(Decimal(h["measured_a"] or 0) > 0 for h in history)
        await asyncio.gather(*(s.close() for s in stations.values()))
    assert worst > SITE_LIMIT_A / 2, f"the site was never busy: {worst} A at most"
