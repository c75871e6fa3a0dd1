"""`csms-emulator`: run a fleet of emulated stations against a CSMS."""

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Sequence

from emulator.fleet import run_fleet
from emulator.station import OcppVersion, StationSpec

PROGRESS_EVERY_S = 1.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and sanity-check the command line."""
    parser = argparse.ArgumentParser(prog="csms-emulator", description=__doc__)
    add = parser.add_argument
    add("--url", default="ws://127.0.0.1:8000/ocpp", help="CSMS websocket base URL")
    add("--stations", type=int, default=1, help="number of stations")
    add("--prefix", default="EMU-", help="station id prefix")
    add("--first", type=int, default=1, help="number of the first station")
    add("--ocpp", choices=["1.6", "2.0.1", "mixed"], default="1.6", help="mixed alternates")
    add("--password", default=None, help="HTTP Basic password for every station")
    add("--evses", type=int, default=2, help="EVSEs per station")
    add("--meter-interval", type=float, default=10.0, help="seconds between meter values")
    add("--tokens", default="TAG-0001", help="comma-separated id tokens to charge with")
    add(
        "--session-probability",
        type=float,
        default=0.05,
        help="chance per meter interval that an idle EVSE starts a session",
    )
    add("--duration", type=float, default=0.0, help="seconds to run; 0 runs until Ctrl-C")
    args = parser.parse_args(argv)
    if args.stations < 1 or args.evses < 1 or args.meter_interval <= 0:
        parser.error("--stations and --evses must be >= 1 and --meter-interval > 0")
    if not 0.0 <= args.session_probability <= 1.0:
        parser.error("--session-probability must be between 0 and 1")
    return args


def build_specs(args: argparse.Namespace) -> list[StationSpec]:
    """Station specs numbered from --first, e.g. EMU-0001."""
    width = max(4, len(str(args.first + args.stations - 1)))
    specs = []
    for index in range(args.stations):
        version: OcppVersion = args.ocpp
        if args.ocpp == "mixed":
            version = "1.6" if index % 2 == 0 else "2.0.1"
        specs.append(
            StationSpec(
                station_id=f"{args.prefix}{args.first + index:0{width}d}",
                version=version,
                evse_count=args.evses,
                password=args.password,
                meter_interval_s=args.meter_interval,
            )
        )
    return specs


class ProgressPrinter:
    """Prints "connected n/total" at most once a second, plus every all-or-none moment."""

    def __init__(self) -> None:
        self._printed_at = 0.0

    def __call__(self, connected: int, total: int) -> None:
        now = time.monotonic()
        if connected in (0, total) or now - self._printed_at >= PROGRESS_EVERY_S:
            self._printed_at = now
            print(f"connected {connected}/{total}", flush=True)


async def _run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        print("stopping...", flush=True)
        stop.set()
        # A second Ctrl-C then interrupts the graceful shutdown.
        loop.remove_signal_handler(signal.SIGINT)

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows
            loop.add_signal_handler(signum, request_stop)
    if args.duration > 0:
        loop.call_later(args.duration, request_stop)
    await run_fleet(
        args.url,
        build_specs(args),
        stop=stop,
        id_tokens=[token for token in args.tokens.split(",") if token],
        session_probability=args.session_probability,
        on_progress=ProgressPrinter(),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))
    print("stopped", flush=True)
