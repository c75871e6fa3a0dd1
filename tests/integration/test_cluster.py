"""With Redis down a node keeps serving its own stations; cross-node commands fail clearly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chargepoints.errors import ClusterUnavailable
from csms import bootstrap
from csms.bus import RedisBus
from csms.settings import Settings
from tests.builders import a_station, boot16
from tests.conftest import LiveServer, serve
from tests.wire import WireStation

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the database is beside the point here; Redis is what is down


@pytest.fixture
async def isolated(database_url: str) -> AsyncIterator[LiveServer]:
    settings = Settings(database_url=database_url, redis_url=DOWN, response_timeout=2)
    system = bootstrap.build(settings, bus=RedisBus(DOWN))
    await system.start(with_scheduler=False)
    try:
        async with serve(system) as server:
            yield server
    finally:
        await system.stop()


async def test_redis_down_local_station_still_served(isolated: LiveServer) -> None:
    await a_station(isolated.system, "LOCAL-1")
    async with await WireStation.connect(isolated.ws, "LOCAL-1") as station:
        assert (await station.ok("BootNotification", boot16()))["status"] == "Accepted"
        command = asyncio.create_task(isolated.system.station_gateway.call("LOCAL-1", "ClearCache", {}))
        frame = await station.recv()
        await station.send_raw(f'[3,"{frame[1]}",{{"status":"Accepted"}}]')
        assert await command == {"status": "Accepted"}
    with pytest.raises(ClusterUnavailable):
        await isolated.system.station_gateway.call("ELSEWHERE-1", "ClearCache", {})
