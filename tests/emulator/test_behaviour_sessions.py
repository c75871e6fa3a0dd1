"""Driving a station like a driver does, against the real server: plug in, swipe, charge, unplug."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from chargepoints.tables import (
    ConnectorRow,
    MeterSampleRow,
    StationEventRow,
    StatusHistoryRow,
    TransactionRow,
)
from emulator.errors import EvseUnavailableError
from emulator.ev import EvSpec
from tests.conftest import LiveServer
from tests.emulator_selftest.harness import Rig, rig_for

VERSIONS = ["1.6", "2.0.1"]


@pytest.fixture
async def rig(server: LiveServer) -> AsyncIterator[Rig]:
    async with rig_for(server) as made:
        yield made


@pytest.mark.parametrize("version", VERSIONS)
async def test_plug_in_swipe_charge_and_unplug(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)

    await station.plug_in(1)
    assert await station.swipe("TAG-1") == "Accepted"
    await station.send_meter_values(1, seconds=60)
    await station.unplug(1)

    [row] = await rig.wait_rows(TransactionRow, state="Ended")
    assert (row.evse_id, row.id_token, row.stop_reason) == (1, "TAG-1", "EVDisconnected")
    assert row.energy_wh == pytest.approx(22_000 * 60 / 3600, abs=2)
    await rig.wait_rows(ConnectorRow, evse_id=1, status="Available")
    if version == "1.6":
        statuses = [s["status"] for s in await rig.sent("StatusNotification") if s["connectorId"] == 1]
        assert statuses[-3:] == ["Preparing", "Charging", "Available"]  # no Finishing: the cable is gone
        assert [s["idTag"] for s in await rig.sent("Authorize")] == ["TAG-1"]
    else:
        events = await rig.sent("TransactionEvent")
        assert [e["triggerReason"] for e in events] == [
            "Authorized",
            "MeterValuePeriodic",
            "EVCommunicationLost",
        ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_swipe_first_then_plug_in_and_swipe_again_to_stop(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)

    assert await station.swipe("TAG-1", evse_id=2) == "Accepted"
    assert station.transactions == {}
    await station.plug_in(2)
    await rig.wait_rows(TransactionRow, state="Active", evse_id=2)
    assert await station.swipe("TAG-1") == "Accepted"

    [row] = await rig.wait_rows(TransactionRow, state="Ended")
    assert row.stop_reason == "Local" and station.transactions == {}
    if version == "1.6":
        statuses = [s["status"] for s in await rig.sent("StatusNotification") if s["connectorId"] == 2]
        assert statuses[-4:] == ["Preparing", "Charging", "Finishing", "Available"]
    else:
        [started, ended] = await rig.sent("TransactionEvent")
        assert started["triggerReason"] == "CablePluggedIn" and ended["triggerReason"] == "StopAuthorized"


@pytest.mark.parametrize("version", VERSIONS)
async def test_refused_tokens_start_nothing(rig: Rig, version: str) -> None:
    await rig.token("BLOCKED", status="Blocked")
    station = await rig.station(version)
    await station.plug_in(1)

    assert await station.swipe("BLOCKED") == "Blocked"
    assert await station.swipe("NEVER-SEEN") == ("Invalid" if version == "1.6" else "Unknown")
    assert station.transactions == {} and not await rig.rows(TransactionRow)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_start_the_csms_refuses_ends_deauthorized(rig: Rig, version: str) -> None:
    await rig.token("BLOCKED", status="Blocked")
    await rig.token("TAG-1")
    station = await rig.station(version)

    await station.start_transaction(1, "BLOCKED")  # no Authorize first: the answer to the start decides
    [row] = await rig.wait_rows(TransactionRow, state="Ended")
    assert row.stop_reason == "DeAuthorized"
    await station.start_transaction(2, "TAG-1")
    with pytest.raises(EvseUnavailableError):
        await station.start_transaction(2, "TAG-1")


@pytest.mark.parametrize("version", VERSIONS)
async def test_samples_at_the_configured_interval_with_the_configured_measurands(
    rig: Rig, version: str
) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version, meter_interval_s=0.1)
    extra = "Temperature" if version == "1.6" else "Current.Offered"  # 2.0.1 has no Temperature measurand
    assert (
        station.state.config.write("MeterValuesSampledData", f"Energy.Active.Import.Register,{extra},SoC")
        == "Accepted"
    )
    assert station.state.config.write("MeterValuesSampledData", "Frequency") == "Rejected"

    await station.start_transaction(1, "TAG-1")
    samples = await rig.wait_rows(MeterSampleRow, 9, context="Sample.Periodic")

    assert {s.measurand for s in samples} == {"Energy.Active.Import.Register", extra, "SoC"}
    energy = [s.value for s in samples if s.measurand == "Energy.Active.Import.Register"]
    assert energy == sorted(energy) and energy[-1] > energy[0]
    assert {s.unit for s in samples if s.measurand == extra} == {"Celsius" if version == "1.6" else "A"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_clock_aligned_samples(rig: Rig, version: str) -> None:
    station = await rig.station(version)
    key = "ClockAlignedDataInterval"
    if version == "1.6":
        assert (await rig.call("CS-1", "ChangeConfiguration", {"key": key, "value": "1"}))[
            "status"
        ] == "Accepted"
    else:
        setting = {
            "component": {"name": "AlignedDataCtrlr"},
            "variable": {"name": "Interval"},
            "attributeValue": "1",
        }
        result = await rig.call("CS-1", "SetVariables", {"setVariableData": [setting]})
        assert result["setVariableResult"][0]["attributeStatus"] == "Accepted"

    samples = await rig.wait_rows(MeterSampleRow, 2, context="Sample.Clock")
    assert {s.evse_id for s in samples} == {1, 2} and station.state.config.number(key) == 1
    assert all(s.timestamp.microsecond // 1000 < 200 for s in samples)  # on the second


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_skewed_clock_shows_in_every_timestamp(rig: Rig, version: str) -> None:
    station = await rig.station(version, connect=False)
    station.state.clock_offset_s = -3600.0
    await station.connect()

    history = await rig.wait_rows(StatusHistoryRow, 2)
    skew = (datetime.now(UTC) - history[-1].timestamp).total_seconds()
    assert skew == pytest.approx(3600, abs=5)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_fault_with_an_error_code_stops_the_power_and_clears(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)
    await station.start_transaction(1, "TAG-1")

    await station.set_status(1, "Faulted", "GroundFailure")
    assert station.state.evse(1).power_w == 0
    [connector] = await rig.wait_rows(ConnectorRow, evse_id=1, status="Faulted")
    if version == "1.6":
        assert connector.error_code == "GroundFailure"
    else:
        [event] = await rig.wait_rows(StationEventRow, kind="NotifyEvent")
        assert event.code == "Connector/Problem=true" and event.details["tech_code"] == "GroundFailure"
    await station.set_status(1, "Available")
    await rig.wait_rows(ConnectorRow, evse_id=1, status="Occupied")
    assert station.state.evse(1).power_w > 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_remote_start_and_stop_through_the_server(rig: Rig, version: str) -> None:
    await rig.token("TAG-9")
    station = await rig.station(version)
    if version == "1.6":
        start, stop = "RemoteStartTransaction", "RemoteStopTransaction"
        payload: dict[str, object] = {"idTag": "TAG-9", "connectorId": 2}
    else:
        start, stop = "RequestStartTransaction", "RequestStopTransaction"
        payload = {"idToken": {"idToken": "TAG-9", "type": "ISO14443"}, "remoteStartId": 7, "evseId": 2}

    assert (await rig.call("CS-1", start, payload))["status"] == "Accepted"
    [row] = await rig.wait_rows(TransactionRow, state="Active")
    assert (row.evse_id, row.id_token) == (2, "TAG-9")
    assert version == "1.6" or row.remote_start_id == 7
    assert (await rig.call("CS-1", start, payload))["status"] == "Rejected"  # EVSE 2 is busy

    tx = station.transactions[2]
    stop_payload = {"transactionId": int(tx) if version == "1.6" else tx}
    assert (await rig.call("CS-1", stop, stop_payload))["status"] == "Accepted"
    [ended] = await rig.wait_rows(TransactionRow, state="Ended")
    assert ended.stop_reason == "Remote"


async def test_remote_starts_are_checked_when_so_configured(rig: Rig) -> None:
    await rig.token("BLOCKED", status="Blocked")
    station = await rig.station("1.6")
    change = {"key": "AuthorizeRemoteTxRequests", "value": "true"}
    assert (await rig.call("CS-1", "ChangeConfiguration", change))["status"] == "Accepted"

    reply = await rig.call("CS-1", "RemoteStartTransaction", {"idTag": "BLOCKED", "connectorId": 1})
    assert reply["status"] == "Accepted"  # the answer comes before the check
    await rig.wait_sent("Authorize")
    assert station.transactions == {} and not await rig.rows(TransactionRow)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_full_battery_suspends_the_session(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version, ev=EvSpec(battery_wh=10_000, initial_soc=98.0))
    await station.start_transaction(1, "TAG-1")

    await station.send_meter_values(1, seconds=600)

    assert station.state.evse(1).charging_state == "SuspendedEV"
    if version == "1.6":  # the connector status says it
        await rig.wait_rows(ConnectorRow, evse_id=1, charging_state="SuspendedEV")
    else:  # a TransactionEvent (ChargingStateChanged) says it
        await rig.wait_rows(TransactionRow, state="Active", charging_state="SuspendedEV")
    soc = [s.value for s in await rig.rows(MeterSampleRow, measurand="SoC")]
    assert soc[-1] == 100.0
