"""Local authorisation lists from the id token table: full, differential, versioned."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from chargepoints.model import TokenStatus
from chargepoints.tables import IdTokenRow
from tests.builders import a_station, a_token, boot16, boot201
from tests.conftest import LiveServer
from tests.wire import WireStation

LIST = "/api/v1/operator/stations/CP-1/local-list"


async def sent(
    api: httpx.AsyncClient, station: WireStation, body: dict[str, Any], answer: str
) -> tuple[httpx.Response, list[Any]]:
    request = asyncio.create_task(api.post(LIST, json=body))
    frame = await station.recv()
    await station.send_raw(f'[3,"{frame[1]}",{{"status":"{answer}"}}]')
    return await request, frame


async def test_1_6_full_then_differential(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    await a_token(server.system, "A", group_id="FLEET")
    await a_token(server.system, "B", status=TokenStatus.BLOCKED)
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        first, full = await sent(api, station, {"differential": True}, "Accepted")  # nothing to diff: full
        await a_token(server.system, "B", status=TokenStatus.ACCEPTED)
        await a_token(server.system, "C")
        async with server.system.sessions() as session:
            await session.execute(delete(IdTokenRow).where(IdTokenRow.token == "A"))
            await session.commit()
        second, diff = await sent(api, station, {"differential": True}, "Accepted")
        state = (await api.get(LIST)).json()
    assert full[3] == {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [
            {"idTag": "A", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}},
            {"idTag": "B", "idTagInfo": {"status": "Blocked"}},
        ],
    }
    assert first.json()["update_type"] == "Full"
    assert diff[3] == {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "B", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "C", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "A"},
        ],
    }
    assert second.json()["sent_entries"] == 3
    assert (state["version"], state["entries"]) == (2, 2)


async def test_2_0_1_version_mismatch_is_409_and_keeps_the_old_version(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    await a_token(server.system, "A")
    async with (
        await WireStation.connect(server.ws, "CP-1", subprotocols=("ocpp2.0.1",)) as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot201())
        accepted, frame = await sent(api, station, {}, "Accepted")
        mismatch, _ = await sent(api, station, {"differential": True}, "VersionMismatch")
        version = asyncio.create_task(api.post(f"{LIST}/version"))
        ask = await station.recv()
        await station.send_raw(f'[3,"{ask[1]}",{{"versionNumber":1}}]')
        reported = (await version).json()
        state = (await api.get(LIST)).json()
    assert frame[3]["localAuthorizationList"] == [
        {"idToken": {"idToken": "A", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}
    ]
    assert accepted.status_code == 200 and mismatch.status_code == 409
    assert ask[2] == "GetLocalListVersion" and reported["version"] == 1
    assert state["version"] == 1


@pytest.mark.parametrize("station_id", ["NOPE"])
async def test_unknown_station(server: LiveServer, station_id: str) -> None:
    async with httpx.AsyncClient(base_url=server.http) as api:
        assert (
            await api.post(f"/api/v1/operator/stations/{station_id}/local-list", json={})
        ).status_code == 404
