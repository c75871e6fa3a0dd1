"""Reservations from the app: the station's answer decides, the hold is for the driver's app
token (so their own scan starts on it and nobody else's does), and it can be cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from csms.settings import Settings
from tests.accounts import Driver, a_driver
from tests.conftest import LiveServer
from tests.integration.test_driver_sessions_api import (
    World,
    a_charger,
    answer,
    app_token,
    assert_outcome,
    begin,
    online,
)
from tests.wire import WireStation

RESERVATIONS = "/api/v1/me/reservations"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"response_timeout": 1.0, "start_wait": 1.0, "cost_update_interval": 0})


@pytest.fixture
async def world(server: LiveServer) -> AsyncIterator[World]:
    system = server.system
    driver = await a_driver(system)
    other = await a_driver(system, tenant_id=driver.tenant_id, phone="+8613800000002")
    stranger = await a_driver(system, phone="+8613800000003")
    await a_charger(system, "CP-1", driver.tenant_id)
    await a_charger(system, "CP-X", stranger.tenant_id)
    async with httpx.AsyncClient(base_url=server.http, timeout=15) as api:
        yield World(server, api, driver, other, stranger)


async def reserve(
    world: World,
    station: WireStation,
    reply: str = "Accepted",
    *,
    driver: Driver | None = None,
    minutes: int = 10,
) -> tuple[httpx.Response, list[Any]]:
    body = {"station_id": station.station_id, "evse_id": 1, "minutes": minutes}
    headers = (driver or world.driver).headers
    posted = asyncio.create_task(world.api.post(RESERVATIONS, json=body, headers=headers))
    frame = await station.recv()
    await answer(station, frame, reply)
    return await posted, frame


async def test_a_reservation_holds_the_evse_for_the_app_token(world: World) -> None:
    token = await app_token(world.system, world.driver.user_id)
    async with await online(world.server, "CP-1", status="Available") as station:
        made, frame = await reserve(world, station, minutes=10)
        listed = await world.api.get(RESERVATIONS, headers=world.driver.headers)
        others = await world.api.get(RESERVATIONS, headers=world.other.headers)

    assert made.status_code == 201, made.text
    reservation = made.json()
    assert reservation["status"] == "Active" and reservation["station_id"] == "CP-1"
    assert frame[2] == "ReserveNow" and frame[3]["idTag"] == token and frame[3]["connectorId"] == 1
    assert frame[3]["reservationId"] == reservation["id"]
    expires = datetime.fromisoformat(reservation["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(minutes=10))) < timedelta(seconds=30)
    assert listed.json()["items"] == [reservation] and others.json()["total"] == 0


async def test_the_reserving_driver_starts_on_it_and_nobody_else_does(world: World) -> None:
    async with await online(world.server, "CP-1", status="Available") as station:
        made, _ = await reserve(world, station)
        assert made.status_code == 201, made.text
        await station.ok(
            "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}
        )
        body = {"station_id": "CP-1", "evse_id": 1}
        blocked = await world.api.post("/api/v1/sessions", json=body, headers=world.other.headers)
        posted = asyncio.create_task(
            world.api.post("/api/v1/sessions", json=body, headers=world.driver.headers)
        )
        frame = await station.recv()
        await answer(station, frame)
        await begin(station, frame, "1.6")
        started = await posted
        listed = await world.api.get(RESERVATIONS, headers=world.driver.headers)

    assert "reserved for another driver" in assert_outcome(blocked, 409, "evse_busy")["message"]
    assert_outcome(started, 201, "started")
    assert listed.json()["items"][0]["status"] == "Used"


async def test_a_refused_reservation_is_409_and_kept_as_rejected(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        made, _ = await reserve(world, station, "Occupied")
    body = assert_outcome(made, 409, "rejected")
    assert "Occupied" in body["message"] and body["reservation"]["status"] == "Rejected"


async def test_an_offline_station_cannot_reserve(world: World) -> None:
    body = {"station_id": "CP-1", "evse_id": 1, "minutes": 10}
    made = await world.api.post(RESERVATIONS, json=body, headers=world.driver.headers)
    assert_outcome(made, 409, "station_offline")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"station_id": "CP-1", "minutes": 4}, 422),
        ({"station_id": "CP-1", "minutes": 61}, 422),
        ({"station_id": "CP-X", "minutes": 10}, 404),  # another operator's station
        ({"station_id": "CP-1", "evse_id": 7, "minutes": 10}, 404),
    ],
)
async def test_bad_reservations_are_refused_before_the_station_hears_of_them(
    world: World, body: dict[str, Any], code: int
) -> None:
    made = await world.api.post(RESERVATIONS, json=body, headers=world.driver.headers)
    commands = await world.api.get("/api/v1/operator/commands")
    assert made.status_code == code, made.text
    assert commands.json()["total"] == 0


async def test_cancelling_frees_the_evse(world: World) -> None:
    async with await online(world.server, "CP-1", status="Available") as station:
        made, _ = await reserve(world, station)
        reservation_id = made.json()["id"]
        others = await world.api.delete(f"{RESERVATIONS}/{reservation_id}", headers=world.other.headers)
        cancelling = asyncio.create_task(
            world.api.delete(f"{RESERVATIONS}/{reservation_id}", headers=world.driver.headers)
        )
        frame = await station.recv()
        await answer(station, frame)
        cancelled = await cancelling
        again = await world.api.delete(f"{RESERVATIONS}/{reservation_id}", headers=world.driver.headers)

    assert frame[2:] == ["CancelReservation", {"reservationId": reservation_id}]
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "Cancelled"
    assert others.status_code == 404 and again.status_code == 409


async def test_reservations_need_a_driver_login(world: World) -> None:
    assert (await world.api.get(RESERVATIONS)).status_code == 401
    body = {"station_id": "CP-1", "minutes": 10}
    assert (await world.api.post(RESERVATIONS, json=body)).status_code == 401
    assert (await world.api.delete(f"{RESERVATIONS}/1")).status_code == 401
