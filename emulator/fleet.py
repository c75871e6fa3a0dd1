"""Run many emulated stations in one event loop.

Each station is a handful of coroutines and a websocket, with no threads of its
own, so thousands fit in one process. A semaphore bounds simultaneous opening
handshakes and boots, which is what a CSMS feels most.
"""

import asyncio
import contextlib
import functools
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any

from emulator.autopilot import Autopilot
from emulator.errors import EmulatorError
from emulator.faults import LinkFaults
from emulator.injector import FaultInjector
from emulator.scenario import Arrivals, FaultPlan, Network, Scenario, plan_faults
from emulator.station import StationSpec
from emulator.station_client import Station
from emulator.stats import FleetStats, LinkCounters, PilotCounters

REPORT_EVERY_S = 1.0
Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Report = Callable[[FleetStats], None]


class Fleet:
    """Stations that connect, charge and misbehave as the scenario says, while `async with` lasts.

        async with Fleet(url, specs, scenario=scenario) as fleet:
            await fleet.wait_connected()
            print(fleet.stats())

    `faults` overrides which stations the scenario's fault rules hit (a multi-process run
    decides that once for the whole fleet). `on_progress(connected, total)` is called whenever
    a station connects or drops. Leaving the block ends open sessions and closes every link.
    """

    def __init__(
        self,
        url: str,
        specs: Iterable[StationSpec],
        *,
        scenario: Scenario | None = None,
        faults: FaultPlan | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.scenario = scenario or Scenario()
        specs = list(specs)
        self._plan = (
            faults
            if faults is not None
            else plan_faults(self.scenario.faults, [spec.station_id for spec in specs], self.scenario.seed)
        )
        self._links = LinkCounters()
        self._pilots = PilotCounters()
        self._faults: Counter[str] = Counter()
        self._gate = asyncio.Semaphore(self.scenario.network.connect_concurrency)
        self._on_progress = on_progress
        self._connected = 0
        self._peak = 0
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self.stations: list[Station] = []
        self._jobs: list[Job] = []
        for spec in specs:
            self._add(url, spec)

    def _add(self, url: str, spec: StationSpec) -> None:
        scenario = self.scenario
        link = LinkFaults()
        station = Station(spec, url, connection_wrapper=link.wrapper(self._links, spec.station_id))
        pilot = Autopilot(
            station,
            id_tokens=scenario.id_tokens,
            arrivals=scenario.arrivals,
            sessions=scenario.sessions,
            network=scenario.network,
            connect_gate=self._gate,
            on_link=self._link_changed,
            counters=self._pilots,
        )
        self.stations.append(station)
        self._jobs.append(pilot.run)
        rules = self._plan.get(spec.station_id)
        if rules:
            # The impostor of a duplicate_id fault: same id and password, a plain link of its own.
            impostor = functools.partial(Station, spec, url)
            injector = FaultInjector(station, pilot, link, rules, counts=self._faults, impostor=impostor)
            self._jobs.append(injector.run)

    def _link_changed(self, linked: bool) -> None:
        self._connected += 1 if linked else -1
        self._peak = max(self._peak, self._connected)
        # Wake every waiter once, then give later waiters a fresh event.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if self._on_progress is not None:
            self._on_progress(self._connected, len(self.stations))

    async def __aenter__(self) -> "Fleet":
        self._runner = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for job in self._jobs:
                group.create_task(job(self._stop))

    def _running(self) -> asyncio.Task[None]:
        if self._runner is None:
            raise EmulatorError("the fleet runs only inside `async with Fleet(...)`")
        return self._runner

    async def _until(self, awaitable: Coroutine[Any, Any, Any]) -> None:
        """Wait for `awaitable`, but raise at once if a station crashed the fleet."""
        runner = self._running()
        waiter = asyncio.ensure_future(awaitable)
        try:
            await asyncio.wait({waiter, runner}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
        if runner.done():
            runner.result()
            raise EmulatorError("the fleet stopped")

    async def wait_connected(self, count: int | None = None) -> None:
        """Return once `count` stations (default: all) are connected at the same time."""
        target = len(self.stations) if count is None else count
        while self._connected < target:
            await self._until(self._changed.wait())

    async def run_until(self, stop: asyncio.Event, report: Report | None = None) -> None:
        """Keep the fleet going until `stop` is set, handing `report` a snapshot every second."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REPORT_EVERY_S if report is not None else None):
                    await self._until(stop.wait())
            if report is not None:
                report(self.stats())

    def stats(self) -> FleetStats:
        """The fleet's figures now; the counters only ever rise."""
        charging = sum(len(station.transactions) for station in self.stations)
        return FleetStats.of(
            stations=len(self.stations),
            connected=self._connected,
            peak_connected=self._peak,
            charging=charging,
            link=self._links,
            pilot=self._pilots,
            faults=self._faults,
        )


async def run_fleet(
    url: str,
    specs: Iterable[StationSpec],
    *,
    stop: asyncio.Event,
    id_tokens: list[str],
    session_probability: float,
    connect_concurrency: int = 200,
    on_progress: Callable[[int, int], None] | None = None,
) -> FleetStats:
    """Run every station until `stop` is set, then close them all and return the figures.

    `on_progress(connected, total)` is called whenever a station connects or drops.
    """
    scenario = Scenario(
        arrivals=Arrivals(probability=session_probability),
        id_tokens=tuple(id_tokens),
        network=Network(connect_concurrency=connect_concurrency),
    )
    async with Fleet(url, specs, scenario=scenario, on_progress=on_progress) as fleet:
        await fleet.run_until(stop)
    return fleet.stats()
