"""`csms-emulator`: run a fleet of emulated stations against a CSMS.

Live figures go to stderr, a JSON summary to stdout at the end. A scenario file (TOML)
describes stations, EV arrivals, session lengths, id tokens, reconnects and faults; the
station flags (--count, --version, --prefix, --first, --evses) replace its [[stations]],
and the other flags override the matching setting.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace

from emulator.fleet import Fleet
from emulator.procs import frozen_once_connected, run_in_processes, split, tune_process
from emulator.progress import Watch
from emulator.scenario import VERSION_MIXES, Arrivals, Scenario, ScenarioError, StationGroup
from emulator.scenario_file import load_scenario
from emulator.station import StationSpec
from emulator.stats import FleetStats

GROUP_FLAGS = ("count", "version", "prefix", "first", "evses")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and sanity-check the command line; unset flags stay None so a scenario can fill them."""
    parser = argparse.ArgumentParser(
        prog="csms-emulator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--url", default="ws://127.0.0.1:8000/ocpp", help="CSMS websocket base URL")
    add("--count", "--stations", dest="count", type=int, help="number of stations (default 1)")
    add("--version", "--ocpp", dest="version", choices=sorted(VERSION_MIXES), help="mixed alternates")
    add("--scenario", help="scenario file (TOML)")
    add("--password", help="HTTP Basic password for every station")
    add("--procs", type=int, default=1, help="processes to split the fleet across")
    add("--prefix", help="station id prefix (default EMU-)")
    add("--first", type=int, help="number of the first station (default 1)")
    add("--evses", type=int, help="EVSEs per station (default 2)")
    add("--meter-interval", type=float, help="seconds between meter values (default 10)")
    add("--tokens", help="comma-separated id tokens to charge with (default TAG-0001)")
    add("--session-probability", type=float, help="chance per meter tick that an EV arrives (default 0.05)")
    add("--arrival-rate", type=float, help="EV arrivals per hour per EVSE (Poisson)")
    add("--connect-concurrency", type=int, help="handshakes and boots in flight at once (default 200)")
    add("--duration", type=float, default=0.0, help="seconds to run; 0 runs until Ctrl-C")
    add("--quiet", action="store_true", help="no live figures, just the summary")
    args = parser.parse_args(argv)
    for name in ("count", "evses", "procs", "connect_concurrency"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.meter_interval is not None and args.meter_interval <= 0:
        parser.error("--meter-interval must be positive")
    if args.session_probability is not None and not 0.0 <= args.session_probability <= 1.0:
        parser.error("--session-probability must be between 0 and 1")
    if args.arrival_rate is not None and args.arrival_rate < 0:
        parser.error("--arrival-rate must not be negative")
    return args


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The scenario file (or the defaults) with the command line's settings on top."""
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    stations = scenario.stations
    if not stations or any(getattr(args, flag) is not None for flag in GROUP_FLAGS):
        stations = (_group_from_flags(args),)
    if args.password is not None:
        stations = tuple(replace(group, password=args.password) for group in stations)
    if args.meter_interval is not None:
        stations = tuple(replace(group, meter_interval_s=args.meter_interval) for group in stations)
    arrivals = scenario.arrivals
    if args.arrival_rate is not None:
        arrivals = Arrivals(rate_per_hour=args.arrival_rate)
    elif args.session_probability is not None:
        arrivals = Arrivals(probability=args.session_probability)
    network = scenario.network
    if args.connect_concurrency is not None:
        network = replace(network, connect_concurrency=args.connect_concurrency)
    tokens = scenario.id_tokens
    if args.tokens is not None:
        tokens = tuple(token for token in args.tokens.split(",") if token)
    return replace(scenario, stations=stations, arrivals=arrivals, network=network, id_tokens=tokens)


def _group_from_flags(args: argparse.Namespace) -> StationGroup:
    return StationGroup(
        count=args.count or 1,
        prefix="EMU-" if args.prefix is None else args.prefix,
        first=1 if args.first is None else args.first,
        versions=VERSION_MIXES[args.version or "1.6"],
        evses=args.evses or 2,
    )


def build_specs(args: argparse.Namespace) -> list[StationSpec]:
    """The stations the command line asks for, e.g. EMU-0001 to EMU-0100."""
    return scenario_from_args(args).specs()


async def run_here(
    url: str, specs: list[StationSpec], scenario: Scenario, duration_s: float, watch: Watch
) -> FleetStats:
    """Run the fleet in this process until the duration ends or Ctrl-C / SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        print("stopping: ending sessions and closing links ...", file=sys.stderr, flush=True)
        stop.set()
        # A second Ctrl-C then interrupts the graceful shutdown.
        loop.remove_signal_handler(signal.SIGINT)

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows
            loop.add_signal_handler(signum, request_stop)
    if duration_s > 0:
        loop.call_later(duration_s, stop.set)
    fleet = Fleet(url, specs, scenario=scenario)
    async with fleet, frozen_once_connected(fleet):
        await fleet.run_until(stop, watch.update)
    return fleet.stats()


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    args = parse_args(argv)
    try:
        scenario = scenario_from_args(args)
        specs = scenario.specs()
    except ScenarioError as exc:
        sys.exit(f"csms-emulator: {exc}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    tune_process()
    with contextlib.suppress(KeyboardInterrupt), Watch(show=not args.quiet) as watch:
        if args.procs > 1:
            shares = split(args.url, specs, scenario, args.procs)
            stats = run_in_processes(shares, duration_s=args.duration, on_stats=watch.update)
        else:
            stats = asyncio.run(run_here(args.url, specs, scenario, args.duration, watch))
        print(json.dumps(watch.summary(stats, url=args.url, procs=args.procs)), flush=True)
