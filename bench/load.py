"""The load generator: ``python -m bench.load '<plan as JSON>'``, one process per measured server.

It is deliberately thin: raw ``websockets`` client connections sending pre-built frames, one
outstanding CALL per station (as OCPP-J requires), so that what limits a run is the server.
A fresh process per server means no server inherits the memory or sockets of the previous one.

Phases: prime (a few stations touch every code path, so one-time costs are not counted per
connection), connect (N stations connect and boot), idle (RSS measured), steady (a fixed total
rate of MeterValues and Heartbeats), burst (a few stations send MeterValues back to back).
The result is one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench import frames, proc
from bench.station import Station, close_all, open_station
from bench.stats import Figures, Recorder

# Four MeterValues to one Heartbeat: stations meter far more often than they idle.
STEADY_MIX = (frames.METER_VALUES,) * 4 + (frames.HEARTBEAT,)
PRIMER_ACTIONS = (frames.BOOT, frames.HEARTBEAT, frames.STATUS, frames.METER_VALUES)


@dataclass(frozen=True)
class LoadPlan:
    url: str
    server_pid: int
    stations: int
    rate: float
    duration: float
    warmup: float
    burst_stations: int
    burst_duration: float
    connect_concurrency: int
    settle: float
    call_timeout: float
    primer_stations: int = 10

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def prime(plan: LoadPlan) -> None:
    """Run every message once per primer station, then leave: compiled validators, statement
    caches and pools now exist, so the RSS baseline already includes them."""
    for i in range(plan.primer_stations):
        station = await open_station(plan.url, f"BENCH-PRIMER-{i}", plan.call_timeout)
        try:
            for action in PRIMER_ACTIONS:
                await station.call(action, plan.call_timeout)
        finally:
            await station.close()


async def connect_all(plan: LoadPlan, recorder: Recorder) -> list[Station]:
    """Connect and boot ``plan.stations`` stations, at most ``connect_concurrency`` at a time."""
    stations: list[Station] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < plan.stations:
            station_id = f"BENCH-{next_index:06d}"
            next_index += 1
            try:
                station = await open_station(plan.url, station_id, plan.call_timeout)
                recorder.ok(await station.call(frames.BOOT, plan.call_timeout))
            except Exception as exc:
                recorder.failed(f"{station_id}: {exc!r}")
            else:
                stations.append(station)

    reporter = asyncio.create_task(_report_connecting(plan.stations, stations, recorder))
    try:
        await asyncio.gather(*(worker() for _ in range(max(1, plan.connect_concurrency))))
    finally:
        reporter.cancel()
    progress(f"connected {len(stations)}/{plan.stations} ({recorder.errors} failed)")
    return stations


async def _report_connecting(total: int, stations: list[Station], recorder: Recorder) -> None:
    while True:
        await asyncio.sleep(1.0)
        progress(f"connecting {len(stations)}/{total} ... ({recorder.errors} failed)")


async def steady(plan: LoadPlan, stations: list[Station]) -> Figures:
    """Open loop: calls leave on a fixed schedule whatever the replies do, so a slow server
    shows up as latency. A call that finds every station still waiting counts as skipped."""
    recorder, pending = Recorder(), set[asyncio.Task[None]]()
    start = time.perf_counter()
    measure_from, end = start + plan.warmup, start + plan.warmup + plan.duration
    issued = skipped = cursor = 0
    while (now := time.perf_counter()) < end:
        for due in range(int((now - start) * plan.rate) - issued, 0, -1):
            cursor, station = _next_idle(stations, cursor)
            if station is None:  # all busy: skip this tick's remaining calls, not rescan per call
                issued += due
                skipped += due if now >= measure_from else 0
                break
            issued += 1
            action = STEADY_MIX[issued % len(STEADY_MIX)]
            task = asyncio.create_task(_timed(station, action, plan, recorder, now >= measure_from))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.sleep(max(0.0005, start + (issued + 1) / plan.rate - time.perf_counter()))
    if pending:
        await asyncio.wait(pending, timeout=plan.call_timeout + 1)
    return recorder.summary(plan.duration) | {"rate": plan.rate, "skipped": skipped}


def _next_idle(stations: list[Station], cursor: int) -> tuple[int, Station | None]:
    """Round robin over stations that are connected and have no call outstanding. The station
    is claimed here, not when its task starts, or the same tick could pick it twice."""
    for step in range(len(stations)):
        index = (cursor + step) % len(stations)
        if stations[index].ready:
            stations[index].busy = True
            return index + 1, stations[index]
    return cursor, None


async def _timed(station: Station, action: str, plan: LoadPlan, recorder: Recorder, keep: bool) -> None:
    try:
        latency = await station.call(action, plan.call_timeout)
    except Exception as exc:
        if keep:
            recorder.failed(f"{station.id} {action}: {exc!r}")
        return
    if keep:
        recorder.ok(latency)


async def burst(plan: LoadPlan, stations: list[Station]) -> Figures:
    """Closed loop: each burst station sends its next MeterValues as soon as the last is
    answered, so the completed count is the server's peak of persisted calls."""
    recorder = Recorder()
    chosen = [s for s in stations if s.ready][: plan.burst_stations]
    end = time.perf_counter() + plan.burst_duration

    async def loop(station: Station) -> None:
        while station.ready and time.perf_counter() < end:
            await _timed(station, frames.METER_VALUES, plan, recorder, True)

    start = time.perf_counter()
    await asyncio.gather(*(loop(s) for s in chosen))
    return recorder.summary(time.perf_counter() - start) | {"stations": len(chosen)}


async def measure(plan: LoadPlan) -> Figures:
    """All phases against one server; RSS and CPU are read from /proc between them."""
    pid = plan.server_pid
    await prime(plan)
    await asyncio.sleep(plan.settle)
    rss_before = proc.rss_kib(pid)
    connecting = Recorder()
    started = time.perf_counter()
    stations = await connect_all(plan, connecting)
    connect_seconds = time.perf_counter() - started
    try:
        await asyncio.sleep(plan.settle)
        rss_idle = proc.rss_kib(pid)
        held = sum(s.alive for s in stations)
        progress(f"holding {held} connections; steady phase at {plan.rate:g} calls/s ...")
        steady_figures = await _with_cpu(pid, steady(plan, stations))
        progress(f"burst phase with {plan.burst_stations} stations ...")
        burst_figures = await _with_cpu(pid, burst(plan, stations))
        held_at_end = sum(s.alive for s in stations)
        rss_end = proc.rss_kib(pid)
    finally:
        await close_all(stations, limit=15)
    return {
        "connections_held": held,
        "connections_held_at_end": held_at_end,
        "connect": connecting.summary(connect_seconds),
        "rss_before_kib": rss_before,
        "rss_idle_kib": rss_idle,
        "rss_per_idle_connection_kib": round((rss_idle - rss_before) / held, 2) if held else None,
        "rss_end_kib": rss_end,
        "steady": steady_figures,
        "burst": burst_figures,
    }


async def _with_cpu(pid: int, phase: asyncio.Future[Figures] | Coroutine[Any, Any, Figures]) -> Figures:
    """Add the server's and our own CPU use during ``phase``: 100 % means one core was saturated."""
    wall, server_cpu, own_cpu = time.perf_counter(), proc.cpu_seconds(pid), time.process_time()
    figures = await phase
    wall = time.perf_counter() - wall
    return figures | {
        "server_cpu_pct": round((proc.cpu_seconds(pid) - server_cpu) / wall * 100, 1),
        "load_cpu_pct": round((time.process_time() - own_cpu) / wall * 100, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print("usage: python -m bench.load '<plan as JSON>' (python -m bench.ocpp_load runs it)")
        return 2
    plan = LoadPlan(**json.loads(args[0]))
    proc.raise_open_file_limit()
    print(json.dumps(proc.run(measure(plan))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
