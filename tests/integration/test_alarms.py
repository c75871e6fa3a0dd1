"""Alarms from what stations send and from their silence: raised once, acknowledged, resolved by hand
or by the station's recovery, and kept as history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from chargepoints import alarms, events
from chargepoints.alarm_tables import AlarmRow
from chargepoints.model import RegistrationStatus
from csms.audit import AuditRow
from csms.bootstrap import System
from csms.scheduler import create_scheduler
from tests.accounts import a_tenant
from tests.builders import a_station, boot16, iso
from tests.conftest import LiveServer
from tests.fakes import FakeClock
from tests.portal.test_sessions import a_site
from tests.wire import WireStation

GRACE = timedelta(minutes=10)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5) -> None:
    """Events reach subscribers after the station's answer over Redis: poll for their effect."""
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.05)


async def all_alarms(system: System) -> list[AlarmRow]:
    async with system.sessions() as session:
        return list((await session.execute(select(AlarmRow).order_by(col(AlarmRow.id)))).scalars())


async def status16(station: WireStation, status: str, *, connector: int = 1, error: str = "NoError") -> None:
    payload = {"connectorId": connector, "errorCode": error, "status": status, "timestamp": iso()}
    await station.ok("StatusNotification", payload)


async def booted(server: LiveServer, station_id: str = "CP-1") -> WireStation:
    station = await WireStation.connect(server.ws, station_id)
    assert (await station.ok("BootNotification", boot16()))["status"] == "Accepted"
    return station


async def test_a_faulted_connector_raises_one_alarm_resolved_when_available(server: LiveServer) -> None:
    system = server.system
    await a_station(system, "CP-1")
    async with await booted(server) as station:
        await status16(station, "Faulted", error="GroundFailure")
        await eventually(lambda: _count(system, 1))
        await status16(station, "Faulted", error="GroundFailure")  # repeated: still one alarm
        await status16(station, "Unavailable")  # taken out of service: still broken
        await status16(station, "Faulted", connector=0, error="OtherError")  # the station as a whole
        await eventually(lambda: _count(system, 2))
        first, whole = await all_alarms(system)
        assert (first.kind, first.station_id, first.evse_id, first.connector_id) == ("faulted", "CP-1", 1, 1)
        assert first.error_code == "GroundFailure" and first.resolved_at is None
        assert (whole.evse_id, whole.error_code) == (0, "OtherError")

        await status16(station, "Available")
        await eventually(lambda: _resolved(system, first.id))
        await status16(station, "Faulted", error="HighTemperature")
        await eventually(lambda: _count(system, 3))
    resolved, whole, again = await all_alarms(system)
    assert resolved.resolved_by is None and resolved.open_key is None  # resolved automatically
    assert whole.resolved_at is None and (again.error_code, again.resolved_at) == ("HighTemperature", None)
    open_ones, total = await _page(system, alarms.AlarmFilter(open=True))
    assert [row.id for row in open_ones] == [again.id, whole.id] and total == 2


async def _count(system: System, expected: int) -> bool:
    return len(await all_alarms(system)) == expected


async def _resolved(system: System, alarm_id: int | None) -> bool:
    return any(row.id == alarm_id and row.resolved_at is not None for row in await all_alarms(system))


async def _connected(system: System, station_id: str) -> bool:
    return station_id in await system.station_gateway.connected([station_id])


async def _page(system: System, where: alarms.AlarmFilter) -> tuple[list[AlarmRow], int]:
    async with system.sessions() as session:
        return await alarms.alarms(session, where, limit=50, offset=0)


async def test_a_silent_station_raises_an_offline_alarm_until_it_is_back(server: LiveServer) -> None:
    system = server.system
    for station_id in ("CP-1", "CP-2", "CP-NEW"):
        await a_station(system, station_id)
    await a_station(system, "CP-PENDING", registration_status=RegistrationStatus.PENDING)
    async with await booted(server, "CP-1"), await booted(server, "CP-2") as second:
        await second.close()  # CP-1 stays connected, CP-2 went away
        clock = FakeClock(datetime.now(UTC) + GRACE + timedelta(minutes=1))
        check = alarms.check_offline(
            uow=system.uow(), clock=clock, gateway=system.station_gateway, after=GRACE
        )
        assert await check == (1, 0)
        assert await alarms.check_offline(
            uow=system.uow(), clock=clock, gateway=system.station_gateway, after=GRACE
        ) == (0, 0)  # raised once
        (offline,) = await all_alarms(system)
        assert (offline.kind, offline.station_id, offline.evse_id, offline.raised_at) == (
            "offline",
            "CP-2",
            None,
            clock.now(),
        )
    async with await booted(server, "CP-2"):  # a boot says it is back
        await eventually(lambda: _resolved(system, offline.id))

    clock.advance(minutes=30)
    assert await alarms.check_offline(
        uow=system.uow(), clock=clock, gateway=system.station_gateway, after=GRACE
    ) == (2, 0)  # both silent now; CP-NEW never connected and CP-PENDING is not accepted
    assert {row.station_id for row in await all_alarms(system) if row.resolved_at is None} == {"CP-1", "CP-2"}
    async with await WireStation.connect(server.ws, "CP-1"):
        # Connected, but silent (no boot, no event): the next check sees the connection.
        await eventually(lambda: _connected(system, "CP-1"))
        assert await alarms.check_offline(
            uow=system.uow(), clock=clock, gateway=system.station_gateway, after=GRACE
        ) == (0, 1)
    still = [row.station_id for row in await all_alarms(system) if row.resolved_at is None]
    assert still == ["CP-2"]


async def test_acknowledge_and_resolve_are_audited_and_scoped(system: System) -> None:
    tenant, other = await a_tenant(system), await a_tenant(system)
    await a_station(system, "CP-1", site_id=await a_site(system, "S-1", tenant))
    await a_station(system, "CP-2")
    clock = FakeClock()
    fault = events.ConnectorStatusChanged("CP-1", 1, 1, "Faulted", "GroundFailure")
    await alarms.on_status(fault, uow=system.uow(), clock=clock)
    await alarms.on_status(
        events.ConnectorStatusChanged("CP-2", 1, 1, "Faulted", None), uow=system.uow(), clock=clock
    )
    (alarm, unsited) = await all_alarms(system)
    assert alarm.id is not None and unsited.id is not None

    with pytest.raises(alarms.AlarmNotFound):
        await alarms.acknowledge(alarm.id, "portal:9", tenant_id=other, uow=system.uow(), clock=clock)
    with pytest.raises(alarms.AlarmNotFound):  # a station on no site belongs to no tenant
        await alarms.resolve(unsited.id, "portal:9", tenant_id=tenant, uow=system.uow(), clock=clock)
    clock.advance(minutes=3)
    acknowledged = await alarms.acknowledge(
        alarm.id, "portal:7", tenant_id=tenant, uow=system.uow(), clock=clock
    )
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_at) == ("portal:7", clock.now())
    clock.advance(minutes=1)
    again = await alarms.acknowledge(alarm.id, "portal:8", tenant_id=tenant, uow=system.uow(), clock=clock)
    assert again.acknowledged_by == "portal:7"  # the first one stays
    resolved = await alarms.resolve(alarm.id, "portal:8", tenant_id=None, uow=system.uow(), clock=clock)
    assert (resolved.resolved_by, resolved.resolved_at, resolved.open_key) == ("portal:8", clock.now(), None)
    with pytest.raises(alarms.AlarmClosed):
        await alarms.resolve(alarm.id, "portal:8", tenant_id=tenant, uow=system.uow(), clock=clock)
    with pytest.raises(alarms.AlarmClosed):
        await alarms.acknowledge(alarm.id, "portal:8", tenant_id=tenant, uow=system.uow(), clock=clock)

    async with system.sessions() as session:
        query = (
            select(AuditRow).where(col(AuditRow.subject) == f"alarm:{alarm.id}").order_by(col(AuditRow.id))
        )
        entries = [(row.actor, row.action) for row in (await session.execute(query)).scalars()]
    assert entries == [("portal:7", "alarm.acknowledge"), ("portal:8", "alarm.resolve")]
    async with system.sessions() as session:
        assert await alarms.open_count(session, tenant) == 0
        assert await alarms.open_count(session, None) == 1
        assert await alarms.open_count(session, other) == 0

    # The fault persists: the station's next report raises a new alarm.
    await alarms.on_status(fault, uow=system.uow(), clock=clock)
    async with system.sessions() as session:
        assert await alarms.open_count(session, tenant) == 1


async def test_concurrent_reports_raise_one_alarm(system: System) -> None:
    await a_station(system, "CP-1")
    fault = events.ConnectorStatusChanged("CP-1", 1, 1, "Faulted", "GroundFailure")
    # Every node of a cluster handles the same event: the unique open key keeps one alarm.
    await asyncio.gather(*(alarms.on_status(fault, uow=system.uow(), clock=FakeClock()) for _ in range(4)))
    assert len(await all_alarms(system)) == 1


async def test_the_scheduler_runs_the_offline_check(server: LiveServer) -> None:
    system = server.system
    await a_station(system, "CP-1")
    async with await booted(server, "CP-1") as station:
        await station.close()
    settings = system.settings.model_copy(update={"offline_alarm_minutes": 1})
    later = FakeClock(datetime.now(UTC) + timedelta(minutes=2))
    scheduler = create_scheduler(settings, system.uow, later, system.station_gateway)
    job = scheduler.get_job("offline-alarms")
    assert job is not None and job.trigger.interval == timedelta(minutes=1)
    await job.func()
    (alarm,) = await all_alarms(system)
    assert (alarm.kind, alarm.station_id, alarm.raised_at) == ("offline", "CP-1", later.now())
