"""Bulk operations: one operation for many stations, each station's command tracked in one job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from chargepoints import admin
from tests.builders import a_station, boot16, boot201
from tests.conftest import LiveServer
from tests.wire import WireStation

BOOTS = {"ocpp1.6": boot16(), "ocpp2.0.1": boot201()}
HEARTBEAT201 = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


@asynccontextmanager
async def fleet(server: LiveServer, **stations: str) -> AsyncIterator[dict[str, WireStation]]:
    """Booted, connected stations by id (value: subprotocol)."""
    async with AsyncExitStack() as stack:
        connected = {}
        for station_id, subprotocol in stations.items():
            ws = await WireStation.connect(server.ws, station_id, subprotocols=(subprotocol,))
            connected[station_id] = await stack.enter_async_context(ws)
            await ws.ok("BootNotification", BOOTS[subprotocol])
        yield connected


async def went_offline(server: LiveServer, api: httpx.AsyncClient, station_id: str) -> None:
    """A station that booted once (so its version is known) and has since disconnected."""
    async with fleet(server, **{station_id: "ocpp1.6"}):
        pass
    async with asyncio.timeout(5):
        while (await api.get(f"/api/v1/operator/stations/{station_id}")).json()["connected"]:
            await asyncio.sleep(0.02)


async def answer(station: WireStation, payload: dict[str, Any]) -> list[Any]:
    frame = await station.recv()
    await station.send_raw(f'[3,"{frame[1]}",{httpx.Response(200, json=payload).text}]')
    return frame


async def job_until(
    api: httpx.AsyncClient, job_id: int, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            job: dict[str, Any] = (await api.get(f"/api/v1/operator/bulk/{job_id}")).json()
            if condition(job):
                return job
            await asyncio.sleep(0.02)


def statuses(job: dict[str, Any]) -> dict[str, str]:
    return {item["station_id"]: item["status"] for item in job["items"]}


async def test_a_configuration_change_for_a_site_reaches_each_station_in_its_version(
    server: LiveServer,
) -> None:
    site = await admin.put_site("Depot", uow=server.system.uow(), clock=server.system.clock)
    for station_id in ("CP-A", "CP-B", "CP-C"):
        await a_station(server.system, station_id, site_id=site)
    await a_station(server.system, "CP-ELSEWHERE")
    async with httpx.AsyncClient(base_url=server.http) as api:
        await went_offline(server, api, "CP-C")
        async with fleet(server, **{"CP-A": "ocpp1.6", "CP-B": "ocpp2.0.1"}) as stations:
            queued = await api.post(
                "/api/v1/operator/bulk/configuration",
                json={
                    "site_id": site,
                    "key": "HeartbeatInterval",
                    "variable": {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
                    "value": "300",
                },
            )
            assert queued.status_code == 202, queued.text
            job_id = queued.json()["id"]
            frames = [await stations["CP-A"].recv(), await stations["CP-B"].recv()]
            # The offline station's outcome shows while the others have not answered yet.
            early = await job_until(api, job_id, lambda job: statuses(job)["CP-C"] != "queued")
            await stations["CP-A"].send_raw(f'[3,"{frames[0][1]}",{{"status":"Accepted"}}]')
            result = {"setVariableResult": [{"attributeStatus": "Accepted", **HEARTBEAT201}]}
            await stations["CP-B"].send_raw(f'[3,"{frames[1][1]}",{httpx.Response(200, json=result).text}]')
            final = (await api.get(f"/api/v1/operator/bulk/{job_id}", params={"wait": 5})).json()
        logged = (await api.get(f"/api/v1/operator/commands/{final['items'][0]['command_id']}")).json()
    assert [frame[2:] for frame in frames] == [
        ["ChangeConfiguration", {"key": "HeartbeatInterval", "value": "300"}],
        ["SetVariables", {"setVariableData": [{**HEARTBEAT201, "attributeValue": "300"}]}],
    ]
    assert (early["done"], statuses(early)["CP-C"]) == (False, "station_offline")
    assert statuses(final) == {"CP-A": "accepted", "CP-B": "accepted", "CP-C": "station_offline"}
    assert (final["done"], final["total"], final["counts"]) == (
        True,
        3,
        {"accepted": 2, "station_offline": 1},
    )
    assert (final["kind"], logged["station_id"], logged["status"]) == ("configuration", "CP-A", "accepted")


async def test_a_reset_for_listed_stations_skips_one_that_never_booted(server: LiveServer) -> None:
    for station_id in ("CP-A", "CP-B", "CP-NEW"):
        await a_station(server.system, station_id)
    async with (
        httpx.AsyncClient(base_url=server.http) as api,
        fleet(server, **{"CP-A": "ocpp1.6", "CP-B": "ocpp2.0.1"}) as stations,
    ):
        queued = await api.post(
            "/api/v1/operator/bulk/reset",
            json={"station_ids": ["CP-B", "CP-NEW", "CP-A", "CP-B"], "kind": "Immediate"},
        )
        assert queued.status_code == 202, queued.text
        frames = await asyncio.gather(
            answer(stations["CP-A"], {"status": "Accepted"}), answer(stations["CP-B"], {"status": "Rejected"})
        )
        final = (await api.get(f"/api/v1/operator/bulk/{queued.json()['id']}", params={"wait": 5})).json()
        page = await api.get(f"/api/v1/operator/bulk/{queued.json()['id']}", params={"limit": 1, "offset": 1})
    assert [frame[2:] for frame in frames] == [["Reset", {"type": "Hard"}], ["Reset", {"type": "Immediate"}]]
    assert statuses(final) == {"CP-A": "accepted", "CP-B": "rejected", "CP-NEW": "skipped"}
    assert (final["done"], final["counts"]) == (True, {"accepted": 1, "rejected": 1, "skipped": 1})
    skipped = next(item for item in final["items"] if item["station_id"] == "CP-NEW")
    assert skipped["command_id"] is None and "not booted" in skipped["error"]
    assert statuses(page.json()) == {"CP-B": "rejected"} and page.json()["total"] == 3


async def test_bulk_errors_queue_nothing(server: LiveServer) -> None:
    empty = await admin.put_site("Empty", uow=server.system.uow(), clock=server.system.clock)
    await a_station(server.system, "CP-A")
    reset, configuration = "/api/v1/operator/bulk/reset", "/api/v1/operator/bulk/configuration"
    async with httpx.AsyncClient(base_url=server.http) as api, fleet(server, **{"CP-A": "ocpp1.6"}):
        unknown = await api.post(reset, json={"station_ids": ["CP-A", "NOPE-1", "NOPE-2"]})
        no_site = await api.post(reset, json={"site_id": 999})
        empty_site = await api.post(reset, json={"site_id": empty})
        bad = [
            await api.post(reset, json={}),
            await api.post(reset, json={"station_ids": ["CP-A"], "site_id": empty}),
            await api.post(reset, json={"station_ids": []}),
            await api.post(configuration, json={"station_ids": ["CP-A"], "value": "1"}),
        ]
        missing_job = await api.get("/api/v1/operator/bulk/999")
        commands = await api.get("/api/v1/operator/commands")
        # A 1.6 station cannot take a change named only in 2.0.1 words: skipped, not sent.
        only201 = await api.post(
            configuration,
            json={"station_ids": ["CP-A"], "variable": {"component": "C", "variable": "V"}, "value": "1"},
        )
    assert unknown.status_code == 404 and "NOPE-1, NOPE-2" in unknown.json()["detail"]
    assert (no_site.status_code, empty_site.status_code, missing_job.status_code) == (404, 422, 404)
    assert [response.status_code for response in bad] == [422] * 4
    assert all(response.json()["errors"] for response in bad)
    assert commands.json()["total"] == 0
    assert (only201.json()["done"], statuses(only201.json())) == (True, {"CP-A": "skipped"})
    assert "1.6" in only201.json()["items"][0]["error"]
