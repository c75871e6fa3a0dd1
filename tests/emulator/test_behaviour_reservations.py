"""Reservations made through the real server: only the reserving token may charge, until expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chargepoints.tables import ConnectorRow
from emulator.errors import EvseUnavailableError
from tests.conftest import LiveServer
from tests.emulator_selftest.harness import Rig, rig_for

VERSIONS = ["1.6", "2.0.1"]


@pytest.fixture
async def rig(server: LiveServer) -> AsyncIterator[Rig]:
    async with rig_for(server) as made:
        yield made


def reserve(version: str, reservation_id: int, evse_id: int, token: str, seconds: float) -> dict[str, Any]:
    expiry = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    if version == "1.6":
        return {"connectorId": evse_id, "expiryDate": expiry, "idTag": token, "reservationId": reservation_id}
    id_token = {"idToken": token, "type": "ISO14443"}
    return {"id": reservation_id, "expiryDateTime": expiry, "idToken": id_token, "evseId": evse_id}


def remote_start(version: str, token: str, evse_id: int) -> tuple[str, dict[str, Any]]:
    if version == "1.6":
        return "RemoteStartTransaction", {"idTag": token, "connectorId": evse_id}
    id_token = {"idToken": token, "type": "ISO14443"}
    return "RequestStartTransaction", {"idToken": id_token, "remoteStartId": 1, "evseId": evse_id}


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_reserved_evse_waits_for_its_token(rig: Rig, version: str) -> None:
    for token in ("TAG-1", "TAG-2"):
        await rig.token(token)
    station = await rig.station(version)

    assert (await rig.call("CS-1", "ReserveNow", reserve(version, 7, 1, "TAG-1", 3600)))[
        "status"
    ] == "Accepted"
    await rig.wait_rows(ConnectorRow, evse_id=1, status="Reserved")
    assert (await rig.call("CS-1", *remote_start(version, "TAG-2", 1)))["status"] == "Rejected"
    with pytest.raises(EvseUnavailableError):
        await station.swipe("TAG-2", evse_id=1)
    await station.plug_in(2)
    await station.swipe("TAG-2")  # starts where the EV is plugged in
    assert list(station.transactions) == [2]
    await station.swipe("TAG-1")  # the EVSE reserved for it waits for the cable
    await station.plug_in(1)

    assert sorted(station.transactions) == [1, 2]
    if version == "1.6":
        starts = await rig.sent("StartTransaction")
        assert [(s["connectorId"], s.get("reservationId")) for s in starts] == [(2, None), (1, 7)]
    else:
        started = [e for e in await rig.sent("TransactionEvent") if e["eventType"] == "Started"]
        assert [(e["evse"]["id"], e.get("reservationId")) for e in started] == [(2, None), (1, 7)]
    taken = await rig.call("CS-1", "ReserveNow", reserve(version, 8, 1, "TAG-2", 3600))
    assert taken["status"] == "Occupied"


@pytest.mark.parametrize("version", VERSIONS)
async def test_reservations_expire_or_are_cancelled(rig: Rig, version: str) -> None:
    await rig.station(version)

    assert (await rig.call("CS-1", "ReserveNow", reserve(version, 7, 1, "TAG-1", 0.3)))[
        "status"
    ] == "Accepted"
    assert (await rig.call("CS-1", "ReserveNow", reserve(version, 8, 2, "TAG-1", 3600)))[
        "status"
    ] == "Accepted"
    await rig.wait_rows(ConnectorRow, evse_id=1, status="Reserved")
    await rig.wait_rows(ConnectorRow, evse_id=1, status="Available")
    if version == "2.0.1":
        [update] = await rig.wait_sent("ReservationStatusUpdate")
        assert update == {"reservationId": 7, "reservationUpdateStatus": "Expired"}

    assert (await rig.call("CS-1", "CancelReservation", {"reservationId": 8}))["status"] == "Accepted"
    await rig.wait_rows(ConnectorRow, evse_id=2, status="Available")
    assert (await rig.call("CS-1", "CancelReservation", {"reservationId": 8}))["status"] == "Rejected"
