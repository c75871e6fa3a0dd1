"""One emulated station of the load generator: a raw client connection and a call counter.

Far lighter than the emulator on purpose: a station here is a socket that sends pre-built
frames and checks that each answer is the CALLRESULT of the CALL it just sent.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench import frames

_TEMPLATES = {action: frames.template(action) for action in frames.PAYLOADS}


class CallFailed(Exception):
    """The answer was not the CALLRESULT of our CALL (a CALLERROR, or something else)."""


class Station:
    def __init__(self, station_id: str, connection: ClientConnection) -> None:
        self.id, self.connection = station_id, connection
        self.sent = 0
        self.busy = False
        self.alive = True

    @property
    def ready(self) -> bool:
        return self.alive and not self.busy

    async def call(self, action: str, limit: float) -> float:
        """Send one CALL and wait for its answer; the latency in seconds.

        ``limit`` bounds the wait in seconds. A timeout or a closed socket retires the station:
        a late answer could otherwise be taken for the answer to its next call.
        """
        self.sent += 1
        unique_id = str(self.sent)
        frame = _TEMPLATES[action].frame(unique_id)
        self.busy = True
        try:
            start = time.perf_counter()
            await self.connection.send(frame)
            async with asyncio.timeout(limit):
                reply = await self.connection.recv()
            latency = time.perf_counter() - start
        except BaseException:
            self.alive = False
            raise
        finally:
            self.busy = False
        _check(reply, unique_id)
        return latency

    async def close(self) -> None:
        self.alive = False
        await self.connection.close()


def _check(reply: str | bytes, unique_id: str) -> None:
    message = orjson.loads(reply)
    if not (isinstance(message, list) and len(message) >= 3 and message[1] == unique_id):
        raise CallFailed(f"unexpected answer {str(reply)[:120]}")
    if message[0] != 3:
        raise CallFailed(f"CALLERROR {message[2:4]}")


async def open_station(url: str, station_id: str, limit: float) -> Station:
    connection = await connect(
        f"{url}/{station_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        compression=None,
        ping_interval=None,
        open_timeout=limit,
        close_timeout=1,
        max_queue=4,
    )
    return Station(station_id, connection)


async def close_all(stations: list[Station], limit: float) -> None:
    """Close politely in batches, but never wait longer than ``limit`` seconds in all."""
    try:
        async with asyncio.timeout(limit):
            for start in range(0, len(stations), 500):
                await asyncio.gather(*(s.close() for s in stations[start : start + 500]))
    except TimeoutError:
        pass
