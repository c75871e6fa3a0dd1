"""The station board, its live stream and the site map: tenant scope, filters, highlights, live rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest

from chargepoints import admin, events, services
from chargepoints.model import ChargingState, ConnectorStatus, StatusReport
from chargepoints.tables import TransactionRow
from csms.bootstrap import System
from tests.builders import a_station, a_token, boot16, meter16, start16
from tests.conftest import LiveServer
from tests.portal import PortalClient, portal_client
from tests.wire import WireStation
from web.portal import live

HTMX = {"HX-Request": "true"}


async def a_site(system: System, name: str, tenant_id: int, **fields: object) -> int:
    return await admin.put_site(name, uow=system.uow(), clock=system.clock, tenant_id=tenant_id, **fields)


async def status(system: System, station_id: str, value: ConnectorStatus, *, evse_id: int = 1) -> None:
    """A StatusNotification as the gateway records it (events go to the bus)."""
    report = StatusReport(station_id, evse_id, 1, value, datetime.now(UTC), error_code="NoError")
    await services.report_status(report, uow=system.uow(), clock=system.clock, publisher=system.bus)


async def booted(server: LiveServer, station_id: str) -> WireStation:
    station = await WireStation.connect(server.ws, station_id)
    await station.ok("BootNotification", boot16())
    return station


@asynccontextmanager
async def stream(client: httpx.AsyncClient, *ids: str, view: str = "row") -> AsyncIterator[Events]:
    params = {"view": view, "id": list(ids)}
    async with client.stream("GET", "/portal/live/stations", params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events_ = Events(response)
        await events_.opened()
        yield events_


class Events:
    """The ``station`` messages of a server-sent event stream, one data block at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def opened(self) -> None:
        """Wait for the stream's first line, sent once it is watching the stations."""
        async with asyncio.timeout(8):
            assert (await anext(self._lines)).startswith("retry: ")

    async def next(self, seconds: float = 8) -> str:
        data: list[str] = []
        async with asyncio.timeout(seconds):
            async for line in self._lines:
                if line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and data:
                    return "\n".join(data)
        raise AssertionError("the stream ended")

    async def until(self, text: str, seconds: float = 8) -> str:
        async with asyncio.timeout(seconds):
            while text not in (html := await self.next(seconds)):
                pass
        return html


@pytest.fixture
async def operator(server: LiveServer) -> AsyncIterator[PortalClient]:
    async with await portal_client(server, role="operator") as client:
        yield client


async def test_the_board_shows_the_tenants_stations_only(server: LiveServer, operator: PortalClient) -> None:
    system = server.system
    ours = await a_site(system, "Harbour", operator.tenant_id)
    async with await portal_client(server, role="operator") as other:
        theirs = await a_site(system, "Elsewhere", other.tenant_id)
        await a_station(system, "CP-OURS", site_id=ours)
        await a_station(system, "CP-THEIRS", site_id=theirs)
        await a_station(system, "CP-NOWHERE")

        page = await operator.get("/portal/stations")
        assert page.status_code == 200
        assert 'id="station-CP-OURS"' in page.text and "Harbour" in page.text
        assert "CP-THEIRS" not in page.text and "CP-NOWHERE" not in page.text
        assert "CP-THEIRS" in (await other.get("/portal/stations")).text
    async with await portal_client(server, role="admin") as admin_client:
        everything = (await admin_client.get("/portal/stations")).text
        assert all(f'id="station-{s}"' in everything for s in ("CP-OURS", "CP-THEIRS", "CP-NOWHERE"))


async def test_filters_search_and_pages(server: LiveServer, operator: PortalClient) -> None:
    system = server.system
    north = await a_site(system, "North", operator.tenant_id)
    south = await a_site(system, "South", operator.tenant_id)
    for n in range(30):
        await a_station(system, f"CP-{n:02d}", site_id=north if n < 20 else south)
    await status(system, "CP-03", ConnectorStatus.FAULTED)
    await status(system, "CP-04", ConnectorStatus.AVAILABLE)
    station = await booted(server, "CP-05")
    async with station:
        await station.ok(
            "StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"}
        )

        async def ids(**params: str) -> set[str]:
            html = (await operator.get("/portal/stations", params=params)).text
            return {s for s in (f"CP-{n:02d}" for n in range(30)) if f'id="station-{s}"' in html}

        assert await ids(status="Faulted") == {"CP-03"}
        assert await ids(status="Available") == {"CP-04"}
        assert await ids(status="Charging") == {"CP-05"}
        assert await ids(status="Occupied") == {"CP-05"}
        assert await ids(online="yes") == {"CP-05"}
        assert len(await ids(online="no")) == 25  # the first page of the 29 offline ones
        assert await ids(site=str(south)) == {f"CP-{n}" for n in range(20, 30)}
        assert await ids(q="cp-1") == {f"CP-{n}" for n in range(10, 20)}
        assert await ids(q="acme", status="Charging") == {"CP-05"}  # the vendor it booted with
        assert await ids(q="100%") == set()  # LIKE wildcards are plain text
        first, second = await ids(), await ids(page="2")
        assert len(first) == 25 and second == {f"CP-{n}" for n in range(25, 30)}
        assert await ids(page="99") == second  # past the end: the last page

        partial = await operator.get("/portal/stations", params={"status": "Charging"}, headers=HTMX)
        assert partial.text.lstrip().startswith('<div id="board">') and "<html" not in partial.text
        assert "/portal/live/stations?view=row&amp;id=CP-05" in partial.text


async def test_rows_show_power_session_heartbeat_and_highlights(
    server: LiveServer, operator: PortalClient
) -> None:
    system = server.system
    site = await a_site(system, "Depot", operator.tenant_id)
    await a_station(system, "CP-LIVE", site_id=site)
    await a_station(system, "CP-DOWN", site_id=site)
    await a_token(system, "TAG-1")
    await status(system, "CP-DOWN", ConnectorStatus.FAULTED)
    async with await booted(server, "CP-LIVE") as station:
        await station.ok(
            "StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"}
        )
        started = await station.ok("StartTransaction", start16(meterStart=1000))
        await station.ok("MeterValues", meter16(started["transactionId"], 3500))
        page = (await operator.get("/portal/stations")).text
    live_row = page[page.index('id="station-CP-LIVE"') :].split("</tbody>")[0]
    assert "row-offline" not in live_row and "Online" in live_row
    assert "Charging" in live_row and "7.2 kW" in live_row
    assert "TAG-1" in live_row and "2.50 kWh" in live_row
    assert "<time datetime=" in live_row  # last heard from
    down_row = page[page.index('id="station-CP-DOWN"') :].split("</tbody>")[0]
    assert 'class="station row-offline row-faulted"' in down_row and "Faulted" in down_row


async def test_the_stream_sends_a_row_when_a_station_starts_charging(
    server: LiveServer, operator: PortalClient
) -> None:
    site = await a_site(server.system, "Depot", operator.tenant_id)
    await a_station(server.system, "CP-1", site_id=site)
    async with await booted(server, "CP-1") as station, stream(operator, "CP-1") as events_:
        snapshot = await events_.next()
        assert snapshot.startswith('<tbody id="station-CP-1"') and "Online" in snapshot
        await station.ok(
            "StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
        )
        assert "Available" in await events_.until("status-available")
        await station.ok(
            "StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"}
        )
        charging = await events_.until("status-charging")
        assert "row-offline" not in charging


async def test_the_stream_notices_a_disconnect_and_skips_other_tenants(
    server: LiveServer, operator: PortalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "SWEEP_S", 0.2)
    monkeypatch.setattr(live, "THROTTLE_S", 0.05)
    site = await a_site(server.system, "Depot", operator.tenant_id)
    await a_station(server.system, "CP-1", site_id=site)
    await a_station(server.system, "CP-FOREIGN")
    station = await booted(server, "CP-1")
    async with stream(operator, "CP-1", "CP-FOREIGN") as events_:
        assert "Online" in await events_.next()
        await station.close()
        offline = await events_.until("row-offline")
        assert offline.startswith('<tbody id="station-CP-1"')
        await status(server.system, "CP-FOREIGN", ConnectorStatus.FAULTED)
        await status(server.system, "CP-1", ConnectorStatus.FAULTED)
        assert (await events_.until("row-faulted")).startswith('<tbody id="station-CP-1"')


async def test_a_stream_of_every_station_keeps_to_the_tenant(
    server: LiveServer, operator: PortalClient
) -> None:
    site = await a_site(server.system, "Depot", operator.tenant_id)
    await a_station(server.system, "CP-1", site_id=site)
    await a_station(server.system, "CP-X")
    async with stream(operator) as events_:
        await status(server.system, "CP-X", ConnectorStatus.FAULTED)
        await status(server.system, "CP-1", ConnectorStatus.AVAILABLE)
        assert (await events_.next()).startswith('<tbody id="station-CP-1"')
    many = {"id": [f"CP-{n}" for n in range(live.MAX_IDS + 1)]}
    assert (await operator.get("/portal/live/stations", params=many)).status_code == 422


async def test_the_detail_view_streams_the_evse_panel(server: LiveServer, operator: PortalClient) -> None:
    site = await a_site(server.system, "Depot", operator.tenant_id)
    await a_station(server.system, "CP-1", site_id=site)
    async with stream(operator, "CP-1", view="evses") as events_:
        assert (await events_.next()).startswith('<section id="evses-CP-1"')
        await status(server.system, "CP-1", ConnectorStatus.UNAVAILABLE, evse_id=2)
        assert "status-unavailable" in await events_.until("status-unavailable")


async def test_a_watch_coalesces_a_burst_of_events() -> None:
    feed = live.StationFeed()
    with feed.watch(frozenset({"CP-1", "CP-2"})) as watch:
        assert watch.take(10) == ["CP-1", "CP-2"] and not watch.wake.is_set()  # the snapshot
        for n in range(500):
            at = datetime.now(UTC)
            await feed.on_event(events.MeterValuesRecorded("CP-1", 1, 7, float(n), 7200.0, at))
        await feed.on_event(events.ConnectorStatusChanged("CP-3", 1, 1, "Faulted", None))  # not watched
        await feed.on_event(events.SessionCostUpdated("CP-2", 7, 1, "CNY", "1.00", datetime.now(UTC)))
        assert watch.wake.is_set() and watch.take(10) == ["CP-1"]
        assert len(feed) == 1
    assert len(feed) == 0
    with feed.watch(None) as everything:
        await feed.on_event(events.StationBooted("CP-9", "Accepted"))
        assert everything.take(10) == ["CP-9"]


async def test_the_site_map_colours_sites_by_their_worst_station(
    server: LiveServer, operator: PortalClient
) -> None:
    system = server.system
    calm = await a_site(system, "Calm", operator.tenant_id, latitude=31.2, longitude=121.5, address="1 Bund")
    broken = await a_site(system, "Broken", operator.tenant_id, latitude=31.3, longitude=121.4)
    await a_site(system, "Empty", operator.tenant_id)
    await a_station(system, "CP-CALM", site_id=calm)
    await a_station(system, "CP-BROKEN", site_id=broken)
    await status(system, "CP-BROKEN", ConnectorStatus.FAULTED)
    async with await booted(server, "CP-CALM") as station:
        await station.ok(
            "StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}
        )
        page = (await operator.get("/portal/map")).text
    assert 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in page
    assert f'id="site-{calm}" data-condition="Available"' in page
    assert f'id="site-{broken}" data-condition="Faulted"' in page
    assert "1 Bund" in page and "vendor/leaflet/leaflet.js" in page
    assert '\\"condition\\": \\"Faulted\\"' in page or '"condition": "Faulted"' in page

    system.settings = system.settings.model_copy(update={"map_tile_url": ""})
    assert 'data-tiles=""' in (await operator.get("/portal/map")).text  # the list only


@pytest.mark.parametrize("path", ["/portal/stations", "/portal/map", "/portal/live/stations"])
async def test_investors_are_refused_and_strangers_sent_to_log_in(server: LiveServer, path: str) -> None:
    async with await portal_client(server, role="investor") as investor:
        assert (await investor.get(path)).status_code == 403
    async with httpx.AsyncClient(base_url=server.http) as anonymous:
        response = await anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/portal/login?next=")
        assert (await anonymous.get(path, headers=HTMX)).status_code == 401


async def test_the_charging_state_of_a_201_session_shows_on_the_board(
    server: LiveServer, operator: PortalClient
) -> None:
    """2.0.1 reports Occupied on the connector and the charging state with the transaction."""
    site = await a_site(server.system, "Depot", operator.tenant_id)
    await a_station(server.system, "CP-2", site_id=site)
    await status(server.system, "CP-2", ConnectorStatus.OCCUPIED)
    assert "status-occupied" in (await operator.get("/portal/stations")).text
    async with server.system.sessions() as session:
        session.add(
            TransactionRow(
                station_id="CP-2",
                station_tx_id="tx-1",
                evse_id=1,
                charging_state=ChargingState.SUSPENDED_EV,
                updated_at=datetime.now(UTC),
            )
        )
        await session.commit()
    page = (await operator.get("/portal/stations", params={"status": "Occupied"})).text
    assert "status-suspendedev" in page and "Suspended by EV" in page
