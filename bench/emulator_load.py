"""``python -m bench.emulator_load``: how many stations one emulator process keeps on schedule.

The emulator's own ``Fleet`` (what ``csms-emulator`` runs) drives ``--stations`` OCPP 1.6
stations from one process pinned to one core, against a server pinned to another: first
the bare canned-answer server (``ceiling``: the emulator is then the only thing that can
be slow), then the real CSMS. Every station has one EVSE that charges for the whole run, so
it sends one MeterValues every ``--interval`` seconds: the fleet should send
``stations / interval`` messages/s. One JSON line goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

from bench import launch, proc
from bench.load import progress
from bench.stats import Figures
from chargepoints import admin
from csms import bootstrap
from csms.settings import Settings
from emulator import Fleet, StationSpec
from emulator.procs import frozen_once_connected, tune_process
from emulator.scenario import Arrivals, Network, Scenario, SessionLength
from emulator.stats import FleetStats

DB_NAME = "csms_emulator_bench"
# Twice as many tokens as stations: a token in use is refused (ConcurrentTx), and with half of
# them free the last stations find one within a tick or two.
TOKENS_PER_STATION = 2
PROGRESS_EVERY_S = 10.0
TARGETS = ("ceiling", "csms")
# Sustained: every station held, at least this share of the intended rate, at most this many late.
MIN_RATE_SHARE = 0.98
MAX_LATE_RATIO = 0.01


@dataclass(frozen=True)
class FleetPlan:
    """What the emulator process runs; it is handed over as JSON."""

    url: str
    server_pid: int
    stations: int
    interval: float
    duration: float
    connect_concurrency: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def tokens(stations: int) -> tuple[str, ...]:
    return tuple(f"BENCH-{n:06d}" for n in range(stations * TOKENS_PER_STATION))


async def drive(plan: FleetPlan) -> Figures:
    """Connect the fleet, let every session start, then measure one window of steady charging."""
    specs = [
        StationSpec(f"EMU-{n:05d}", "1.6", evse_count=1, meter_interval_s=plan.interval)
        for n in range(plan.stations)
    ]
    scenario = Scenario(
        arrivals=Arrivals(probability=1.0),
        sessions=SessionLength(kind="fixed", minutes=1e6),
        id_tokens=tokens(plan.stations),
        network=Network(connect_concurrency=plan.connect_concurrency),
    )
    fleet = Fleet(plan.url, specs, scenario=scenario)
    async with fleet, frozen_once_connected(fleet):
        connect_s = await _connect(fleet, limit=60 + plan.stations * 0.1)
        progress(f"  {plan.stations} connected in {connect_s:.1f} s; sessions start within one interval ...")
        await _sleep(fleet, 1.5 * plan.interval)
        progress(f"  measuring {plan.duration:g} s ...")
        start = Mark.take(fleet, plan.server_pid)
        await _sleep(fleet, plan.duration)
        end = Mark.take(fleet, plan.server_pid)
        progress("  ending the sessions ...")
    return {"connect_s": round(connect_s, 1), **_figures(plan, start, end)}


async def _connect(fleet: Fleet, limit: float) -> float:
    """Wait until every station is connected at once, saying how far it got every few seconds."""
    started = time.perf_counter()
    while True:
        try:
            await asyncio.wait_for(fleet.wait_connected(), PROGRESS_EVERY_S)
            return time.perf_counter() - started
        except TimeoutError:
            now = fleet.stats()
            progress(f"  connected {now.connected}/{now.stations}, {now.connect_failures} attempts failed")
        if time.perf_counter() - started > limit:
            raise launch.LaunchError(f"not every station connected within {limit:g} s")


async def _sleep(fleet: Fleet, seconds: float) -> None:
    """Sleep, but fail at once if the fleet crashes."""
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    await fleet.run_until(stop)


@dataclass(frozen=True)
class Mark:
    """The fleet's counters and the clocks at one instant."""

    stats: FleetStats
    wall: float
    cpu: float
    server_cpu: float
    rss_kib: int

    @classmethod
    def take(cls, fleet: Fleet, server_pid: int) -> Mark:
        return cls(
            fleet.stats(),
            time.perf_counter(),
            time.process_time(),
            proc.cpu_seconds(server_pid),
            proc.rss_kib(os.getpid()),
        )


def _figures(plan: FleetPlan, start: Mark, end: Mark) -> Figures:
    before, after, wall = start.stats, end.stats, end.wall - start.wall
    intended = plan.stations / plan.interval
    achieved = (after.calls - before.calls) / wall
    ticks = after.ticks - before.ticks
    late_ratio = (after.late_ticks - before.late_ticks) / ticks if ticks else 0.0
    return {
        "stations_held": after.connected,
        "charging": after.charging,
        "messages_per_s": round(achieved, 1),
        "intended_per_s": round(intended, 1),
        "achieved_share": round(achieved / intended, 3),
        "late_send_ratio": round(late_ratio, 4),
        "errors": (after.errors + after.connect_failures + after.call_errors)
        - (before.errors + before.connect_failures + before.call_errors),
        "emulator_cpu_pct": round((end.cpu - start.cpu) / wall * 100, 1),
        "emulator_rss_kib": end.rss_kib,
        "rss_per_station_kib": round(end.rss_kib / plan.stations, 1),
        "server_cpu_pct": round((end.server_cpu - start.server_cpu) / wall * 100, 1),
        "sustained": after.connected == plan.stations
        and achieved >= MIN_RATE_SHARE * intended
        and late_ratio <= MAX_LATE_RATIO,
    }


@dataclass(frozen=True)
class Options:
    stations: int
    interval: float
    duration: float
    targets: tuple[str, ...]
    database: str
    postgres: str
    connect_concurrency: int


def parse_args(argv: Sequence[str] | None) -> Options | FleetPlan:
    """The orchestrator's options, or (with --fleet) the plan of the emulator process it starts."""
    parser = argparse.ArgumentParser(prog="python -m bench.emulator_load", description=__doc__)
    add = parser.add_argument
    add("--stations", type=int, default=5000, help="stations in the one emulator process")
    add("--interval", type=float, default=10.0, help="seconds between a station's messages")
    add("--duration", type=float, default=30.0, help="seconds measured, after connecting and warm-up")
    add("--targets", default=",".join(TARGETS), help="servers to run against, in order")
    add("--database", choices=["postgres", "sqlite"], default="sqlite", help="for the CSMS")
    add("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin DSN (local)")
    add("--connect-concurrency", type=int, default=50, help="handshakes and boots in flight at once")
    add("--fleet", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fleet:
        return FleetPlan(**json.loads(args.fleet))
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if not targets or any(t not in TARGETS for t in targets):
        parser.error(f"--targets takes a comma-separated subset of {','.join(TARGETS)}")
    if min(args.stations, args.interval, args.duration, args.connect_concurrency) <= 0:
        parser.error("--stations, --interval, --duration and --connect-concurrency must be positive")
    return Options(
        args.stations,
        args.interval,
        args.duration,
        targets,
        args.database,
        args.postgres,
        args.connect_concurrency,
    )


def cpu_plan() -> tuple[int | None, int | None]:
    """The first core for the server, the second for the emulator (if there are two)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


def measure(name: str, options: Options, database_url: str, workdir: Path) -> Figures:
    server_cpu, emulator_cpu = cpu_plan()
    progress(f"[{name}] starting server ...")
    server = launch.start_server(name, database_url, server_cpu, workdir)
    try:
        plan = FleetPlan(
            server.url,
            server.process.pid,
            options.stations,
            options.interval,
            options.duration,
            options.connect_concurrency,
        )
        return run_fleet_process(plan, emulator_cpu, name)
    finally:
        launch.stop(server.process)


def run_fleet_process(plan: FleetPlan, cpu: int | None, name: str) -> Figures:
    """The emulator in a fresh process, so its memory figure is its own."""
    limit = 180 + plan.stations * 0.1 + 2.5 * plan.interval + plan.duration
    return launch.run_child(
        ["bench.emulator_load", "--fleet", plan.to_json()],
        cpu=cpu,
        limit=limit,
        stop_limit=15,
        failure=f"[{name}] emulator process failed",
    )


def provision(options: Options, workdir: Path) -> str:
    """A migrated CSMS database holding the tokens the stations charge with."""
    progress(f"creating and migrating the {options.database} database {DB_NAME} ...")
    url = launch.create_database(options.database, options.postgres, DB_NAME, workdir)
    progress(f"adding {options.stations * TOKENS_PER_STATION} id tokens ...")
    asyncio.run(_add_tokens(url, tokens(options.stations)))
    return url


async def _add_tokens(database_url: str, ids: tuple[str, ...]) -> None:
    """Through the CSMS's own provisioning use case, a few at a time."""
    system = bootstrap.build(Settings(database_url=database_url))
    gate = asyncio.Semaphore(8)

    async def add(token: str) -> None:
        async with gate:
            await admin.put_token(admin.TokenSpec(token), uow=system.uow(), clock=system.clock)

    try:
        await asyncio.gather(*(add(token) for token in ids))
    finally:
        await system.engine.dispose()


def run(options: Options) -> tuple[Figures, bool]:
    """Measure against each target in turn; the database and temp files go whatever happens."""
    workdir, results, ok = launch.workdir(), dict[str, Figures](), True
    try:
        database_url = provision(options, workdir) if "csms" in options.targets else ""
        for name in options.targets:
            try:
                results[name] = measure(name, options, database_url, workdir)
            except (launch.LaunchError, subprocess.TimeoutExpired, ValueError) as exc:
                progress(f"[{name}] failed: {exc}")
                results[name], ok = {"error": str(exc)[:500]}, False
    finally:
        if "csms" in options.targets:
            launch.drop_database(options.database, options.postgres, DB_NAME)
        shutil.rmtree(workdir, ignore_errors=True)
    return report(options, results), ok


def report(options: Options, results: dict[str, Figures]) -> Figures:
    server_cpu, emulator_cpu = cpu_plan()
    return {
        "benchmark": "emulator_load",
        "params": {
            "stations": options.stations,
            "interval_s": options.interval,
            "duration_s": options.duration,
            "database": options.database,
            "ocpp": "1.6",
            "cpus": {"server": server_cpu, "emulator": emulator_cpu, "online": os.cpu_count()},
            "event_loop": "asyncio",
            "python": platform.python_version(),
        },
        "results": results,
    }


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every ``finally``, like Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    parsed = parse_args(argv)
    proc.raise_open_file_limit()
    if isinstance(parsed, FleetPlan):
        # Set up as csms-emulator sets up its process: plain asyncio, no uvloop.
        tune_process()
        print(json.dumps(asyncio.run(drive(parsed))), flush=True)
        return 0
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        figures, ok = run(parsed)
    except KeyboardInterrupt:
        progress("interrupted; servers stopped and the bench database dropped")
        return 130
    print(json.dumps(figures), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
