"""Provisioning stations and id tokens through the operator API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.builders import a_token, boot16, start16
from tests.conftest import LiveServer
from tests.wire import WireStation

STATIONS = "/api/v1/operator/stations"
TOKENS = "/api/v1/operator/id-tokens"


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def test_station_lifecycle_with_evses_password_and_status(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    body = {
        "id": "CP-9",
        "password": "sixteen-chars-pw",
        "registration_status": "Pending",
        "evses": [
            {
                "evse_id": 1,
                "max_power_w": 22000,
                "connectors": [{"connector_id": 1, "type": "cType2", "max_power_w": 22000}],
            }
        ],
    }
    created = await api.post(STATIONS, json=body)
    assert created.status_code == 201
    evse = created.json()["evses"][0]
    assert (evse["max_power_w"], evse["connectors"][0]["type"], evse["connectors"][0]["status"]) == (
        22000,
        "cType2",
        "Unavailable",
    )
    assert created.json()["password_set"] is True
    assert (await api.post(STATIONS, json=body)).status_code == 409

    async with await WireStation.connect(server.ws, "CP-9", password="sixteen-chars-pw") as station:
        assert (await station.ok("BootNotification", boot16()))["status"] == "Pending"
        pending = await station.call(
            "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        )
        assert pending[0] == 4 and pending[2] == "SecurityError"
        patched = await api.patch(f"{STATIONS}/CP-9", json={"registration_status": "Accepted"})
        assert patched.json()["registration_status"] == "Accepted"
        assert (await station.ok("BootNotification", boot16()))["status"] == "Accepted"

    assert (await api.patch(f"{STATIONS}/CP-9", json={"password": "another-16-chars"})).status_code == 200
    with pytest.raises(InvalidStatus):
        await WireStation.connect(server.ws, "CP-9", password="sixteen-chars-pw")
    assert (await api.delete(f"{STATIONS}/CP-9")).status_code == 204
    assert (await api.get(f"{STATIONS}/CP-9")).status_code == 404


async def test_bad_station_input_is_422_problem_json(api: httpx.AsyncClient) -> None:
    for body in (
        {"id": "bad id"},
        {"id": "CP-1", "password": "short"},
        {"id": "CP-1", "registration_status": "Maybe"},
        {"id": "CP-1", "evses": [{"evse_id": 0}]},
    ):
        response = await api.post(STATIONS, json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert (await api.patch(f"{STATIONS}/NOPE", json={})).status_code == 404
    assert (await api.delete(f"{STATIONS}/NOPE")).status_code == 404


async def test_a_station_with_transactions_is_never_deleted(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    await api.post(STATIONS, json={"id": "CP-1"})
    await a_token(server.system, "TAG-1")
    async with await WireStation.connect(server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        await station.ok("StartTransaction", start16())
    response = await api.delete(f"{STATIONS}/CP-1")
    assert response.status_code == 409
    assert (await api.get("/api/v1/operator/transactions")).json()["total"] == 1


async def test_token_lifecycle(server: LiveServer, api: httpx.AsyncClient) -> None:
    body = {
        "token": "04A1B2",
        "status": "Accepted",
        "expires_at": "2030-01-01T00:00:00Z",
        "group_id": "FLEET",
        "master_pass": True,
    }
    assert (await api.post(TOKENS, json=body)).status_code == 201
    assert (await api.post(TOKENS, json=body)).status_code == 409
    assert (
        await api.post(TOKENS, json={"token": "X", "expires_at": "2030-01-01T00:00:00"})
    ).status_code == 422
    blocked = await api.patch(f"{TOKENS}/04A1B2", json={"status": "Blocked"})
    assert blocked.json()["status"] == "Blocked" and blocked.json()["group_id"] == "FLEET"
    listed = (await api.get(TOKENS, params={"status": "Blocked"})).json()
    assert [t["token"] for t in listed["items"]] == ["04A1B2"]
    await api.post(STATIONS, json={"id": "CP-1"})
    async with await WireStation.connect(server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        assert (await station.ok("Authorize", {"idTag": "04A1B2"}))["idTagInfo"]["status"] == "Blocked"
    assert (await api.delete(f"{TOKENS}/04A1B2")).status_code == 204
    assert (await api.get(f"{TOKENS}/04A1B2")).status_code == 404
