"""One fleet over several processes, for when one core is not enough.

Each child runs its share of the stations in its own event loop and reports its figures
every second over a queue; the parent adds them up, shows them and tells the children when to
stop. Which stations the fault rules hit is decided once, before the split, so "5 %" keeps
meaning 5 % of the whole fleet.
"""

import asyncio
import contextlib
import gc
import logging
import math
import multiprocessing
import queue
import resource
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event as ProcessEvent
from types import FrameType
from typing import Any

import ocpp.messages

from emulator.errors import EmulatorError
from emulator.fleet import Fleet
from emulator.scenario import FaultPlan, Scenario, plan_faults
from emulator.station import StationSpec
from emulator.stats import FleetStats, merge

POLL_S = 0.5
YOUNG_GENERATION = 50_000
JOIN_TIMEOUT_S = 30.0
Report = tuple[int, FleetStats, bool]  # (child, snapshot, final)


def tune_process() -> None:
    """Settings for a process that runs nothing but a fleet.

    Every station is an open socket, so the soft open-file limit goes up to the hard one. The
    `ocpp` library validates each message on a thread-pool worker by default: for a fleet's
    small payloads the hand-off costs more than the check, so it is done inline (measured: a
    fifth less CPU at 500 messages/s, and no late ticks). A larger young generation makes the
    garbage collector run less often over a heap that is mostly long-lived stations.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ocpp.messages.ASYNC_VALIDATION = False
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


@contextlib.asynccontextmanager
async def frozen_once_connected(fleet: Fleet) -> AsyncIterator[None]:
    """While the block runs: once every station is up, hide the long-lived objects from the
    garbage collector.

    A full collection walks the whole heap: over 5,000 stations that stalled the event loop
    for seconds at a time and made a fifth of the meter values late. Frozen, the stations are
    never walked again; what they allocate from then on is collected as usual.
    """

    async def freeze() -> None:
        await fleet.wait_connected()
        gc.collect()
        gc.freeze()

    freezing = asyncio.create_task(freeze())
    try:
        yield
    finally:
        freezing.cancel()
        # A crashed fleet is reported by whoever runs it, not by this helper.
        await asyncio.gather(freezing, return_exceptions=True)


@dataclass(frozen=True)
class Share:
    """What one child runs."""

    index: int
    url: str
    specs: tuple[StationSpec, ...]
    scenario: Scenario
    faults: FaultPlan


def split(url: str, specs: list[StationSpec], scenario: Scenario, procs: int) -> list[Share]:
    """Deal the stations out round-robin, so each child gets the same version mix."""
    plan = plan_faults(scenario.faults, [spec.station_id for spec in specs], scenario.seed)
    shares = []
    for index in range(min(procs, len(specs))):
        part = tuple(specs[index::procs])
        hit = {spec.station_id: plan[spec.station_id] for spec in part if spec.station_id in plan}
        shares.append(Share(index, url, part, scenario, hit))
    return shares


def child_main(share: Share, reports: "multiprocessing.Queue[Report]", stop: ProcessEvent) -> None:
    """A child's entry point; Ctrl-C reaches the whole process group, but only the parent acts on it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_process()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_child_fleet(share, reports, stop))


async def _child_fleet(share: Share, reports: "multiprocessing.Queue[Report]", stop: ProcessEvent) -> None:
    halt = asyncio.Event()

    def report(stats: FleetStats) -> None:
        reports.put((share.index, stats, False))
        if stop.is_set():
            halt.set()

    fleet = Fleet(share.url, share.specs, scenario=share.scenario, faults=share.faults)
    async with fleet, frozen_once_connected(fleet):
        await fleet.run_until(halt, report)
    reports.put((share.index, fleet.stats(), True))


class _StopRequest:
    """SIGINT/SIGTERM set a flag the parent's loop polls; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True


def run_in_processes(
    shares: list[Share], *, duration_s: float, on_stats: Callable[[FleetStats], None]
) -> FleetStats:
    """Run every share in its own process until the duration ends or a signal asks to stop."""
    context = multiprocessing.get_context("spawn")
    reports: multiprocessing.Queue[Report] = context.Queue()
    stop = context.Event()
    children = [context.Process(target=child_main, args=(share, reports, stop)) for share in shares]
    for child in children:
        child.start()
    try:
        return _collect(children, reports, stop, duration_s, on_stats)
    finally:
        stop.set()
        for child in children:
            child.join(JOIN_TIMEOUT_S)
            if child.is_alive():
                child.terminate()


def _collect(
    children: list[Any],
    reports: "multiprocessing.Queue[Report]",
    stop: ProcessEvent,
    duration_s: float,
    on_stats: Callable[[FleetStats], None],
) -> FleetStats:
    latest: dict[int, FleetStats] = {}
    finished: set[int] = set()
    deadline = time.monotonic() + duration_s if duration_s > 0 else math.inf
    request = _StopRequest()
    suspect: int | None = None
    while len(finished) < len(children):
        if request.requested or time.monotonic() >= deadline:
            stop.set()
        try:
            index, stats, final = reports.get(timeout=POLL_S)
        except queue.Empty:
            # An exited child's last reports may still be in the pipe: a second empty poll condemns it.
            lost = _lost(children, finished)
            if lost is not None and lost == suspect:
                code = children[lost].exitcode
                raise EmulatorError(f"fleet process {lost} exited with code {code}") from None
            suspect = lost
            continue
        latest[index] = stats
        if final:
            finished.add(index)
        on_stats(merge(latest.values()))
    return merge(latest.values())


def _lost(children: list[Any], finished: set[int]) -> int | None:
    """The first child that has exited without its final report, if any."""
    for index, child in enumerate(children):
        if index not in finished and child.exitcode is not None:
            return index
    return None
