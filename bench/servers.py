"""The two comparison servers, each run in its own process:

``python -m bench.servers ceiling --port P``: bare ``websockets`` answering every CALL with a
canned CALLRESULT. Nothing in Python can answer OCPP faster, so it is the ceiling.

``python -m bench.servers reference --port P``: the ``ocpp`` library's own ``ChargePoint`` with
``@on`` handlers returning fixed results and storing nothing. It shows what the library costs,
so the CSMS's distance from it is what our validation, logging and persistence add.

Both use the socket settings the CSMS uses (no compression, no server pings).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench import frames, proc

SUBPROTOCOLS = [Subprotocol("ocpp1.6")]
_NOW = "2026-01-01T00:00:00Z"


async def ceiling(connection: ServerConnection) -> None:
    """Parse just enough to echo the unique id back; answer nothing but CALLs."""
    async for raw in connection:
        message = orjson.loads(raw)
        if message[0] == 2:
            await connection.send(frames.canned_result(message[1], message[2]))


class ReferenceStation(ChargePoint):  # type: ignore[misc]
    """Fixed answers, no persistence: the ``ocpp`` library's floor for a 1.6 central system."""

    @on(Action.boot_notification)  # type: ignore[untyped-decorator]
    def on_boot(self, **_: Any) -> Any:
        return call_result.BootNotification(
            current_time=_NOW, interval=300, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)  # type: ignore[untyped-decorator]
    def on_heartbeat(self, **_: Any) -> Any:
        return call_result.Heartbeat(current_time=_NOW)

    @on(Action.meter_values)  # type: ignore[untyped-decorator]
    def on_meter_values(self, **_: Any) -> Any:
        return call_result.MeterValues()

    @on(Action.status_notification)  # type: ignore[untyped-decorator]
    def on_status(self, **_: Any) -> Any:
        return call_result.StatusNotification()


async def reference(connection: ServerConnection) -> None:
    station_id = connection.request.path.rsplit("/", 1)[-1] if connection.request else "unknown"
    with contextlib.suppress(ConnectionClosed):
        await ReferenceStation(station_id, connection).start()


HANDLERS: dict[str, Callable[[ServerConnection], Any]] = {"ceiling": ceiling, "reference": reference}


async def serve_until_stopped(kind: str, port: int) -> None:
    """Serve on 127.0.0.1 until SIGTERM or SIGINT, which the orchestrator sends to stop us."""
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
    async with serve(
        HANDLERS[kind],
        "127.0.0.1",
        port,
        subprotocols=SUBPROTOCOLS,
        compression=None,
        ping_interval=None,
        backlog=4096,
    ):
        print(f"{kind} server listening on ws://127.0.0.1:{port}/ocpp/<id>", flush=True)
        await stop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__)
    parser.add_argument("kind", choices=sorted(HANDLERS))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    proc.raise_open_file_limit()
    # The library logs every frame at INFO: that would measure the terminal, not the server.
    logging.basicConfig(level=logging.WARNING)
    proc.run(serve_until_stopped(args.kind, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
