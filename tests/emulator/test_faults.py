"""Injected faults against the real server: what the station does, and that the CSMS copes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from chargepoints.errors import CommandTimedOut
from chargepoints.tables import (
    MessageLogRow,
    MeterSampleRow,
    StatusHistoryRow,
    TransactionEventRow,
    TransactionRow,
)
from emulator.fleet import Fleet
from emulator.scenario import Arrivals, FaultRule, Network, Scenario, SessionLength
from emulator.station import StationSpec
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

QUICK = Network(backoff_base_s=0.05, backoff_cap_s=0.05)
CHARGING = {"arrivals": Arrivals(probability=1.0), "sessions": SessionLength("fixed", minutes=10)}


@asynccontextmanager
async def fleet_of(
    server: LiveServer, specs: list[StationSpec], *rules: FaultRule, **scenario: Any
) -> AsyncIterator[Fleet]:
    """Provisioned stations and their token, running the rules, connected."""
    for spec in specs:
        await a_station(server.system, spec.station_id)
    await a_token(server.system, "TAG-F")
    settings = {"network": QUICK, "id_tokens": ("TAG-F",), **scenario}
    async with Fleet(server.ws, specs, scenario=Scenario(faults=rules, **settings)) as fleet:
        await asyncio.wait_for(fleet.wait_connected(), 2)
        yield fleet


async def until(condition: Callable[[], bool], limit: float = 2.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.01)


async def rows(server: LiveServer, table: Any) -> list[Any]:
    await server.system.message_log.flush()
    async with server.system.sessions() as session:
        return list((await session.execute(select(table).order_by(table.id))).scalars())


def frames_in(log: list[MessageLogRow], action: str) -> list[MessageLogRow]:
    return [row for row in log if row.direction == "in" and row.action == action]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_faulted_ends_the_session_reports_the_fault_and_recovers(
    server: LiveServer, version: str
) -> None:
    spec = StationSpec("FA-1", version, evse_count=1, meter_interval_s=0.05)  # type: ignore[arg-type]
    rule = FaultRule("faulted", stations=("FA-1",), at_s=0.3, duration_s=0.3, error_code="GroundFailure")
    async with fleet_of(server, [spec], rule, **CHARGING) as fleet:
        await until(lambda: fleet.stats().faults.get("faulted") == 1)
        await until(lambda: fleet.stations[0].state.evse(1).status == "Available")
    history = [
        (row.status, row.error_code) for row in await rows(server, StatusHistoryRow) if row.evse_id == 1
    ]
    faulted = history.index(("Faulted", "GroundFailure" if version == "1.6" else None))
    assert "Available" in [status for status, _ in history[faulted:]]
    transactions = await rows(server, TransactionRow)
    assert transactions[0].stop_reason == "Other"


async def test_a_dropped_link_is_restored_with_back_off(server: LiveServer) -> None:
    rule = FaultRule("drop", stations=("DR-1",), at_s=0.2)
    async with fleet_of(server, [StationSpec("DR-1", "1.6")], rule) as fleet:
        first = server.system.connections.get("DR-1")
        await until(lambda: fleet.stats().connects == 2 and fleet.stats().connected == 1)
        await until(lambda: server.system.connections.get("DR-1") not in (None, first))
    assert fleet.stats().faults == {"drop": 1}
    log = await rows(server, MessageLogRow)
    # A reconnection, not a reboot: no second boot, but the connectors are reported again.
    assert len(frames_in(log, "BootNotification")) == 1 and len(frames_in(log, "StatusNotification")) == 6


async def test_offline_keeps_the_station_away_for_the_duration(server: LiveServer) -> None:
    rule = FaultRule("offline", stations=("OF-1",), at_s=0.1, duration_s=0.6)
    async with fleet_of(server, [StationSpec("OF-1", "2.0.1")], rule) as fleet:
        await until(lambda: fleet.stats().faults.get("offline") == 1)
        await asyncio.sleep(0.3)  # several back-offs of QUICK: it would be back if it were merely dropped
        assert not server.system.connections.is_connected("OF-1") and fleet.stats().connects == 1
        await until(lambda: server.system.connections.is_connected("OF-1"))
    assert fleet.stats().connects == 2


async def test_slow_answers_arrive_late_and_may_miss_the_csms_deadline(server: LiveServer) -> None:
    rule = FaultRule("slow_responses", stations=("SL-1",), delay_s=0.5, duration_s=10)
    async with fleet_of(server, [StationSpec("SL-1", "1.6")], rule) as fleet:
        await until(lambda: fleet.stats().faults.get("slow_responses") == 1)
        started = time.monotonic()
        assert "status" in await server.system.connections.call("SL-1", "ClearCache", {})
        assert time.monotonic() - started >= 0.5
        adapter = server.system.connections.get("SL-1")
        assert adapter is not None
        adapter._response_timeout = 0.3
        with pytest.raises(CommandTimedOut):
            await server.system.connections.call("SL-1", "ClearCache", {})
    assert fleet.stats().answers_delayed == 2


async def test_missing_answers_time_out_until_the_fault_ends(server: LiveServer) -> None:
    rule = FaultRule("no_responses", stations=("NR-1",), duration_s=0.6)
    async with fleet_of(server, [StationSpec("NR-1", "2.0.1")], rule) as fleet:
        await until(lambda: fleet.stats().faults.get("no_responses") == 1)
        adapter = server.system.connections.get("NR-1")
        assert adapter is not None
        adapter._response_timeout = 0.3
        with pytest.raises(CommandTimedOut):
            await server.system.connections.call("NR-1", "ClearCache", {})
        await asyncio.sleep(0.4)
        assert "status" in await server.system.connections.call("NR-1", "ClearCache", {})
    assert fleet.stats().answers_withheld == 1


async def test_a_resent_start_transaction_gets_the_same_id(server: LiveServer) -> None:
    spec = StationSpec("DU-1", "1.6", evse_count=1, meter_interval_s=0.05)
    rule = FaultRule("duplicates", stations=("DU-1",), actions=("StartTransaction",))
    async with fleet_of(server, [spec], rule, **CHARGING) as fleet:
        await until(lambda: fleet.stats().sessions_started == 1 and fleet.stats().ticks >= 4)
        stats = fleet.stats()
    log = await rows(server, MessageLogRow)
    starts = frames_in(log, "StartTransaction")
    assert len(starts) == 2 and starts[0].frame == starts[1].frame
    answers = [row.frame for row in log if row.frame.startswith(f'[3,"{starts[0].unique_id}"')]
    assert len(answers) == 2 and answers[0] == answers[1]
    assert len(await rows(server, TransactionRow)) == 1
    assert stats.duplicates_sent == 1 and stats.errors == 0 and stats.call_errors == 0


async def test_duplicated_transaction_events_are_applied_once(server: LiveServer) -> None:
    spec = StationSpec("DU-2", "2.0.1", evse_count=1, meter_interval_s=0.05)
    rule = FaultRule("duplicates", stations=("DU-2",))  # every CALL
    async with fleet_of(server, [spec], rule, **CHARGING) as fleet:
        await until(lambda: fleet.stats().sessions_started == 1)
        async with asyncio.timeout(5):  # Started and two updates, however busy the machine
            while len(await rows(server, TransactionEventRow)) < 3:
                await asyncio.sleep(0.02)
    sent = [
        json.loads(row.frame)[3]["seqNo"]
        for row in frames_in(await rows(server, MessageLogRow), "TransactionEvent")
    ]
    stored = sorted(event.seq_no for event in await rows(server, TransactionEventRow))
    # The fault ends as the fleet stops, so the closing event may go out once only.
    assert stored == sorted(set(sent)) == list(range(len(stored))) and len(stored) >= 3
    assert all(sent.count(seq_no) == 2 for seq_no in stored[:-1])
    assert fleet.stats().errors == 0


@pytest.mark.parametrize("frame", ["bad_json", "not_array", "unknown_action", "bad_payload"])
async def test_a_malformed_frame_is_refused_and_the_station_carries_on(
    server: LiveServer, frame: str
) -> None:
    rule = FaultRule("malformed", stations=("MF-1",), frame=frame)  # type: ignore[arg-type]
    async with fleet_of(server, [StationSpec("MF-1", "1.6")], rule) as fleet:
        await until(lambda: fleet.stats().malformed_sent == 1)
        await fleet.stations[0].heartbeat()
    log = await rows(server, MessageLogRow)
    injected = [row for row in log if row.direction == "in" and "emu-injected" in row.frame]
    refusals = [row for row in log if row.direction == "out" and row.frame.startswith("[4,")]
    assert len(injected) == 1
    assert len(refusals) == (1 if injected[0].unique_id else 0)
    assert fleet.stats().call_errors == len(refusals) and fleet.stats().errors == 0
    assert log[-1].direction == "out" and log[-1].frame.startswith("[3,")  # the heartbeat's answer


async def test_a_skewed_clock_shows_in_the_timestamps(server: LiveServer) -> None:
    spec = StationSpec("CK-1", "1.6", evse_count=1, meter_interval_s=0.05)
    rule = FaultRule("clock_skew", stations=("CK-1",), offset_s=-3600)
    async with fleet_of(server, [spec], rule, **CHARGING) as fleet:
        await until(lambda: fleet.stats().sessions_started == 1)
    started_at = (await rows(server, TransactionRow))[0].started_at
    assert abs(datetime.now(UTC) - timedelta(hours=1) - started_at) < timedelta(seconds=10)


async def test_a_meter_reset_restarts_the_register(server: LiveServer) -> None:
    spec = StationSpec("MR-1", "1.6", evse_count=1, meter_interval_s=0.05)
    rule = FaultRule("meter_reset", stations=("MR-1",), at_s=0.3)
    async with fleet_of(server, [spec], rule, **CHARGING) as fleet:
        await until(lambda: fleet.stats().faults.get("meter_reset") == 1)
        await until(lambda: fleet.stats().ticks >= 12)
    registers = [
        row.value
        for row in await rows(server, MeterSampleRow)
        if row.measurand == "Energy.Active.Import.Register"
    ]
    assert registers[0] > 1_000_000 and registers[-1] < 1000


async def test_a_second_connection_with_the_same_id_replaces_the_first(server: LiveServer) -> None:
    rule = FaultRule("duplicate_id", stations=("ID-1",), at_s=0.1, duration_s=0.2)
    network = Network(backoff_base_s=0.6, backoff_cap_s=0.6)
    async with fleet_of(server, [StationSpec("ID-1", "2.0.1")], rule, network=network) as fleet:
        await until(lambda: fleet.stats().faults.get("duplicate_id") == 1)
        await until(lambda: fleet.stats().connected == 0)  # the server closed the original
        await until(lambda: fleet.stats().connects == 2 and fleet.stats().connected == 1)
        await until(lambda: server.system.connections.is_connected("ID-1"))
    assert len(frames_in(await rows(server, MessageLogRow), "BootNotification")) == 2  # ours, the impostor's


async def test_a_fleet_share_is_struck_repeatedly(server: LiveServer) -> None:
    specs = [StationSpec(f"PC-{n}", "1.6") for n in range(4)]
    rule = FaultRule("malformed", percent=50, every_s=0.2, frame="unknown_action")
    async with fleet_of(server, specs, rule) as fleet:
        await until(lambda: fleet.stats().faults.get("malformed", 0) >= 4)
    log = await rows(server, MessageLogRow)
    struck = {row.station_id for row in log if row.direction == "in" and "emu-injected" in row.frame}
    assert len(struck) == 2
