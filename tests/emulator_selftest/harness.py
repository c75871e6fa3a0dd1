"""Helpers for emulator behaviour tests against the real server: stations that are
provisioned, connected and closed for the test, database reads that wait for a condition,
and a local HTTP server for firmware downloads and log uploads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from sqlmodel import SQLModel, select

from chargepoints.tables import MessageLogRow
from emulator import Station, StationSpec
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

Row = TypeVar("Row", bound=SQLModel)
PASSWORD = "emulator-secret-01"
QUICK = {"boot_delay_s": 0.05, "firmware_step_s": 0.05}


async def until(condition: Callable[[], object], limit: float = 1.5) -> None:
    """Wait until `condition()` is true."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.01)


class Rig:
    """The real server, and stations made for one test (all closed at the end)."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.stations: list[Station] = []

    async def station(
        self, version: str, station_id: str = "CS-1", *, connect: bool = True, **spec: Any
    ) -> Station:
        """A provisioned station (security profile 1), connected and accepted unless told not to."""
        await a_station(self.server.system, station_id, password=PASSWORD)
        options = {**QUICK, "meter_interval_s": 60.0, **spec}
        station = Station(StationSpec(station_id, version, password=PASSWORD, **options), self.server.ws)  # type: ignore[arg-type]
        self.stations.append(station)
        if connect:
            assert await station.connect() == "Accepted"
        return station

    async def token(self, token: str, **overrides: Any) -> None:
        """Provision an id token (Accepted unless overridden)."""
        await a_token(self.server.system, token, **overrides)

    async def call(self, station_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CSMS-initiated call through the server; the station's CALLRESULT payload."""
        return await self.server.system.connections.call(station_id, action, payload)

    async def rows(self, table: type[Row], **where: Any) -> list[Row]:
        """Rows of a table matching column values, in insertion order."""
        query = select(table).filter_by(**where).order_by(table.id)  # type: ignore[attr-defined]
        async with self.server.system.sessions() as session:
            return list((await session.execute(query)).scalars())

    async def wait_rows(
        self, table: type[Row], count: int = 1, limit: float = 1.5, **where: Any
    ) -> list[Row]:
        """Wait until at least `count` rows match; return them."""
        found: list[Row] = []
        async with asyncio.timeout(limit):
            while len(found := await self.rows(table, **where)) < count:
                await asyncio.sleep(0.02)
        return found

    async def sent(self, action: str, station_id: str = "CS-1") -> list[dict[str, Any]]:
        """Payloads of the calls the station sent, as the server logged them, in order."""
        await self.server.system.message_log.flush()
        rows = await self.rows(MessageLogRow, station_id=station_id, direction="in", action=action)
        return [json.loads(row.frame)[3] for row in rows]

    async def wait_sent(
        self, action: str, count: int = 1, where: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> list[dict[str, Any]]:
        """Wait until the station sent `count` matching calls of an action; return those."""
        found: list[dict[str, Any]] = []
        async with asyncio.timeout(1.5):
            while len(found := [p for p in await self.sent(action) if where(p)]) < count:
                await asyncio.sleep(0.05)
        return found

    async def close(self) -> None:
        for station in self.stations:
            await station.close()


@contextlib.asynccontextmanager
async def rig_for(server: LiveServer) -> AsyncIterator[Rig]:
    """A rig whose stations are closed when the block ends."""
    rig = Rig(server)
    try:
        yield rig
    finally:
        await rig.close()


@dataclass
class FileServer:
    """A local HTTP server: GET serves `files`, PUT and POST land in `uploads` (path, method, body)."""

    files: dict[str, bytes] = field(default_factory=dict)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    url: str = ""


@contextlib.contextmanager
def file_server() -> Iterator[FileServer]:
    """Serve a FileServer on 127.0.0.1 in a thread for the duration of the block."""
    state = FileServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state.files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def _receive(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.uploads.append((self.path, self.command, self.rfile.read(length)))
            self.send_response(201)
            self.end_headers()

        do_PUT = do_POST = _receive

        def log_message(self, *args: Any) -> None:
            """Keep test output clean."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
