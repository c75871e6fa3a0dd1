"""Transport faults: a websocket wrapper that misbehaves on demand, and counts frames.

A station's connection is passed through `FaultyLink` (the station's `connection_wrapper`).
What misbehaves is switched on and off in the station's `LinkFaults`, which outlives each
connection, so a fault keeps going across reconnects until it is switched off. The same
wrapper counts CALLs and CALLERRORs for the fleet's statistics, faults or not.
"""

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from emulator.scenario import MalformedFrame
from emulator.stats import LinkCounters
from emulator.tasks import BackgroundTasks

CALL, CALLRESULT, CALLERROR = "2", "3", "4"
_INJECTED_IDS = (f"emu-injected-{n}" for n in itertools.count(1))


def malformed_frame(kind: MalformedFrame, unique_id: str) -> str:
    """A frame a CSMS must refuse: broken JSON, not an OCPP array, unknown action, bad payload."""
    return {
        "bad_json": f'[2,"{unique_id}","Heartbeat",{{',
        "not_array": f'{{"messageTypeId":2,"uniqueId":"{unique_id}"}}',
        "unknown_action": f'[2,"{unique_id}","NoSuchAction",{{}}]',
        # Heartbeat's schema allows no properties in either version.
        "bad_payload": f'[2,"{unique_id}","Heartbeat",{{"unexpected":true}}]',
    }[kind]


@dataclass(slots=True)
class LinkFaults:
    """The transport faults switched on for one station right now.

    `duplicate` holds the actions sent twice (empty: every CALL) or None when off.
    """

    answer_delay_s: float = 0.0
    withhold_answers: bool = False
    duplicate: frozenset[str] | None = None
    link: "FaultyLink | None" = field(default=None, repr=False)

    def wrapper(self, counters: LinkCounters, owner: str) -> Callable[[Any], "FaultyLink"]:
        """The `connection_wrapper` for the station these faults belong to."""

        def wrap(connection: ClientConnection) -> FaultyLink:
            self.link = FaultyLink(connection, self, counters, owner)
            return self.link

        return wrap


class FaultyLink:
    """A websocket connection with the same `recv`/`send`/`close` as websockets' client."""

    def __init__(self, inner: ClientConnection, faults: LinkFaults, counters: LinkCounters, owner: str):
        self._inner = inner
        self._faults = faults
        self._counters = counters
        self._late = BackgroundTasks(owner)
        # Answers the station must not see: to injected frames, and the second answer to a
        # duplicated CALL (its id moves from `_duplicated` to `_swallow` once the first passed).
        self._swallow: set[str] = set()
        self._duplicated: set[str] = set()

    async def recv(self) -> str | bytes:
        """The next frame for the station, minus answers it never asked for."""
        while True:
            frame = await self._inner.recv()
            if isinstance(frame, bytes) or frame[1:2] not in (CALLRESULT, CALLERROR):
                return frame
            if frame[1:2] == CALLERROR:
                self._counters.call_errors += 1
            if not (self._swallow or self._duplicated) or self._passes(frame):
                return frame

    def _passes(self, frame: str) -> bool:
        try:
            unique_id = json.loads(frame)[1]
        except (ValueError, IndexError):
            return True
        if not isinstance(unique_id, str):
            return True
        if unique_id in self._swallow:
            self._swallow.discard(unique_id)
            return False
        if unique_id in self._duplicated:
            self._duplicated.discard(unique_id)
            self._swallow.add(unique_id)
        return True

    async def send(self, message: str) -> None:
        """Send a frame, late, never or twice as the station's faults say."""
        kind = message[1:2]
        if kind == CALL:
            self._counters.calls += 1
            await self._inner.send(message)
            if self._faults.duplicate is not None:
                await self._send_again(message)
        elif kind in (CALLRESULT, CALLERROR) and self._faults.withhold_answers:
            self._counters.answers_withheld += 1
        elif kind in (CALLRESULT, CALLERROR) and self._faults.answer_delay_s > 0:
            self._counters.answers_delayed += 1
            # Late in the background: the receive loop carries on, as in a slow firmware.
            self._late.spawn(self._send_later(message, self._faults.answer_delay_s))
        else:
            await self._inner.send(message)

    async def _send_again(self, message: str) -> None:
        unique_id, action = json.loads(message)[1:3]
        wanted = self._faults.duplicate
        if wanted and action not in wanted:
            return
        self._duplicated.add(unique_id)
        self._counters.duplicates_sent += 1
        await self._inner.send(message)

    async def _send_later(self, message: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        with contextlib.suppress(ConnectionClosed):  # the CSMS gave up on the link meanwhile
            await self._inner.send(message)

    async def send_malformed(self, kind: MalformedFrame) -> None:
        """Send a frame the CSMS must refuse; its CALLERROR is kept from the station."""
        unique_id = next(_INJECTED_IDS)
        self._swallow.add(unique_id)
        self._counters.malformed_sent += 1
        await self._inner.send(malformed_frame(kind, unique_id))

    def drop(self) -> None:
        """Lose the link abruptly, with no closing handshake, as a failing modem does."""
        self._inner.transport.abort()

    async def close(self) -> None:
        """Close the websocket; answers still waiting to go out late are dropped."""
        await self._late.cancel_all()
        await self._inner.close()
