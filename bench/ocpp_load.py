"""``python -m bench.ocpp_load``: how many stations the CSMS holds, how fast it answers and how
much memory a connection costs, next to two servers measured in the same run:

- ``ceiling``: bare websockets with canned answers (what Python can do at all),
- ``reference``: the ``ocpp`` library with fixed answers and no persistence.

Servers run one at a time, each in its own process pinned to one core, and the load generator
runs in another process on another core. One JSON line goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench import launch, proc, verdict
from bench.load import LoadPlan, progress
from bench.stats import Figures, ratios

DEFAULTS = {"stations": 1000, "rate": 1000.0, "duration": 20.0, "burst_stations": 100}
QUICK = {"stations": 50, "rate": 200.0, "duration": 2.0, "burst_stations": 10}
DB_NAME = "csms_bench"


@dataclass(frozen=True)
class Options:
    stations: int
    rate: float
    duration: float
    burst_stations: int
    burst_duration: float
    warmup: float
    settle: float
    database: str
    targets: tuple[str, ...]
    quick: bool
    connect_concurrency: int
    postgres: str


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = _parser()
    args = parser.parse_args(argv)
    chosen = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if not chosen or any(t not in launch.SERVERS for t in chosen):
        parser.error(f"--targets takes a comma-separated subset of {','.join(launch.SERVERS)}")
    for name in ("stations", "rate", "duration", "burst_stations", "burst_duration"):
        given = getattr(args, name)
        if given is not None and given <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    base = QUICK if args.quick else DEFAULTS

    def pick(name: str) -> float:
        given = getattr(args, name)
        return float(base[name] if given is None else given)

    return Options(
        stations=int(pick("stations")),
        rate=pick("rate"),
        duration=pick("duration"),
        burst_stations=int(pick("burst_stations")),
        burst_duration=args.burst_duration or (2.0 if args.quick else 10.0),
        warmup=1.0 if args.quick else 3.0,
        settle=0.5 if args.quick else 2.0,
        database=args.database,
        targets=chosen,
        quick=args.quick,
        connect_concurrency=args.connect_concurrency,
        postgres=args.postgres,
    )


def _parser() -> argparse.ArgumentParser:
    """Scenario flags default to None so that ``--quick`` can tell given values from defaults."""
    parser = argparse.ArgumentParser(prog="python -m bench.ocpp_load", description=__doc__)
    parser.add_argument("--stations", type=int, help="stations to connect (default 1000)")
    parser.add_argument("--rate", type=float, help="total calls/s in the steady phase (default 1000)")
    parser.add_argument("--duration", type=float, help="seconds of steady phase (default 20)")
    parser.add_argument("--burst-stations", type=int, help="stations in the peak phase (default 100)")
    parser.add_argument("--burst-duration", type=float, help="seconds of peak phase (default 10)")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--targets", default="csms,reference,ceiling", help="servers to measure")
    parser.add_argument("--quick", action="store_true", help="small numbers: checks it works in ~30 s")
    parser.add_argument("--connect-concurrency", type=int, default=100, help="handshakes at once")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin DSN (local)"
    )
    return parser


def cpu_plan() -> tuple[int | None, int | None]:
    """The first core for the server, the second for the load generator (if there are two)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


def measure(name: str, options: Options, database_url: str, workdir: Path) -> Figures:
    server_cpu, load_cpu = cpu_plan()
    progress(f"[{name}] starting server ...")
    server = launch.start_server(name, database_url, server_cpu, workdir)
    try:
        plan = LoadPlan(
            url=server.url,
            server_pid=server.process.pid,
            stations=options.stations,
            rate=options.rate,
            duration=options.duration,
            warmup=options.warmup,
            burst_stations=options.burst_stations,
            burst_duration=options.burst_duration,
            connect_concurrency=options.connect_concurrency,
            settle=options.settle,
            call_timeout=10.0,
        )
        return run_load(plan, load_cpu, name)
    finally:
        launch.stop(server.process)
        if server.process.returncode not in (0, -signal.SIGTERM):
            progress(f"[{name}] server exit code {server.process.returncode}:\n{server.log_tail()}")


def run_load(plan: LoadPlan, cpu: int | None, name: str) -> Figures:
    """The load generator in its own process, bounded in time by what its phases should take."""
    limit = 120 + plan.stations * 0.05 + plan.warmup + plan.duration + plan.burst_duration
    return launch.run_child(
        ["bench.load", plan.to_json()],
        cpu=cpu,
        limit=limit,
        stop_limit=5,
        failure=f"[{name}] load generator failed",
    )


def report(options: Options, results: dict[str, Figures]) -> Figures:
    server_cpu, load_cpu = cpu_plan()
    pairs = [("csms", "reference"), ("csms", "ceiling"), ("reference", "ceiling")]
    csms = results.get("csms")
    return {
        "benchmark": "ocpp_load",
        "params": {
            "stations": options.stations,
            "rate": options.rate,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "burst_stations": options.burst_stations,
            "burst_duration_s": options.burst_duration,
            "database": options.database,
            "quick": options.quick,
            "ocpp": "1.6",
            "cpus": {"server": server_cpu, "load": load_cpu, "online": os.cpu_count()},
            "event_loop": proc.event_loop_name(),
            "python": platform.python_version(),
        },
        "results": results,
        "ratios": {
            f"{a}/{b}": ratios(results[a], results[b])
            for a, b in pairs
            if a in results and b in results and "error" not in results[a] and "error" not in results[b]
        },
        "targets": None
        if csms is None or "error" in csms
        else verdict.targets(
            csms, stations=options.stations, rate=options.rate, burst_stations=options.burst_stations
        ),
    }


def run(options: Options) -> tuple[Figures, bool]:
    """Measure each chosen server in turn; the database and temp files go whatever happens."""
    workdir, results, ok = launch.workdir(), dict[str, Figures](), True
    try:
        database_url = ""
        if "csms" in options.targets:
            progress(f"creating and migrating the {options.database} database {DB_NAME} ...")
            database_url = launch.create_database(options.database, options.postgres, DB_NAME, workdir)
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


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every ``finally``, like Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    proc.raise_open_file_limit()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        figures, ok = run(options)
    except KeyboardInterrupt:
        progress("interrupted; servers stopped and the bench database dropped")
        return 130
    print(json.dumps(figures), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
