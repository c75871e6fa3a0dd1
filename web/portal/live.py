"""Live station updates for portal pages: one bus subscription, one server-sent event stream per page.

``GET /portal/live/stations?id=CP-1&id=CP-2&view=row`` streams ``event: station`` messages whose data
is the station's partial re-rendered: ``row`` is the board's ``<tbody id="station-…">``, ``evses``
the detail page's ``<section id="evses-…">``. Without ``id`` it streams every station the user may
see as events arrive. A page swaps each message in by element id; ``board/_live.html`` does that
for any element carrying ``data-live``.

Events only mark stations dirty; each stream re-reads its dirty stations at most once per
``THROTTLE_S``, so a busy fleet costs a viewer one query a second rather than a message per meter
value. Connecting and disconnecting publish no event (the database does not record them), so each
stream also asks the gateway every ``SWEEP_S`` whether the stations it showed are still connected.
A new stream starts with a snapshot of the stations it names, which also mends what a dropped
connection missed when the browser reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from chargepoints import events, portal_queries
from chargepoints.ports import StationGateway
from web.portal.deps import PortalPrincipal, Staff, tenant_scope
from web.portal.templating import render

router = APIRouter()
THROTTLE_S = 1.0
SWEEP_S = 10.0
RETRY_MS = 5000
"""How long a browser waits before it reconnects a dropped stream."""
BATCH = 100
"""Stations one message round re-renders; more wait for the next round."""
MAX_IDS = 200
VIEWS = {"row": "board/_row.html", "evses": "stations/_evses.html"}
_WATCHED = (
    events.ConnectorStatusChanged,
    events.MeterValuesRecorded,
    events.TransactionStarted,
    events.TransactionEnded,
    events.StationBooted,
)


class Watch:
    """What one stream waits for: its stations (None: any), those changed since it last sent, and
    whether each station it sent was connected."""

    def __init__(self, station_ids: frozenset[str] | None) -> None:
        self.station_ids = station_ids
        self.dirty: set[str] = set(station_ids or ())
        self.connected: dict[str, bool] = {}
        self.wake = asyncio.Event()
        if self.dirty:
            self.wake.set()

    def mark(self, station_id: str) -> None:
        if self.station_ids is None or station_id in self.station_ids:
            self.dirty.add(station_id)
            self.wake.set()

    def take(self, limit: int) -> list[str]:
        taken = sorted(self.dirty)[:limit]
        self.dirty.difference_update(taken)
        if not self.dirty:
            self.wake.clear()
        return taken


class StationFeed:
    """The bus handler for every portal stream of this process (the bus has no unsubscribe, so
    streams register here rather than on the bus)."""

    def __init__(self) -> None:
        self._watches: set[Watch] = set()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, _WATCHED):
            for watch in self._watches:
                watch.mark(event.station_id)

    @contextlib.contextmanager
    def watch(self, station_ids: frozenset[str] | None) -> Iterator[Watch]:
        watch = Watch(station_ids)
        self._watches.add(watch)
        try:
            yield watch
        finally:
            self._watches.discard(watch)

    def __len__(self) -> int:
        return len(self._watches)


def feed(request: Request) -> StationFeed:
    """The app's feed, subscribed to the bus when the first stream opens (no viewer, no cost)."""
    state = request.app.state
    found: StationFeed | None = getattr(state, "portal_station_feed", None)
    if found is None:
        found = state.portal_station_feed = StationFeed()
        state.system.bus.subscribe(found.on_event)
    return found


@router.get("/live/stations")
async def stations(
    request: Request,
    user: Staff,
    station_id: Annotated[list[str] | None, Query(alias="id", max_length=MAX_IDS)] = None,
    view: Literal["row", "evses"] = "row",
) -> StreamingResponse:
    ids = frozenset(i[:48] for i in station_id or ()) or None
    return StreamingResponse(
        _stream(request, user, feed(request), ids, VIEWS[view]),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request,
    user: PortalPrincipal,
    station_feed: StationFeed,
    ids: frozenset[str] | None,
    template: str,
) -> AsyncIterator[str]:
    gateway: StationGateway = request.app.state.station_gateway
    loop = asyncio.get_running_loop()
    with station_feed.watch(ids) as watch:
        yield f"retry: {RETRY_MS}\n\n"
        next_sweep = loop.time() + SWEEP_S
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_sweep - loop.time())):
                    await watch.wake.wait()
            if loop.time() >= next_sweep:
                await _sweep(watch, gateway)
                next_sweep = loop.time() + SWEEP_S
            if not watch.dirty:
                yield ": idle\n\n"  # keeps proxies from closing the stream, and finds browsers gone
                continue
            for message in await _render(request, user, watch, gateway, template):
                yield message
            await asyncio.sleep(THROTTLE_S)


async def _sweep(watch: Watch, gateway: StationGateway) -> None:
    """Mark the stations whose connection changed since they were sent."""
    now = await gateway.connected(watch.connected)
    for station_id, was in watch.connected.items():
        if (station_id in now) != was:
            watch.mark(station_id)


async def _render(
    request: Request, user: PortalPrincipal, watch: Watch, gateway: StationGateway, template: str
) -> list[str]:
    ids = watch.take(BATCH)
    connected = await gateway.connected(ids)
    async with request.app.state.sessions() as session:
        views = await portal_queries.board_rows(
            session, ids, tenant_id=tenant_scope(user), connected=connected
        )
    messages = []
    for station in views:
        watch.connected[station.id] = station.connected
        html = bytes(render(request, template, {"station": station}).body).decode()
        data = "".join(f"data: {line}\n" for line in html.splitlines() if line.strip())
        messages.append(f"event: station\n{data}\n")
    return messages
