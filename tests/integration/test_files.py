"""Firmware served by the CSMS and logs uploaded to it, for both OCPP versions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.builders import a_station, boot16, boot201
from tests.conftest import LiveServer
from tests.wire import WireStation

BOOTS = {"ocpp1.6": boot16(), "ocpp2.0.1": boot201()}
OPERATOR = "/api/v1/operator"


async def booted(server: LiveServer, subprotocol: str) -> WireStation:
    await a_station(server.system, "CP-1")
    station = await WireStation.connect(server.ws, "CP-1", subprotocols=(subprotocol,))
    await station.ok("BootNotification", BOOTS[subprotocol])
    return station


async def answer(station: WireStation) -> list[Any]:
    frame = await station.recv()
    await station.send_raw(
        f'[3,"{frame[1]}",{{"status":"Accepted"}}]' if frame[2] == "GetLog" else f'[3,"{frame[1]}",{{}}]'
    )
    return frame


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_station_fetches_the_firmware_the_update_names(server: LiveServer, subprotocol: str) -> None:
    image = b"\x7fELF firmware " * 1000
    async with httpx.AsyncClient(base_url=server.http) as api:
        stored = await api.put(f"{OPERATOR}/firmware/fw 2.1.bin", content=image)
        assert stored.status_code == 201 and stored.json()["name"] == "fw_2.1.bin"
        station = await booted(server, subprotocol)
        queued = await api.post(
            f"{OPERATOR}/stations/CP-1/update-firmware", json={"firmware_id": stored.json()["id"]}
        )
        assert queued.status_code == 202, queued.text
        frame = await station.recv()
        await station.send_raw(
            f'[3,"{frame[1]}",{{"status":"Accepted"}}]'
            if subprotocol == "ocpp2.0.1"
            else f'[3,"{frame[1]}",{{}}]'
        )
        location = frame[3]["location"] if subprotocol == "ocpp1.6" else frame[3]["firmware"]["location"]
        fetched = await api.get(location)
        forged = await api.get(location.replace("/files/", "/files/x"))
        final = (await api.get(f"{OPERATOR}/commands/{queued.json()['id']}", params={"wait": 5})).json()
        await station.close()
    assert frame[2] == "UpdateFirmware" and location.startswith(server.http)
    assert fetched.content == image and forged.status_code == 404
    assert final["status"] == "accepted"


@pytest.mark.parametrize("subprotocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_station_uploads_its_log_and_the_operator_downloads_it(
    server: LiveServer, subprotocol: str
) -> None:
    async with httpx.AsyncClient(base_url=server.http) as api:
        station = await booted(server, subprotocol)
        ordered = await api.post(f"{OPERATOR}/stations/CP-1/upload-log", json={})
        assert ordered.status_code == 202, ordered.text
        frame = await answer(station)
        location = frame[3]["location"] if frame[2] == "GetDiagnostics" else frame[3]["log"]["remoteLocation"]
        upload_id = ordered.json()["upload"]["id"]
        before = await api.get(f"{OPERATOR}/uploads/{upload_id}/content")
        stored = await api.put(f"{location}/diag-2026.txt", content=b"line 1\nline 2\n")
        info = (await api.get(f"{OPERATOR}/uploads/{upload_id}")).json()
        content = await api.get(f"{OPERATOR}/uploads/{upload_id}/content")
        unknown = await api.put(location.replace("/uploads/", "/uploads/nope"), content=b"x")
        await station.close()
    assert frame[2] == ("GetDiagnostics" if subprotocol == "ocpp1.6" else "GetLog")
    assert before.status_code == 409 and stored.status_code == 201
    assert (info["name"], info["size"], info["station_id"]) == ("diag-2026.txt", 14, "CP-1")
    assert content.content == b"line 1\nline 2\n" and unknown.status_code == 404
    await asyncio.sleep(0)
