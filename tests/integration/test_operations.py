"""Typed operations: one API for both versions, translated to each station's protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.builders import a_station, boot16, boot201
from tests.conftest import LiveServer
from tests.wire import WireStation

BOOTS = {"ocpp1.6": boot16(), "ocpp2.0.1": boot201()}


async def sent_frame(server: LiveServer, subprotocol: str, path: str, body: dict[str, Any]) -> list[Any]:
    """Boot a station of that version, POST the operation, answer it, return the CALL it got."""
    await a_station(server.system, "CP-1")
    async with await WireStation.connect(server.ws, "CP-1", subprotocols=(subprotocol,)) as station:
        await station.ok("BootNotification", BOOTS[subprotocol])
        async with httpx.AsyncClient(base_url=server.http) as api:
            queued = await api.post(f"/api/v1/operator/stations/CP-1/{path}", json=body)
            assert queued.status_code == 202, queued.text
            frame = await station.recv()
            await station.send_raw(f'[3,"{frame[1]}",{{"status":"Accepted"}}]')
            final = await api.get(f"/api/v1/operator/commands/{queued.json()['id']}", params={"wait": 5})
    assert final.json()["status"] == "accepted"
    return frame


@pytest.mark.parametrize(
    ("subprotocol", "body", "payload"),
    [
        ("ocpp1.6", {"kind": "Immediate"}, {"type": "Hard"}),
        ("ocpp1.6", {}, {"type": "Soft"}),
        ("ocpp2.0.1", {"kind": "Immediate", "evse_id": 2}, {"type": "Immediate", "evseId": 2}),
        ("ocpp2.0.1", {}, {"type": "OnIdle"}),
    ],
)
async def test_reset_is_translated_per_version(
    server: LiveServer, subprotocol: str, body: dict[str, Any], payload: dict[str, Any]
) -> None:
    frame = await sent_frame(server, subprotocol, "reset", body)
    assert (frame[2], frame[3]) == ("Reset", payload)


async def test_an_operation_a_version_cannot_express_is_422(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with await WireStation.connect(server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        async with httpx.AsyncClient(base_url=server.http) as api:
            response = await api.post("/api/v1/operator/stations/CP-1/reset", json={"evse_id": 1})
    assert response.status_code == 422 and "1.6" in response.json()["detail"]


async def test_a_station_that_never_booted_is_409(server: LiveServer) -> None:
    await a_station(server.system, "CP-NEW")
    async with httpx.AsyncClient(base_url=server.http) as api:
        response = await api.post("/api/v1/operator/stations/CP-NEW/clear-cache")
        missing = await api.post("/api/v1/operator/stations/NOPE/clear-cache")
    assert response.status_code == 409 and missing.status_code == 404
    await asyncio.sleep(0)
