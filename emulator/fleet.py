"""Run many emulated stations in one event loop.

Each station is a handful of coroutines and a websocket, with no threads of its
own, so thousands fit in one process. A semaphore bounds simultaneous opening
handshakes and boots, which is what a CSMS feels most.
"""

import asyncio
from collections.abc import Callable, Iterable

from emulator.station import StationSpec
from emulator.station_client import EmulatedStation


class _LinkCounter:
    """Counts live links and reports each change."""

    def __init__(self, total: int, on_progress: Callable[[int, int], None] | None) -> None:
        self.total = total
        self.linked = 0
        self._on_progress = on_progress

    def __call__(self, linked: bool) -> None:
        self.linked += 1 if linked else -1
        if self._on_progress is not None:
            self._on_progress(self.linked, self.total)


async def run_fleet(
    url: str,
    specs: Iterable[StationSpec],
    *,
    stop: asyncio.Event,
    id_tokens: list[str],
    session_probability: float,
    connect_concurrency: int = 200,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Run every station until `stop` is set, then close them all.

    `on_progress(connected, total)` is called whenever a station connects or drops.
    """
    stations = [EmulatedStation(spec, url) for spec in specs]
    gate = asyncio.Semaphore(connect_concurrency)
    counter = _LinkCounter(len(stations), on_progress)
    async with asyncio.TaskGroup() as group:
        for station in stations:
            group.create_task(
                station.run(
                    stop,
                    session_probability=session_probability,
                    id_tokens=id_tokens,
                    connect_gate=gate,
                    on_link=counter,
                )
            )
