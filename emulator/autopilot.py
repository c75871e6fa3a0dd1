"""Autonomous station behaviour for demos, fleets and load tests.

Two loops per station: one keeps the link up (power-up, then reconnects with exponential
back-off and jitter), the other lets EVs arrive and leave every meter interval, linked or
not, as a real site does. Meter values are the station's own business (`emulator.timers`).

Every random choice comes from `random.Random(station_id)`, so a fleet replays
the same pattern of sessions run after run (timing aside).
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from websockets.exceptions import WebSocketException

from emulator.errors import EmulatorError
from emulator.scenario import Arrivals, Network, SessionLength
from emulator.stats import LATE_AFTER_S, PilotCounters

if TYPE_CHECKING:
    from emulator.evse import Evse
    from emulator.station_client import Station

LOGGER = logging.getLogger("emulator")
# Failures a live link or a racing CSMS command can cause; anything else is a bug.
LINK_ERRORS = (OSError, TimeoutError, WebSocketException, OCPPError, EmulatorError)
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


async def _until(stop: asyncio.Event, awaitable: Coroutine[Any, Any, Any]) -> None:
    """Wait for `awaitable` or for `stop`, whichever comes first."""
    waiters = (asyncio.ensure_future(stop.wait()), asyncio.ensure_future(awaitable))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()


class Autopilot:
    """Keeps one station connected, and charging when EVs arrive.

    `linked` is set while the station is connected and booted. `lock` is held while the
    autopilot acts on the station, so fault injection never interleaves with a session start.
    """

    def __init__(
        self,
        station: "Station",
        *,
        session_probability: float = 0.05,
        id_tokens: Sequence[str] = ("TAG-0001",),
        arrivals: Arrivals | None = None,
        sessions: SessionLength | None = None,
        network: Network | None = None,
        connect_gate: asyncio.Semaphore | None = None,
        on_link: Callable[[bool], None] | None = None,
        counters: PilotCounters | None = None,
    ) -> None:
        self._station = station
        self._arrivals = arrivals or Arrivals(probability=session_probability)
        self._sessions = sessions or SessionLength()
        self._network = network or Network()
        self._tokens = id_tokens  # shared by the whole fleet: never copied per station
        self._gate = connect_gate
        self._on_link = on_link
        self.counters = counters or PilotCounters()
        self._rng = random.Random(station.spec.station_id)
        self._backoff = Backoff(self._rng, self._network.backoff_base_s, self._network.backoff_cap_s)
        self._deadlines: dict[str, float] = {}
        self._powered = False
        self.linked = asyncio.Event()
        self.lock = asyncio.Lock()
        self._online = asyncio.Event()
        self._online.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Stay linked and let EVs come and go until `stop` is set; then end the sessions."""
        async with asyncio.TaskGroup() as group:
            driving = group.create_task(self._drive())
            await self._keep_linked(stop)
            driving.cancel()
        await self._wind_down()
        await self._station.close()
        if self.linked.is_set():
            self._notify(False)

    async def go_offline(self) -> None:
        """Lose the network until `go_online()`: the station charges on and queues its messages."""
        self._online.clear()
        await self._station.go_offline()

    def go_online(self) -> None:
        """Let the station reconnect at once."""
        self._backoff.reset()
        self._online.set()

    def _notify(self, linked: bool) -> None:
        if linked:
            self.linked.set()
        else:
            self.linked.clear()
        if self._on_link is not None:
            self._on_link(linked)

    async def _keep_linked(self, stop: asyncio.Event) -> None:
        """Connect and reconnect with back-off; returns, still linked, once `stop` is set."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if not self._online.is_set():
                await _until(stop, self._online.wait())
            elif await self._connect(stop):
                linked_at = loop.time()
                self._notify(True)
                await _until(stop, self._station.wait_disconnected())
                if stop.is_set():
                    return
                self._notify(False)
                if loop.time() - linked_at >= self._network.stable_link_s:
                    self._backoff.reset()
            if not stop.is_set() and self._online.is_set():
                await _wait_or_stop(stop, self._backoff.next_delay())

    async def _connect(self, stop: asyncio.Event) -> bool:
        """Power up the first time; afterwards reconnect without a reboot."""
        gate = self._gate if self._gate is not None else contextlib.nullcontext()
        async with gate:
            if stop.is_set() or not self._online.is_set():  # changed while queueing for the gate
                return False
            try:
                await (self._station.go_online() if self._powered else self._station.connect())
            except LINK_ERRORS as exc:
                self.counters.connect_failures += 1
                LOGGER.info("%s: connect failed: %r", self._station.spec.station_id, exc)
                return False
        self._powered = True
        self.counters.connects += 1
        return True

    async def _drive(self) -> None:
        """Tick every meter interval on a fixed schedule, linked or not, until cancelled."""
        loop = asyncio.get_running_loop()
        # A random first delay spreads a fleet's ticks across the interval.
        due = loop.time() + self._rng.uniform(0, self._station.state.meter_interval_s)
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            late_s = loop.time() - due
            self._count_tick(late_s)
            try:
                async with self.lock:
                    await self._tick()
            except LINK_ERRORS as exc:
                self.counters.errors += 1
                LOGGER.info("%s: tick failed: %r", self._station.spec.station_id, exc)
            # A fleet that fell a whole interval behind skips ahead rather than bursting.
            interval = self._station.state.meter_interval_s
            due = due + interval if late_s < interval else loop.time()

    def _count_tick(self, late_s: float) -> None:
        self.counters.ticks += 1
        if late_s > LATE_AFTER_S:
            self.counters.late_ticks += 1

    async def _tick(self) -> None:
        """End sessions past their time and let new EVs arrive, once the CSMS has accepted us."""
        station = self._station
        if station.boot_status != "Accepted":
            return
        now = asyncio.get_running_loop().time()
        active = set(station.transactions.values())
        self._deadlines = {tx: at for tx, at in self._deadlines.items() if tx in active}
        chance = self._arrivals.chance(station.state.meter_interval_s)
        for evse in list(station.state.evses.values()):
            if evse.session is not None:
                deadline = self._deadlines.setdefault(
                    evse.session.transaction_id, now + self._sessions.sample_s(self._rng)
                )
                if now >= deadline:
                    # The driver ends the session; the station then releases the cable.
                    await station.stop_transaction(evse.id, "Local")
                    self.counters.sessions_ended += 1
            elif evse.can_start and not evse.plugged and self._tokens and self._rng.random() < chance:
                await self._arrive(evse)

    async def _arrive(self, evse: "Evse") -> None:
        """An EV plugs in and its driver presents a card; refused, the driver drives off."""
        await self._station.plug_in(evse.id)
        status = await self._station.swipe(self._rng.choice(self._tokens), evse.id)
        if evse.session is not None:
            self.counters.sessions_started += 1
        else:
            LOGGER.info("%s: token refused (%s)", self._station.spec.station_id, status)
            await self._station.unplug(evse.id)

    async def _wind_down(self) -> None:
        """Close open sessions on shutdown so the CSMS is not left with dangling ones."""
        if not self._station.connected:
            return
        with contextlib.suppress(*LINK_ERRORS):
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S), self.lock:
                for evse_id in list(self._station.transactions):
                    await self._station.stop_transaction(evse_id, "Local")
                    self.counters.sessions_ended += 1
