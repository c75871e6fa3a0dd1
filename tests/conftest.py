"""Shared fixtures: a fresh database per test on each backend, the wired system, a live server."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn

from csms import bootstrap
from csms.app import create_app
from csms.bus import InProcessBus, RedisBus
from csms.runtime import uvicorn_options
from csms.settings import Settings
from tests import backends

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("template")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        backends.require_postgres()
        backends.require_redis()
    return str(request.param)


@pytest.fixture
def database_url(backend: str, template_dir: Path, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield backends.fresh_sqlite(template_dir, tmp_path)
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = backends.fresh_postgres(worker)
    try:
        yield backends.asyncpg_url(name)
    finally:
        backends.drop_postgres(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        heartbeat_interval=60,
        response_timeout=5,
        data_dir=str(tmp_path / "data"),
        wallet_min_balance=Decimal(0),  # drivers start without topping up, unless a test says so
    )


@pytest.fixture
async def system(
    settings: Settings, backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[bootstrap.System]:
    bus = (
        RedisBus(backends.REDIS_URL, channel=f"csms:test:{os.getpid()}:{id(request)}")
        if backend == "postgres"
        else InProcessBus()
    )
    system = bootstrap.build(settings, bus=bus)
    await system.start(with_scheduler=False)
    try:
        yield system
    finally:
        await system.stop()


@dataclass
class LiveServer:
    http: str
    ws: str
    system: bootstrap.System


@asynccontextmanager
async def serve(system: bootstrap.System) -> AsyncIterator[LiveServer]:
    """The real ASGI app on a real socket; the caller starts and stops the system."""
    app = create_app(system.settings, system=system)
    options = {**uvicorn_options(system.settings), "port": 0, "lifespan": "off", "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, **options))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ocpp", system)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def server(system: bootstrap.System) -> AsyncIterator[LiveServer]:
    async with serve(system) as live:
        yield live
