"""Two CSMS processes share PostgreSQL and Redis: a station on node A is driven from node B."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from csms import bootstrap
from csms.settings import Settings
from emulator import Station, StationSpec
from tests import backends
from tests.builders import a_station


@pytest.fixture
def backend() -> str:
    backends.require_postgres()
    backends.require_redis()
    return "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_node(database_url: str, name: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CSMS_")},
        "CSMS_DATABASE_URL": database_url,
        "CSMS_REDIS_URL": backends.REDIS_URL,
        "CSMS_PORT": str(port),
        "CSMS_NODE_ID": name,
        "CSMS_LOG_LEVEL": "WARNING",
        "CSMS_RESPONSE_TIMEOUT": "5",
    }
    return subprocess.Popen([sys.executable, "-m", "csms.cli", "run"], env=env, stdout=subprocess.DEVNULL)


async def wait_healthy(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as api:
        for _ in range(300):  # a cold interpreter start can take seconds on a busy machine
            try:
                if (await api.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base} never became healthy")


@pytest.fixture
def nodes(database_url: str) -> Iterator[tuple[int, int]]:
    ports = free_port(), free_port()
    processes = [start_node(database_url, f"node-{n}", port) for n, port in zip("ab", ports, strict=True)]
    try:
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


@pytest.fixture
async def provisioned(database_url: str) -> AsyncIterator[None]:
    system = bootstrap.build(Settings(database_url=database_url))
    await a_station(system, "MULTI-1", password="multi-node-secret")
    await system.engine.dispose()
    yield


async def test_command_on_node_b_reaches_a_station_on_node_a(
    provisioned: None, nodes: tuple[int, int]
) -> None:
    port_a, port_b = nodes
    await asyncio.gather(
        wait_healthy(f"http://127.0.0.1:{port_a}"), wait_healthy(f"http://127.0.0.1:{port_b}")
    )
    spec = StationSpec("MULTI-1", "1.6", evse_count=1, password="multi-node-secret")
    station = Station(spec, f"ws://127.0.0.1:{port_a}/ocpp")
    assert await station.connect() == "Accepted"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}") as node_b:
        listed = (await node_b.get("/api/v1/operator/stations/MULTI-1")).json()
        change = await node_b.post(
            "/api/v1/operator/stations/MULTI-1/call",
            json={"action": "ChangeConfiguration", "payload": {"key": "HeartbeatInterval", "value": "77"}},
        )
        read = await node_b.post(
            "/api/v1/operator/stations/MULTI-1/call",
            json={"action": "GetConfiguration", "payload": {"key": ["HeartbeatInterval"]}},
        )
        await station.close()
        await asyncio.sleep(0.3)
        offline = await node_b.post("/api/v1/operator/stations/MULTI-1/call", json={"action": "ClearCache"})
    assert listed["connected"] is True
    assert change.status_code == 200 and change.json()["response"] == {"status": "Accepted"}
    assert station.state.heartbeat_interval_s == 77
    assert read.json()["response"]["configurationKey"][0]["value"] == "77"
    assert offline.status_code == 409
