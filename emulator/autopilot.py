"""Autonomous station behaviour for demos and load tests.

Every random choice comes from `random.Random(station_id)`, so a fleet replays
the same pattern of sessions run after run (timing aside).
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from ocpp.exceptions import OCPPError
from websockets.exceptions import WebSocketException

from emulator.errors import EmulatorError

if TYPE_CHECKING:
    from emulator.station_client import EmulatedStation

LOGGER = logging.getLogger("emulator")
# Failures a live link or a racing CSMS command can cause; anything else is a bug.
LINK_ERRORS = (OSError, TimeoutError, WebSocketException, OCPPError, EmulatorError)
SESSION_MINUTES = (3.0, 15.0)
STABLE_LINK_S = 30.0
SHUTDOWN_TIMEOUT_S = 5.0


class Backoff:
    """Exponential back-off with jitter, so a fleet does not reconnect in lockstep."""

    def __init__(self, rng: random.Random, base_s: float = 1.0, cap_s: float = 60.0) -> None:
        self._rng = rng
        self._base_s = base_s
        self._cap_s = cap_s
        self._attempt = 0

    def next_delay(self) -> float:
        """The next wait: doubling up to the cap, drawn from its upper half."""
        ceiling = min(self._cap_s, self._base_s * 2**self._attempt)
        self._attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Start again from the shortest wait."""
        self._attempt = 0


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Autopilot:
    """Keeps one station connected and charging now and then."""

    def __init__(
        self,
        station: "EmulatedStation",
        *,
        session_probability: float,
        id_tokens: list[str],
        connect_gate: asyncio.Semaphore | None = None,
        on_link: Callable[[bool], None] | None = None,
    ) -> None:
        self._station = station
        self._probability = session_probability
        self._tokens = id_tokens
        self._gate = connect_gate
        self._on_link = on_link
        self._rng = random.Random(station.spec.station_id)
        self._backoff = Backoff(self._rng)
        self._deadlines: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, drive and reconnect with back-off until `stop` is set."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if await self._connect(stop):
                linked_at = loop.time()
                self._notify(True)
                await self._drive(stop)
                self._notify(False)
                if loop.time() - linked_at >= STABLE_LINK_S:
                    self._backoff.reset()
            if stop.is_set():
                await self._wind_down()
            await self._station.close()
            if not stop.is_set():
                await _wait_or_stop(stop, self._backoff.next_delay())

    def _notify(self, linked: bool) -> None:
        if self._on_link is not None:
            self._on_link(linked)

    async def _connect(self, stop: asyncio.Event) -> bool:
        gate = self._gate if self._gate is not None else contextlib.nullcontext()
        async with gate:
            if stop.is_set():  # stopped while queueing for the gate
                return False
            try:
                await self._station.connect()
            except LINK_ERRORS as exc:
                LOGGER.info("%s: connect failed: %r", self._station.spec.station_id, exc)
                return False
        return True

    async def _drive(self, stop: asyncio.Event) -> None:
        """Tick every meter interval until the link drops or `stop` is set."""
        gone = asyncio.ensure_future(self._station.wait_disconnected())
        stopping = asyncio.ensure_future(stop.wait())
        # A random first delay spreads a fleet's ticks across the interval.
        delay = self._rng.uniform(0, self._station.state.meter_interval_s)
        try:
            while True:
                done, _ = await asyncio.wait(
                    {gone, stopping}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
                )
                if done:
                    return
                try:
                    await self._tick()
                except LINK_ERRORS as exc:
                    LOGGER.info("%s: tick failed: %r", self._station.spec.station_id, exc)
                delay = self._station.state.meter_interval_s
        finally:
            for waiter in (gone, stopping):
                waiter.cancel()
            await asyncio.gather(gone, stopping, return_exceptions=True)

    async def _tick(self) -> None:
        """Report charging EVSEs, end sessions past their time, maybe start new ones."""
        station = self._station
        if station.boot_status != "Accepted":
            return
        now = asyncio.get_running_loop().time()
        active = set(station.transactions.values())
        self._deadlines = {tx: at for tx, at in self._deadlines.items() if tx in active}
        for evse in list(station.state.evses.values()):
            if evse.session is not None:
                deadline = self._deadlines.setdefault(
                    evse.session.transaction_id, now + 60 * self._rng.uniform(*SESSION_MINUTES)
                )
                if now >= deadline:
                    await station.stop_transaction(evse.id, "Local")
                else:
                    await station.send_meter_values(evse.id)
            elif evse.can_start and self._tokens and self._rng.random() < self._probability:
                token = self._rng.choice(self._tokens)
                if await station.authorize(token) == "Accepted":
                    await station.start_transaction(evse.id, token)

    async def _wind_down(self) -> None:
        """Close open sessions on shutdown so the CSMS is not left with dangling ones."""
        if not self._station.connected:
            return
        with contextlib.suppress(*LINK_ERRORS):
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                for evse_id in list(self._station.transactions):
                    await self._station.stop_transaction(evse_id, "Local")
