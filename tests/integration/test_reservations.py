"""Reservations end to end: the station's answer decides, and a reserved EVSE takes only its token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chargepoints import reservations
from tests.builders import a_station, a_token, boot16, boot201, start16, tx_event
from tests.conftest import LiveServer
from tests.wire import WireStation

OPERATOR = "/api/v1/operator"


def soon(minutes: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def answered(
    api: httpx.AsyncClient,
    station: WireStation,
    path: str,
    body: dict[str, Any] | None,
    answer: str,
    method: str = "POST",
) -> tuple[httpx.Response, list[Any]]:
    request = asyncio.create_task(api.request(method, path, json=body))
    frame = await station.recv()
    await station.send_raw(f'[3,"{frame[1]}",{{"status":"{answer}"}}]')
    return await request, frame


async def test_1_6_reserve_enforce_and_use(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    for tag in ("OWNER", "OTHER"):
        await a_token(server.system, tag)
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        made, frame = await answered(
            api,
            station,
            f"{OPERATOR}/stations/CP-1/reservations",
            {"id_token": "OWNER", "expires_at": soon(), "evse_id": 1},
            "Accepted",
        )
        assert made.status_code == 201, made.text
        reservation = made.json()
        assert frame[2] == "ReserveNow" and frame[3]["connectorId"] == 1
        assert frame[3]["reservationId"] == reservation["id"] and reservation["status"] == "Active"
        other = await station.ok("StartTransaction", start16(idTag="OTHER"))
        owner = await station.ok(
            "StartTransaction", start16(idTag="OWNER", meterStart=5, reservationId=reservation["id"])
        )
        listed = (await api.get(f"{OPERATOR}/reservations", params={"station_id": "CP-1"})).json()
    assert other["idTagInfo"]["status"] == "Invalid"
    assert owner["idTagInfo"]["status"] == "Accepted"
    assert listed["items"][0]["status"] == "Used"


async def test_rejected_reservation_is_409_and_recorded(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        made, _ = await answered(
            api,
            station,
            f"{OPERATOR}/stations/CP-1/reservations",
            {"id_token": "X", "expires_at": soon()},
            "Occupied",
        )
        listed = (await api.get(f"{OPERATOR}/reservations")).json()
        past = await api.post(
            f"{OPERATOR}/stations/CP-1/reservations", json={"id_token": "X", "expires_at": soon(-1)}
        )
    assert made.status_code == 409 and "Occupied" in made.json()["detail"]
    assert listed["items"][0]["status"] == "Rejected"
    assert past.status_code == 422


async def test_2_0_1_reserve_cancel_and_status_update(server: LiveServer) -> None:
    await a_station(server.system, "CS-1")
    async with (
        await WireStation.connect(server.ws, "CS-1", subprotocols=("ocpp2.0.1",)) as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot201())
        first, frame = await answered(
            api,
            station,
            f"{OPERATOR}/stations/CS-1/reservations",
            {"id_token": "T1", "expires_at": soon(), "evse_id": 2},
            "Accepted",
        )
        assert (frame[3]["evseId"], frame[3]["idToken"]) == (2, {"idToken": "T1", "type": "ISO14443"})
        cancelled, cancel_frame = await answered(
            api, station, f"{OPERATOR}/reservations/{first.json()['id']}", None, "Accepted", method="DELETE"
        )
        second, _ = await answered(
            api,
            station,
            f"{OPERATOR}/stations/CS-1/reservations",
            {"id_token": "T2", "expires_at": soon()},
            "Accepted",
        )
        blocked = await station.ok(
            "TransactionEvent",
            tx_event("Started", "tx-9", 0, idToken={"idToken": "T1", "type": "ISO14443"}, evse={"id": 1}),
        )
        await station.ok(
            "ReservationStatusUpdate",
            {"reservationId": second.json()["id"], "reservationUpdateStatus": "Expired"},
        )
        listed = {r["id"]: r["status"] for r in (await api.get(f"{OPERATOR}/reservations")).json()["items"]}
    assert cancelled.status_code == 200 and cancel_frame[2] == "CancelReservation"
    assert blocked["idTokenInfo"]["status"] == "Unknown"  # T1 is no stored token; the verdict stands
    assert listed == {first.json()["id"]: "Cancelled", second.json()["id"]: "Expired"}


async def test_expiry_job_marks_old_reservations(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    row = await reservations.request_reservation(
        "CP-1",
        "T",
        datetime.now(UTC) - timedelta(seconds=1),
        None,
        uow=server.system.uow(),
        clock=server.system.clock,
    )
    assert row.id is not None
    await reservations.set_status(
        row.id, reservations.ReservationStatus.ACTIVE, uow=server.system.uow(), clock=server.system.clock
    )
    assert await reservations.expire(uow=server.system.uow(), clock=server.system.clock) == 1


@pytest.mark.parametrize("missing", ["NOPE"])
async def test_unknown_station_is_404(server: LiveServer, missing: str) -> None:
    async with httpx.AsyncClient(base_url=server.http) as api:
        response = await api.post(
            f"{OPERATOR}/stations/{missing}/reservations", json={"id_token": "X", "expires_at": soon()}
        )
    assert response.status_code == 404
