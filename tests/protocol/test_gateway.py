"""The WebSocket endpoint's gatekeeping and framing, whichever OCPP version is spoken."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chargepoints.errors import CommandTimedOut
from chargepoints.tables import MessageLogRow, StationEventRow, StationRow
from csms.db import create_engine
from tests.builders import a_station, boot16, boot201
from tests.conftest import LiveServer
from tests.wire import WireStation


async def refused_status(server: LiveServer, station_id: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await WireStation.connect(server.ws, station_id, **kwargs)  # type: ignore[arg-type]
    return refused.value.response.status_code


async def station_rows(server: LiveServer) -> int:
    async with server.system.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(StationRow)) or 0)


async def test_2_0_1_is_preferred_whatever_the_offer_order(server: LiveServer) -> None:
    async with await WireStation.connect(server.ws, "CP-1", subprotocols=("ocpp1.6", "ocpp2.0.1")) as station:
        assert station.subprotocol == "ocpp2.0.1"
    async with await WireStation.connect(server.ws, "CP-1", subprotocols=("ocpp1.6",)) as station:
        assert station.subprotocol == "ocpp1.6"


async def test_no_common_subprotocol_refuses_the_upgrade(server: LiveServer) -> None:
    assert await refused_status(server, "CP-1", subprotocols=("ocpp1.5",)) == 400


@pytest.mark.parametrize("bad_id", ["has space", "x" * 49, "colon:id", "ünïcode"])
async def test_bad_station_id_is_refused_before_upgrade_and_stores_nothing(
    server: LiveServer, bad_id: str
) -> None:
    from urllib.parse import quote

    assert await refused_status(server, quote(bad_id)) in (400, 404)
    assert await station_rows(server) == 0


async def test_wrong_or_missing_password_is_401(server: LiveServer) -> None:
    await a_station(server.system, "CP-PW", password="correct horse battery")
    assert await refused_status(server, "CP-PW") == 401
    assert await refused_status(server, "CP-PW", password="wrong") == 401
    async with await WireStation.connect(server.ws, "CP-PW", password="correct horse battery") as station:
        assert (await station.ok("BootNotification", boot16()))["status"] == "Accepted"


async def test_second_connection_replaces_the_first_and_gets_commands(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    first = await WireStation.connect(server.ws, "CP-1")
    second = await WireStation.connect(server.ws, "CP-1")
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(5):
            await first.ws.recv()
    command = asyncio.create_task(server.system.connections.call("CP-1", "ClearCache", {}))
    frame = await second.recv()
    assert frame[0] == 2 and frame[2] == "ClearCache"
    await second.send_raw(f'[3,"{frame[1]}",{{"status":"Accepted"}}]')
    assert await command == {"status": "Accepted"}
    await second.close()


async def test_late_response_never_matches_the_next_call(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    station = await WireStation.connect(server.ws, "CP-1")
    adapter = server.system.connections.get("CP-1")
    assert adapter is not None
    adapter._response_timeout = 0.2
    with pytest.raises(CommandTimedOut):
        await server.system.connections.call("CP-1", "ClearCache", {})
    late = await station.recv()
    second = asyncio.create_task(server.system.connections.call("CP-1", "ClearCache", {}))
    current = await station.recv()
    await station.send_raw(f'[3,"{late[1]}",{{"status":"Rejected"}}]')
    await station.send_raw(f'[3,"{current[1]}",{{"status":"Accepted"}}]')
    assert await second == {"status": "Accepted"}
    await station.close()


@pytest.mark.parametrize(
    ("subprotocol", "frame", "code"),
    [
        ("ocpp1.6", '[2,"m1","BootNotification",{"chargePointVendor":"A"}]', "OccurenceConstraintViolation"),
        (
            "ocpp1.6",
            '[2,"m2","BootNotification",{"chargePointVendor":1,"chargePointModel":"M"}]',
            "TypeConstraintViolation",
        ),
        ("ocpp1.6", '[2,"m3","BootNotification",[]]', "FormationViolation"),
        ("ocpp1.6", '[2,"m4","NoSuchAction",{}]', "NotImplemented"),
        ("ocpp1.6", '[7,"m5","Heartbeat",{}]', "FormationViolation"),
        ("ocpp2.0.1", '[2,"m6","BootNotification",{"reason":"PowerUp"}]', "OccurrenceConstraintViolation"),
        (
            "ocpp2.0.1",
            '[2,"m7","BootNotification",{"reason":"Bored","chargingStation":{"model":"M","vendorName":"V"}}]',
            "PropertyConstraintViolation",
        ),
        ("ocpp2.0.1", '[2,"m8","BootNotification",{"x":1}', "drop"),
        ("ocpp2.0.1", '[7,"m9","Heartbeat",{}]', "MessageTypeNotSupported"),
        ("ocpp2.0.1", '[2,"m10"]', "drop"),
    ],
)
async def test_malformed_frames_get_the_versions_callerror_and_the_connection_survives(
    server: LiveServer, subprotocol: str, frame: str, code: str
) -> None:
    await a_station(server.system, "CP-1")
    async with await WireStation.connect(server.ws, "CP-1", subprotocols=(subprotocol,)) as station:
        await station.send_raw(frame)
        boot = boot16() if subprotocol == "ocpp1.6" else boot201()
        if code != "drop":
            error = await station.recv()
            assert error[0] == 4 and error[2] == code, error
        assert (await station.ok("BootNotification", boot))["status"] == "Accepted"


async def test_malformed_frames_of_one_station_do_not_affect_another(server: LiveServer) -> None:
    await a_station(server.system, "CP-A")
    await a_station(server.system, "CP-B")
    async with (
        await WireStation.connect(server.ws, "CP-A") as noisy,
        await WireStation.connect(server.ws, "CP-B") as calm,
    ):
        for garbage in ("not json", "[]", "{}", '[2,"x",3,4]', "\x00\xff"):
            await noisy.send_raw(garbage)
        assert (await calm.ok("BootNotification", boot16()))["status"] == "Accepted"
        assert (await noisy.ok("BootNotification", boot16()))["status"] == "Accepted"


async def test_database_down_gets_internal_error_not_a_fake_confirmation(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with await WireStation.connect(server.ws, "CP-1") as station:
        assert (await station.ok("BootNotification", boot16()))["status"] == "Accepted"
        await server.system.alarms.work.settled()  # the boot's own database work is done
        await server.system.engine.dispose()
        broken = server.system.sessions.kw["bind"]
        server.system.sessions.configure(bind=_unreachable_engine(server))
        try:
            reply = await station.call("Heartbeat", {})
        finally:
            server.system.sessions.configure(bind=broken)
        assert reply[0] == 4 and reply[2] == "InternalError"
        assert (await station.ok("Heartbeat", {}))["currentTime"]


def _unreachable_engine(server: LiveServer) -> AsyncEngine:
    url = server.system.settings.database_url
    if url.startswith("sqlite"):
        return create_engine("sqlite+aiosqlite:////nonexistent-dir/none.db")
    return create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")


async def test_every_frame_in_and_out_is_logged(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with await WireStation.connect(server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        await station.send_raw("garbage")
    await server.system.message_log.flush()
    async with server.system.sessions() as session:
        logged = list((await session.execute(select(MessageLogRow).order_by(MessageLogRow.id))).scalars())
    assert [(m.direction, m.action) for m in logged] == [
        ("in", "BootNotification"),
        ("out", "BootNotification"),
        ("in", None),
    ]
    assert logged[1].frame.startswith("[3,")


async def test_lenient_station_gets_its_payload_repaired_and_the_repair_is_kept(server: LiveServer) -> None:
    await a_station(server.system, "STRICT")
    await a_station(server.system, "LENIENT", lenient=True)
    sloppy = boot16(chargePointSerialNumber="S" * 40)
    async with await WireStation.connect(server.ws, "STRICT") as strict:
        refused = await strict.call("BootNotification", sloppy)
    async with await WireStation.connect(server.ws, "LENIENT") as lenient:
        accepted = await lenient.ok("BootNotification", sloppy)
    assert refused[0] == 4 and refused[2] == "TypeConstraintViolation"
    assert accepted["status"] == "Accepted"
    async with server.system.sessions() as session:
        (event,) = (await session.execute(select(StationEventRow))).scalars()
    assert event.kind == "PayloadRepaired"
    assert event.details["repairs"] == ["/chargePointSerialNumber: truncated to 25 characters"]
