"""The emulator against a tiny in-test central system, for both OCPP versions."""

import asyncio
import base64
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp import v16, v201

from emulator import Station, StationSpec, run_fleet
from emulator.autopilot import Backoff
from emulator.cli import build_specs, parse_args
from emulator.station import StationState

from .central import Csms, running_csms

VERSIONS = ["1.6", "2.0.1"]
ENERGY = "Energy.Active.Import.Register"


@pytest.fixture
async def csms() -> AsyncIterator[Csms]:
    async with running_csms() as central:
        yield central


@pytest.fixture
async def stations(csms: Csms) -> AsyncIterator[list[Station]]:
    """Stations made by tests; all closed afterwards."""
    made: list[Station] = []
    yield made
    for station in made:
        await station.close()


def make(stations: list[Station], csms: Csms, version: str, **kw: Any) -> Station:
    station = Station(StationSpec(f"CS-{version}", version, **kw), csms.url)  # type: ignore[arg-type]
    stations.append(station)
    return station


def register(meter_value: dict[str, Any]) -> float:
    """The energy register in a snake_cased MeterValue of either version."""
    for sample in meter_value["sampled_value"]:
        if sample.get("measurand") == ENERGY:
            return float(sample["value"])
    raise AssertionError("no energy register")


@pytest.mark.parametrize("version", VERSIONS)
async def test_boot_accepted_then_statuses(csms: Csms, stations: list[Any], version: str) -> None:
    station = make(stations, csms, version)

    assert await station.connect() == "Accepted"

    sid = station.spec.station_id
    statuses = await csms.log.wait(sid, "StatusNotification", 3 if version == "1.6" else 2)
    if version == "1.6":
        assert sorted(s["connector_id"] for s in statuses) == [0, 1, 2]
        assert {s["status"] for s in statuses} == {"Available"}
    else:
        assert sorted(s["evse_id"] for s in statuses) == [1, 2]
        assert {s["connector_status"] for s in statuses} == {"Available"}
    assert station.boot_status == "Accepted"
    await station.heartbeat()
    assert csms.log.of(sid, "Heartbeat")


@pytest.mark.parametrize("version", VERSIONS)
async def test_pending_boot_accepted_after_trigger(csms: Csms, stations: list[Any], version: str) -> None:
    csms.boot_statuses = ["Pending"]
    station = make(stations, csms, version)
    assert await station.connect() == "Pending"
    assert not csms.log.of(station.spec.station_id, "StatusNotification")

    module = v16 if version == "1.6" else v201
    request = module.call.TriggerMessage(requested_message="BootNotification")
    reply = await csms.links[station.spec.station_id].call(request, suppress=False)

    assert reply.status == "Accepted"
    await csms.log.wait(station.spec.station_id, "BootNotification", 2)
    await csms.log.wait(station.spec.station_id, "StatusNotification", 2)
    assert station.boot_status == "Accepted"


async def test_v16_session_meter_rises(csms: Csms, stations: list[Any]) -> None:
    station = make(stations, csms, "1.6")
    await station.connect()
    sid = station.spec.station_id

    assert await station.authorize("TAG-1") == "Accepted"
    assert await station.start_transaction(1, "TAG-1") == "1"
    assert station.transactions == {1: "1"}
    for _ in range(3):
        await station.send_meter_values(1, seconds=60)
    await station.stop_transaction(1)

    start = csms.log.of(sid, "StartTransaction")[0]
    samples = csms.log.of(sid, "MeterValues")
    stop = csms.log.of(sid, "StopTransaction")[0]
    readings = [register(s["meter_value"][0]) for s in samples]
    assert [s["transaction_id"] for s in samples] == [1, 1, 1]
    assert start["meter_start"] < readings[0] < readings[1] < readings[2] <= stop["meter_stop"]
    assert stop["meter_stop"] - start["meter_start"] == pytest.approx(22000 * 180 / 3600, abs=2)
    assert stop["reason"] == "Local" and stop["transaction_id"] == 1
    measurands = {v["measurand"] for v in samples[0]["meter_value"][0]["sampled_value"]}
    assert measurands >= {ENERGY, "Power.Active.Import", "Current.Import", "Voltage", "SoC"}
    statuses = [s["status"] for s in csms.log.of(sid, "StatusNotification") if s["connector_id"] == 1]
    assert statuses[-4:] == ["Preparing", "Charging", "Finishing", "Available"]
    assert station.transactions == {}


async def test_v201_session_meter_rises(csms: Csms, stations: list[Any]) -> None:
    station = make(stations, csms, "2.0.1")
    await station.connect()
    sid = station.spec.station_id

    assert await station.authorize("TAG-1") == "Accepted"
    tx = await station.start_transaction(2, "TAG-1")
    for _ in range(3):
        await station.send_meter_values(2, seconds=60)
    await station.stop_transaction(2)

    events = csms.log.of(sid, "TransactionEvent")
    assert [e["event_type"] for e in events] == [
        "Started",
        "Updated",
        "Updated",
        "Updated",
        "Ended",
    ]
    assert [e["seq_no"] for e in events] == [0, 1, 2, 3, 4]
    assert {e["transaction_info"]["transaction_id"] for e in events} == {tx}
    started, ended = events[0], events[-1]
    assert started["trigger_reason"] == "Authorized"
    assert started["id_token"] == {"id_token": "TAG-1", "type": "ISO14443"}
    assert started["evse"] == {"id": 2, "connector_id": 1}
    assert ended["transaction_info"]["stopped_reason"] == "Local"
    readings = [register(e["meter_value"][0]) for e in events]
    assert readings == sorted(readings) and readings[0] < readings[1] < readings[3]
    assert readings[-1] - readings[0] == pytest.approx(22000 * 180 / 3600, abs=2)


@pytest.mark.parametrize("version", VERSIONS)
async def test_basic_auth_header(csms: Csms, stations: list[Any], version: str) -> None:
    with_password = make(stations, csms, version, password="s3cret")
    await with_password.connect()
    sid = with_password.spec.station_id

    expected = "Basic " + base64.b64encode(f"{sid}:s3cret".encode()).decode()
    assert csms.headers[sid] == expected
    await with_password.close()
    await make(stations, csms, version).connect()
    assert csms.headers[sid] is None


@pytest.mark.parametrize("version", VERSIONS)
async def test_remote_start_and_stop(csms: Csms, stations: list[Any], version: str) -> None:
    station = make(stations, csms, version)
    await station.connect()
    sid = station.spec.station_id
    central = csms.links[sid]

    if version == "1.6":
        start = v16.call.RemoteStartTransaction(id_tag="TAG-9", connector_id=2)
    else:
        token = {"id_token": "TAG-9", "type": "ISO14443"}
        start = v201.call.RequestStartTransaction(id_token=token, remote_start_id=7, evse_id=2)
    assert (await central.call(start, suppress=False)).status == "Accepted"

    if version == "1.6":
        started = (await csms.log.wait(sid, "StartTransaction"))[0]
        assert (started["connector_id"], started["id_tag"]) == (2, "TAG-9")
    else:
        started = (await csms.log.wait(sid, "TransactionEvent"))[0]
        assert started["trigger_reason"] == "RemoteStart"
        assert started["transaction_info"]["remote_start_id"] == 7
    # A 1.6 session is known by a placeholder until the StartTransaction answer names it.
    await _until(lambda: not station.transactions.get(2, "pending").startswith("pending"))

    tx = station.transactions[2]
    if version == "1.6":
        stop = v16.call.RemoteStopTransaction(transaction_id=int(tx))
    else:
        stop = v201.call.RequestStopTransaction(transaction_id=tx)
    assert (await central.call(stop, suppress=False)).status == "Accepted"
    await _until(lambda: not station.transactions)


async def test_v16_configuration(csms: Csms, stations: list[Any]) -> None:
    station = make(stations, csms, "1.6")
    await station.connect()
    central = csms.links[station.spec.station_id]

    change = v16.call.ChangeConfiguration(key="MeterValueSampleInterval", value="30")
    assert (await central.call(change, suppress=False)).status == "Accepted"
    readonly = v16.call.ChangeConfiguration(key="NumberOfConnectors", value="9")
    assert (await central.call(readonly, suppress=False)).status == "Rejected"
    reply = await central.call(v16.call.GetConfiguration(key=["MeterValueSampleInterval", "X"]))
    assert reply.configuration_key[0]["value"] == "30"
    assert reply.unknown_key == ["X"]
    assert station.state.meter_interval_s == 30


async def test_v201_variables(csms: Csms, stations: list[Any]) -> None:
    station = make(stations, csms, "2.0.1")
    await station.connect()
    central = csms.links[station.spec.station_id]
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}

    data = [{**heartbeat, "attribute_value": "45"}]
    reply = await central.call(v201.call.SetVariables(set_variable_data=data), suppress=False)
    assert reply.set_variable_result[0]["attribute_status"] == "Accepted"
    unknown = {"component": {"name": "Nope"}, "variable": {"name": "X"}}
    request = v201.call.GetVariables(get_variable_data=[heartbeat, unknown])
    reply = await central.call(request, suppress=False)
    results = reply.get_variable_result
    assert (results[0]["attribute_status"], results[0]["attribute_value"]) == ("Accepted", "45")
    assert results[1]["attribute_status"] == "UnknownComponent"


async def test_run_charges_and_reconnects(csms: Csms) -> None:
    station = Station(StationSpec("AUTO-1", "2.0.1", meter_interval_s=0.02), csms.url)
    stop = asyncio.Event()
    task = asyncio.create_task(station.run(stop, session_probability=1.0, id_tokens=["T"]))

    await csms.log.wait("AUTO-1", "TransactionEvent", 3)
    dropped = csms.connections["AUTO-1"]
    await dropped.close()
    await _until(lambda: csms.connections["AUTO-1"] is not dropped)  # back, with or without a boot
    stop.set()
    await asyncio.wait_for(task, 2)

    events = csms.log.of("AUTO-1", "TransactionEvent")
    assert events[-1]["event_type"] == "Ended"  # sessions are closed on shutdown
    assert not station.connected


async def test_fleet_reports_progress_and_stops(csms: Csms) -> None:
    specs = build_specs(parse_args(["--stations", "3", "--ocpp", "mixed", "--meter-interval", "0.02"]))
    progress: list[tuple[int, int]] = []
    stop = asyncio.Event()
    fleet = asyncio.create_task(
        run_fleet(
            csms.url,
            specs,
            stop=stop,
            id_tokens=["T"],
            session_probability=1.0,
            on_progress=lambda n, total: progress.append((n, total)),
        )
    )
    await _until(lambda: (3, 3) in progress)
    stop.set()
    await asyncio.wait_for(fleet, 2)

    assert [s.station_id for s in specs] == ["EMU-0001", "EMU-0002", "EMU-0003"]
    assert [s.version for s in specs] == ["1.6", "2.0.1", "1.6"]
    assert progress[-1] == (0, 3)


def test_register_is_stable_per_station_and_only_rises() -> None:
    first = StationState.from_spec(StationSpec("A", "1.6"))
    again = StationState.from_spec(StationSpec("A", "1.6"))
    other = StationState.from_spec(StationSpec("B", "1.6"))
    assert first.evse(1).register_wh == again.evse(1).register_wh != other.evse(1).register_wh

    evse = first.evse(1)
    evse.plug_in(first.new_ev(1))
    evse.set_limit(7200)
    evse.begin(first.new_session("tx", "T"))
    before = evse.register_wh
    evse.advance(3600)
    assert evse.register_wh - before == 7200
    evse.end()
    evse.advance(3600)
    assert evse.register_wh - before == 7200


def test_backoff_grows_with_jitter_up_to_cap() -> None:
    backoff = Backoff(random.Random(1), base_s=1, cap_s=8)
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 1


async def _until(condition: Any) -> None:
    async with asyncio.timeout(1.5):
        while not condition():
            await asyncio.sleep(0.005)


@pytest.mark.parametrize("version", VERSIONS)
async def test_reset_stops_sessions_and_reboots(csms: Csms, stations: list[Any], version: str) -> None:
    station = make(stations, csms, version, boot_delay_s=0.05)
    await station.connect()
    sid = station.spec.station_id
    await station.start_transaction(1, "TAG-1")

    module = v16 if version == "1.6" else v201
    reset = module.call.Reset(type="Soft" if version == "1.6" else "Immediate")
    assert (await csms.links[sid].call(reset, suppress=False)).status == "Accepted"
    boots = await csms.log.wait(sid, "BootNotification", 2)

    if version == "1.6":
        assert csms.log.of(sid, "StopTransaction")[0]["reason"] == "SoftReset"
    else:
        ended = csms.log.of(sid, "TransactionEvent")[-1]
        assert ended["transaction_info"]["stopped_reason"] == "ImmediateReset"
        assert boots[-1]["reason"] == "RemoteReset"
    assert not station.transactions


@pytest.mark.parametrize("version", VERSIONS)
async def test_change_availability(csms: Csms, stations: list[Any], version: str) -> None:
    station = make(stations, csms, version)
    await station.connect()
    sid = station.spec.station_id
    central = csms.links[sid]

    if version == "1.6":
        change = v16.call.ChangeAvailability(connector_id=1, type="Inoperative")
        start = v16.call.RemoteStartTransaction(id_tag="T", connector_id=1)
    else:
        change = v201.call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1})
        token = {"id_token": "T", "type": "ISO14443"}
        start = v201.call.RequestStartTransaction(id_token=token, remote_start_id=1, evse_id=1)
    assert (await central.call(change, suppress=False)).status == "Accepted"

    key = "status" if version == "1.6" else "connector_status"
    await csms.log.wait(sid, "StatusNotification", where=lambda s: s[key] == "Unavailable")
    assert (await central.call(start, suppress=False)).status == "Rejected"
