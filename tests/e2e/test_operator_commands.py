"""The operator API drives the bundled emulator, and each command has its effect on the station.

One scenario per protocol version: configuration, reservation, local list, charging profile,
remote start and stop, firmware update (downloaded from the CSMS's store), log upload (to the
CSMS), availability and reset.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from chargepoints.tables import StationRow, TransactionRow
from emulator import Station, StationSpec
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

OPERATOR = "/api/v1/operator/stations/EMU-1"
HEARTBEAT = {
    "key": "HeartbeatInterval",
    "value": "77",
    "variable": {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
}


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the emulator's behaviour is the subject; both backends are covered elsewhere


@pytest.fixture(params=["1.6", "2.0.1"])
async def station(server: LiveServer, request: pytest.FixtureRequest) -> AsyncIterator[Station]:
    await a_station(server.system, "EMU-1", password="emulator-secret-01")
    await a_token(server.system, "TAG-1")
    spec = StationSpec(
        "EMU-1",
        request.param,
        evse_count=2,
        password="emulator-secret-01",
        firmware_step_s=0.05,
        boot_delay_s=0.05,
    )
    emulated = Station(spec, server.ws)
    assert await emulated.connect() == "Accepted"
    yield emulated
    await emulated.close()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 8) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.05)


async def done(api: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    command = await api.get(f"/api/v1/operator/commands/{response.json()['id']}", params={"wait": 10})
    result: dict[str, Any] = command.json()
    return result


async def station_row(server: LiveServer) -> StationRow:
    async with server.system.sessions() as session:
        row = await session.get(StationRow, "EMU-1", populate_existing=True)
        assert row is not None
        return row


async def test_commands_take_effect_on_the_station(server: LiveServer, station: Station) -> None:
    async with httpx.AsyncClient(base_url=server.http, timeout=20) as api:
        changed = await done(api, await api.post(f"{OPERATOR}/change-configuration", json=HEARTBEAT))
        assert changed["status"] == "accepted" and station.state.heartbeat_interval_s == 77

        expires = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        reserved = await api.post(
            f"{OPERATOR}/reservations", json={"id_token": "TAG-1", "expires_at": expires, "evse_id": 2}
        )
        assert reserved.status_code == 201, reserved.text
        assert station.state.evse(2).reservation is not None

        listed = await api.post(f"{OPERATOR}/local-list", json={})
        assert listed.status_code == 200 and station.state.auth.local_list.version == listed.json()["version"]
        assert "TAG-1" in station.state.auth.local_list.entries

        profile = {
            "evse_id": 1,
            "purpose": "TxDefaultProfile",
            "kind": "Absolute",
            "start": datetime.now(UTC).isoformat(),
            "unit": "A",
            "periods": [{"start_s": 0, "limit": 10}],
        }
        installed = await api.post(f"{OPERATOR}/charging-profiles", json=profile)
        assert installed.status_code == 201, installed.text
        assert any(p.id == installed.json()["id"] for p in station.state.profiles.profiles)

        await station.plug_in(1)
        started = await done(
            api, await api.post(f"{OPERATOR}/remote-start", json={"id_token": "TAG-1", "evse_id": 1})
        )
        assert started["status"] == "accepted"
        await eventually(lambda: _active_transaction(server))
        tx = await _active_transaction(server)
        assert tx is not None
        stopped = await done(api, await api.post(f"{OPERATOR}/remote-stop", json={"transaction_id": tx.id}))
        assert stopped["status"] == "accepted"
        await eventually(lambda: _ended(server, tx.id or 0))


async def test_firmware_update_and_log_upload_through_the_csms(server: LiveServer, station: Station) -> None:
    async with httpx.AsyncClient(base_url=server.http, timeout=20) as api:
        firmware = (await api.put("/api/v1/operator/firmware/emu-2.0.bin", content=b"new image" * 100)).json()
        updated = await done(
            api, await api.post(f"{OPERATOR}/update-firmware", json={"firmware_id": firmware["id"]})
        )
        assert updated["status"] == "accepted"

        async def installed() -> bool:
            return (await station_row(server)).firmware_status == "Installed"

        await eventually(installed, seconds=15)
        assert station.state.firmware_version == "emu-2"

        await eventually(lambda: _connected(station))
        ordered = await api.post(f"{OPERATOR}/upload-log", json={})
        assert ordered.status_code == 202, ordered.text
        upload_id = ordered.json()["upload"]["id"]

        async def uploaded() -> bool:
            return (await api.get(f"/api/v1/operator/uploads/{upload_id}")).json()["received_at"] is not None

        await eventually(uploaded)
        content = await api.get(f"/api/v1/operator/uploads/{upload_id}/content")
        assert content.status_code == 200 and content.content


async def test_availability_and_reset(server: LiveServer, station: Station) -> None:
    async with httpx.AsyncClient(base_url=server.http, timeout=20) as api:
        before = (await station_row(server)).last_boot_at
        inoperative = await done(
            api,
            await api.post(f"{OPERATOR}/change-availability", json={"status": "Inoperative", "evse_id": 2}),
        )
        assert inoperative["status"] == "accepted"
        assert station.state.evse(2).status == "Unavailable"
        reset = await done(api, await api.post(f"{OPERATOR}/reset", json={"kind": "Immediate"}))
        assert reset["status"] == "accepted"

        async def rebooted() -> bool:
            return (await station_row(server)).last_boot_at != before

        await eventually(rebooted, seconds=15)


async def _connected(station: Station) -> bool:
    return station.connected


async def _active_transaction(server: LiveServer) -> TransactionRow | None:
    async with server.system.sessions() as session:
        query = select(TransactionRow).where(
            TransactionRow.station_id == "EMU-1", TransactionRow.state == "Active"
        )
        return (await session.execute(query)).scalars().first()


async def _ended(server: LiveServer, transaction_id: int) -> bool:
    async with server.system.sessions() as session:
        tx = await session.get(TransactionRow, transaction_id, populate_existing=True)
        return tx is not None and tx.state == "Ended"


async def test_queries_and_housekeeping_commands(server: LiveServer, station: Station) -> None:
    version = station.spec.version
    async with httpx.AsyncClient(base_url=server.http, timeout=20) as api:
        expires = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        reservation = await api.post(
            f"{OPERATOR}/reservations", json={"id_token": "TAG-1", "expires_at": expires, "evse_id": 1}
        )
        cancelled = await api.delete(f"/api/v1/operator/reservations/{reservation.json()['id']}")
        assert cancelled.status_code == 200 and station.state.evse(1).reservation is None

        profile = {
            "evse_id": 1,
            "purpose": "TxDefaultProfile",
            "kind": "Absolute",
            "start": datetime.now(UTC).isoformat(),
            "unit": "A",
            "periods": [{"start_s": 0, "limit": 10}],
        }
        assert (await api.post(f"{OPERATOR}/charging-profiles", json=profile)).status_code == 201
        composite = await api.post(
            f"{OPERATOR}/composite-schedule", json={"evse_id": 1, "duration_s": 600, "unit": "A"}
        )
        assert composite.status_code == 200, composite.text
        periods = _periods(composite.json()["response"])
        assert [p["startPeriod"] for p in periods] == sorted({p["startPeriod"] for p in periods})
        assert periods[0]["limit"] == 10
        assert (await api.delete(f"{OPERATOR}/charging-profiles", params={"evse_id": 1})).status_code == 200
        assert station.state.profiles.profiles == []

        await api.post(f"{OPERATOR}/local-list", json={})
        reported = await api.post(f"{OPERATOR}/local-list/version")
        assert reported.json()["version"] == station.state.auth.local_list.version

        unlocked = await done(api, await api.post(f"{OPERATOR}/unlock-connector", json={"evse_id": 1}))
        assert unlocked["response"]["status"] in ("Unlocked", "UnlockFailed")
        cleared = await done(api, await api.post(f"{OPERATOR}/clear-cache"))
        assert cleared["status"] == "accepted" and station.state.auth.cache == {}
        before = (await station_row(server)).last_seen_at
        triggered = await done(
            api, await api.post(f"{OPERATOR}/trigger-message", json={"message": "Heartbeat"})
        )
        assert triggered["status"] == "accepted"

        async def beat() -> bool:
            return (await station_row(server)).last_seen_at != before

        await eventually(beat)
        transfer = await done(
            api, await api.post(f"{OPERATOR}/data-transfer", json={"vendor_id": "com.unknown"})
        )
        assert transfer["response"]["status"] in ("UnknownVendorId", "Accepted", "Rejected")
        if version == "2.0.1":
            shown = await done(
                api,
                await api.post(f"{OPERATOR}/set-display-message", json={"id": 5, "content": "Free until 8"}),
            )
            assert shown["status"] == "accepted" and 5 in station.state.display_messages
        report = await done(api, await api.post(f"{OPERATOR}/base-report", json={}))
        assert report["status"] == "accepted"


def _periods(response: dict[str, Any]) -> list[dict[str, Any]]:
    """1.6 answers ``chargingSchedule``, 2.0.1 ``schedule``."""
    schedule = response.get("chargingSchedule") or response.get("schedule") or {}
    periods: list[dict[str, Any]] = schedule.get("chargingSchedulePeriod", [])
    return periods
