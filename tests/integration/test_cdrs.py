"""Charge detail records from real sessions over the wire, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import col, select

from chargepoints import admin, cdrs
from chargepoints.tables import CdrRow, TransactionRow
from csms.bootstrap import System
from tariffs import services as tariff_services
from tests.builders import a_station, a_token, boot16, boot201, energy, tx_event
from tests.conftest import LiveServer
from tests.fakes import FakeClock
from tests.wire import WireStation

DAY = datetime(2026, 11, 23, tzinfo=UTC)
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def at(hh_mm: str) -> str:
    return f"2026-11-23T{hh_mm}:00Z"


def two_bands() -> dict[str, Any]:
    """Morning 0.30 + 0.05 service per kWh until 12:00 site time, then 0.40; 0.02 per minute
    charging; idle 0.10 per minute after 5 minutes' grace; 1.00 per session; 20 % tax."""
    return {
        "bands": [
            {
                "name": "morning",
                "days": ALL_DAYS,
                "start": "00:00",
                "end": "12:00",
                "energy_fee": "0.30",
                "service_fee": "0.05",
            },
            {"name": "afternoon", "days": ALL_DAYS, "start": "12:00", "end": "24:00", "energy_fee": "0.40"},
        ],
        "time_fee_per_minute": "0.02",
        "idle_fee": {"per_minute": "0.10", "grace_minutes": 5},
        "session_fee": "1.00",
        "tax_rate": "0.20",
    }


def flat(fee: str = "0.30") -> dict[str, Any]:
    return {
        "bands": [{"name": "flat", "days": ALL_DAYS, "start": "00:00", "end": "24:00", "energy_fee": fee}]
    }


async def a_tariff_for(system: System, station_id: str, definition: dict[str, Any]) -> int:
    """A tenant's tariff in force since January, assigned to the station; returns its id."""
    uow, clock = system.uow(), system.clock
    tenant = await tariff_services.create_tenant(f"T-{station_id}", "EUR", "test", uow=uow, clock=clock)
    assert tenant.id is not None
    since = datetime(2026, 1, 1, tzinfo=UTC)
    view = await tariff_services.create_tariff(
        tenant.id, "standard", definition, since, "test", uow=uow, clock=clock
    )
    tariff_id = view.tariff.id
    assert tariff_id is not None
    target = tariff_services.Target(station_id=station_id)
    await tariff_services.assign(tariff_id, target, "test", uow=uow, clock=clock)
    return tariff_id


async def booted16(server: LiveServer, station_id: str = "CP-1") -> WireStation:
    station = await WireStation.connect(server.ws, station_id)
    assert (await station.ok("BootNotification", boot16()))["status"] == "Accepted"
    return station


async def status16(station: WireStation, status: str, when: str) -> None:
    await station.ok(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": when}
    )


async def register16(station: WireStation, tx_id: int, wh: int, when: str) -> None:
    sample = {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
    await station.ok(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx_id,
            "meterValue": [{"timestamp": when, "sampledValue": [sample]}],
        },
    )


async def start16(station: WireStation, meter: int, when: str, tag: str = "TAG-1") -> int:
    payload = {"connectorId": 1, "idTag": tag, "meterStart": meter, "timestamp": when}
    return int((await station.ok("StartTransaction", payload))["transactionId"])


async def stop16(station: WireStation, tx_id: int, meter: int, when: str) -> dict[str, Any]:
    return await station.ok(
        "StopTransaction", {"transactionId": tx_id, "meterStop": meter, "timestamp": when}
    )


async def plain_session(station: WireStation, start: int = 10_000, stop: int = 18_000) -> int:
    """10:00-11:50 UTC with the register read at the start, at 11:00 and at the stop."""
    tx_id = await start16(station, start, at("10:00"))
    await register16(station, tx_id, (start + stop) // 2, at("11:00"))
    await stop16(station, tx_id, stop, at("11:50"))
    return tx_id


async def cdrs_of(system: System, *where: object) -> list[CdrRow]:
    async with system.sessions() as session:
        return list((await session.execute(select(CdrRow).where(*where).order_by(col(CdrRow.id)))).scalars())


async def transaction(system: System, tx_id: int) -> TransactionRow:
    async with system.sessions() as session:
        row = await session.get(TransactionRow, tx_id)
    assert row is not None
    return row


async def test_a_16_session_is_priced_by_hand(server: LiveServer) -> None:
    system = server.system
    site = await admin.put_site("Depot", uow=system.uow(), clock=system.clock, time_zone="Europe/Berlin")
    await a_station(system, "CP-1", site_id=site)
    await a_token(system, "TAG-1")
    tariff_id = await a_tariff_for(system, "CP-1", two_bands())
    async with await booted16(server) as station:
        await status16(station, "Preparing", at("09:58"))
        tx_id = await start16(station, 10_000, at("10:00"))
        await status16(station, "Charging", at("10:00"))
        await register16(station, tx_id, 13_000, at("10:30"))
        await register16(station, tx_id, 16_000, at("11:00"))
        await register16(station, tx_id, 18_000, at("11:30"))
        await status16(station, "SuspendedEV", at("11:30"))
        await stop16(station, tx_id, 18_000, at("11:50"))

    (cdr,) = await cdrs_of(system)
    tx = await transaction(system, tx_id)
    assert tx.tariff_version_id is not None and tx.review_state is None
    assert (cdr.transaction_id, cdr.station_id, cdr.evse_id, cdr.id_token) == (tx_id, "CP-1", 1, "TAG-1")
    assert (cdr.tariff_id, cdr.tariff_version_id, cdr.currency) == (tariff_id, tx.tariff_version_id, "EUR")
    assert cdr.started_at == DAY.replace(hour=10) and cdr.ended_at == DAY.replace(hour=11, minute=50)
    assert (cdr.meter_start_wh, cdr.meter_stop_wh, cdr.energy_wh) == (10_000, 18_000, 8_000)
    # Charging 10:00-11:30, then 20 minutes idle until the stop; 110 minutes in all.
    assert (cdr.charging_s, cdr.idle_s, cdr.total_s) == (90 * 60, 20 * 60, 110 * 60)
    # Berlin is UTC+1: noon there is 11:00 UTC, when the register read 16,000 Wh.
    #   morning 6 kWh * 0.30 = 1.80 and service 6 kWh * 0.05 = 0.30; afternoon 2 kWh * 0.40 = 0.80
    #   time 90 min * 0.02 = 1.80; idle (20 - 5) min * 0.10 = 1.50; session 1.00
    #   net 7.20, tax 20 % 1.44, total 8.64
    amounts = {(line["kind"], line["band"]): Decimal(str(line["amount"])) for line in cdr.lines}
    assert amounts == {
        ("energy", "morning"): Decimal("1.80"),
        ("service", "morning"): Decimal("0.30"),
        ("energy", "afternoon"): Decimal("0.80"),
        ("time", None): Decimal("1.80"),
        ("idle", None): Decimal("1.50"),
        ("session", None): Decimal("1.00"),
    }
    assert all(isinstance(value, str | None) for line in cdr.lines for value in line.values())
    assert (cdr.subtotal, cdr.tax, cdr.total) == (Decimal("7.20"), Decimal("1.44"), Decimal("8.64"))
    assert cdr.corrected_from_wh is None and cdr.correction_note is None


async def test_a_resent_stop_creates_no_second_cdr(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    await a_token(server.system, "TAG-1")
    await a_tariff_for(server.system, "CP-1", flat())
    async with await booted16(server) as station:
        tx_id = await plain_session(station)
        again = await stop16(station, tx_id, 18_000, at("11:50"))
        await register16(station, tx_id, 19_000, at("11:55"))  # a late reading changes nothing billed
    assert again == {}  # a plain CALLRESULT, as the first time
    (cdr,) = await cdrs_of(server.system)
    assert (cdr.transaction_id, cdr.energy_wh, cdr.total) == (tx_id, 8_000, Decimal("2.40"))


async def test_a_session_without_a_tariff_gets_a_free_cdr(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    await a_token(server.system, "TAG-1")
    async with await booted16(server) as station:
        tx_id = await plain_session(station)
    (cdr,) = await cdrs_of(server.system)
    assert (cdr.transaction_id, cdr.energy_wh, cdr.lines) == (tx_id, 8_000, [])
    assert (cdr.tariff_id, cdr.tariff_version_id, cdr.currency) == (None, None, None)
    assert (cdr.subtotal, cdr.tax, cdr.total) == (Decimal(0), Decimal(0), Decimal(0))


async def test_the_sweep_writes_a_cdr_the_stop_did_not(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = server.system
    await a_station(system, "CP-1")
    await a_token(system, "TAG-1")
    await a_tariff_for(system, "CP-1", flat())

    async def crashed(transaction_id: int, **_: object) -> None:
        """The server stopped between the stop's commit and its CDR."""

    monkeypatch.setattr(cdrs, "settle_after_stop", crashed)
    async with await booted16(server) as station:
        tx_id = await plain_session(station)
    assert await cdrs_of(system) == []
    assert await cdrs.sweep(uow=system.uow(), clock=system.clock) == 1
    assert await cdrs.sweep(uow=system.uow(), clock=system.clock) == 0
    (cdr,) = await cdrs_of(system)
    assert (cdr.transaction_id, cdr.total) == (tx_id, Decimal("2.40"))
    # Sessions stopped longer ago than the sweep looks back are left alone.
    later = FakeClock(system.clock.now() + cdrs.SWEEP_LOOKBACK + timedelta(hours=1))
    async with system.sessions() as session:
        await session.execute(delete(CdrRow))
        await session.commit()
    assert await cdrs.sweep(uow=system.uow(), clock=later) == 0
    assert await cdrs.sweep(uow=system.uow(), clock=system.clock) == 1


async def test_racing_writers_make_one_cdr(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    system = server.system
    await a_station(system, "CP-1")
    await a_token(system, "TAG-1")

    async def crashed(transaction_id: int, **_: object) -> None:
        pass

    monkeypatch.setattr(cdrs, "settle_after_stop", crashed)
    async with await booted16(server) as station:
        tx_id = await plain_session(station)
    written = await asyncio.gather(
        *(cdrs.settle(tx_id, uow=system.uow(), clock=system.clock) for _ in range(3))
    )
    (cdr,) = await cdrs_of(system)
    assert [row.id if row else None for row in written] == [cdr.id] * 3


async def test_a_pricing_failure_never_fails_the_stop(server: LiveServer) -> None:
    system = server.system
    site = await admin.put_site("Nowhere", uow=system.uow(), clock=system.clock, time_zone="Mars/Olympus")
    await a_station(system, "CP-1", site_id=site)
    await a_token(system, "TAG-1")
    await a_tariff_for(system, "CP-1", flat())
    async with await booted16(server) as station:
        tx_id = await start16(station, 10_000, at("10:00"))
        answer = await stop16(station, tx_id, 18_000, at("11:50"))
    assert answer == {}  # a CALLRESULT: the station never learns of the failure
    assert await cdrs_of(system) == []
    await admin.put_site("Nowhere", uow=system.uow(), clock=system.clock, time_zone="UTC")
    assert await cdrs.sweep(uow=system.uow(), clock=system.clock) == 1
    (cdr,) = await cdrs_of(system)
    assert (cdr.transaction_id, cdr.total) == (tx_id, Decimal("2.40"))


async def test_a_201_session_waits_for_events_that_arrive_out_of_order(server: LiveServer) -> None:
    system = server.system
    await a_station(system, "CS-1")
    await a_token(system, "RFID-1")
    await a_tariff_for(system, "CS-1", flat("0.50"))
    token = {"idToken": "RFID-1", "type": "ISO14443"}
    t0, t1, t2 = at("08:00"), at("08:30"), at("09:00")
    async with await WireStation.connect(server.ws, "CS-1", subprotocols=("ocpp2.0.1",)) as station:
        assert (await station.ok("BootNotification", boot201()))["status"] == "Accepted"
        ended = tx_event("Ended", "tx-9", 2, timestamp=t2, offline=True, meterValue=energy(3_000, t2))
        await station.ok("TransactionEvent", ended)
        await station.ok(
            "TransactionEvent", tx_event("Updated", "tx-9", 1, timestamp=t1, meterValue=energy(2_000, t1))
        )
        assert await cdrs_of(system) == []  # the Started event is still missing
        started = tx_event(
            "Started",
            "tx-9",
            0,
            timestamp=t0,
            idToken=token,
            evse={"id": 1, "connectorId": 1},
            meterValue=energy(1_000, t0),
        )
        await station.ok("TransactionEvent", started)
    (cdr,) = await cdrs_of(system)
    assert (cdr.station_id, cdr.evse_id, cdr.id_token, cdr.energy_wh) == ("CS-1", 1, "RFID-1", 2_000)
    assert (cdr.started_at, cdr.ended_at) == (DAY.replace(hour=8), DAY.replace(hour=9))
    # No status said "charging", so the whole hour counts as charging: no idle time.
    assert (cdr.charging_s, cdr.idle_s, cdr.total) == (3_600, 0, Decimal("1.00"))
