"""CSMS-initiated calls sent through the real server, and what the station then does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from chargepoints.tables import ConnectorRow, StationRow, StationVariableRow, TransactionRow
from emulator.device_model import ITEMS_PER_REPORT, variables
from tests.conftest import LiveServer
from tests.emulator_selftest.harness import Rig, rig_for, until

VERSIONS = ["1.6", "2.0.1"]


@pytest.fixture
async def rig(server: LiveServer) -> AsyncIterator[Rig]:
    async with rig_for(server) as made:
        yield made


def variable(component: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"component": {"name": component}, "variable": {"name": name}, **extra}


async def test_v16_configuration_keys(rig: Rig) -> None:
    station = await rig.station("1.6")

    async def change(key: str, value: str) -> str:
        return str((await rig.call("CS-1", "ChangeConfiguration", {"key": key, "value": value}))["status"])

    assert await change("MeterValueSampleInterval", "30") == "Accepted"
    assert await change("NumberOfConnectors", "9") == "Rejected"
    assert await change("HeartbeatInterval", "soon") == "Rejected"
    assert await change("NoSuchKey", "1") == "NotSupported"
    reply = await rig.call("CS-1", "GetConfiguration", {"key": ["MeterValueSampleInterval", "X"]})
    assert reply["configurationKey"] == [
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "30"}
    ]
    assert reply["unknownKey"] == ["X"]
    every = (await rig.call("CS-1", "GetConfiguration", {}))["configurationKey"]
    keys = {entry["key"] for entry in every}
    assert {"SupportedFeatureProfiles", "StopTransactionOnInvalidId", "LocalAuthListEnabled"} <= keys
    assert station.state.meter_interval_s == 30


async def test_v201_variables(rig: Rig) -> None:
    station = await rig.station("2.0.1")
    heartbeat = variable("OCPPCommCtrlr", "HeartbeatInterval")
    data = [
        {**heartbeat, "attributeValue": "45"},
        {**variable("SecurityCtrlr", "SecurityProfile"), "attributeValue": "3"},
        {**variable("OCPPCommCtrlr", "Nope"), "attributeValue": "1"},
    ]
    results = (await rig.call("CS-1", "SetVariables", {"setVariableData": data}))["setVariableResult"]
    assert [r["attributeStatus"] for r in results] == ["Accepted", "Rejected", "UnknownVariable"]
    evse_status = {
        "component": {"name": "EVSE", "evse": {"id": 2}},
        "variable": {"name": "AvailabilityState"},
    }
    request = [heartbeat, variable("Nope", "X"), evse_status, {**heartbeat, "attributeType": "Target"}]
    results = (await rig.call("CS-1", "GetVariables", {"getVariableData": request}))["getVariableResult"]
    assert [(r["attributeStatus"], r.get("attributeValue")) for r in results] == [
        ("Accepted", "45"),
        ("UnknownComponent", None),
        ("Accepted", "Available"),
        ("NotSupportedAttributeType", None),
    ]
    assert station.state.heartbeat_interval_s == 45


async def test_v201_base_report_arrives_in_pages(rig: Rig) -> None:
    station = await rig.station("2.0.1")
    reply = await rig.call("CS-1", "GetBaseReport", {"requestId": 5, "reportBase": "FullInventory"})
    assert reply["status"] == "Accepted"
    total = len(variables(station.state))
    pages = -(-total // ITEMS_PER_REPORT)

    reports = await rig.wait_sent("NotifyReport", pages)
    assert [(r["requestId"], r["seqNo"], r["tbc"]) for r in reports] == [
        (5, n, n < pages - 1) for n in range(pages)
    ]
    stored = await rig.wait_rows(StationVariableRow, total)
    by_name = {(row.component, row.variable, row.evse_id): row for row in stored}
    assert by_name[("OCPPCommCtrlr", "HeartbeatInterval", 0)].mutability == "ReadWrite"
    assert by_name[("EVSE", "AvailabilityState", 2)].value == "Available"
    summary = await rig.call("CS-1", "GetBaseReport", {"requestId": 6, "reportBase": "SummaryInventory"})
    assert summary["status"] == "Accepted"
    [report] = await rig.wait_sent("NotifyReport", where=lambda r: r["requestId"] == 6)
    assert {item["variable"]["name"] for item in report["reportData"]} == {"AvailabilityState"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_triggered_messages(rig: Rig, version: str) -> None:
    await rig.station(version)
    key = "connectorId" if version == "1.6" else "evse"
    where: Any = 2 if version == "1.6" else {"id": 2}

    for message in ("Heartbeat", "MeterValues", "StatusNotification", "FirmwareStatusNotification"):
        reply = await rig.call("CS-1", "TriggerMessage", {"requestedMessage": message, key: where})
        assert reply["status"] == "Accepted", message
    assert (await rig.wait_sent("FirmwareStatusNotification"))[0]["status"] == "Idle"
    await rig.wait_sent("Heartbeat")
    [sample] = await rig.wait_sent("MeterValues")
    assert sample["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    unknown_evse: Any = 9 if version == "1.6" else {"id": 9}
    status = {"requestedMessage": "StatusNotification", key: unknown_evse}
    assert (await rig.call("CS-1", "TriggerMessage", status))["status"] == "Rejected"
    if version == "1.6":
        log = {"requestedMessage": "LogStatusNotification"}
        assert (await rig.call("CS-1", "ExtendedTriggerMessage", log))["status"] == "Accepted"
        certificate = {"requestedMessage": "SignChargePointCertificate"}
        assert (await rig.call("CS-1", "ExtendedTriggerMessage", certificate))["status"] == "NotImplemented"


@pytest.mark.parametrize("version", VERSIONS)
async def test_availability_changes_wait_for_the_session(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)
    await station.start_transaction(1, "TAG-1")
    if version == "1.6":
        inoperative: dict[str, Any] = {"connectorId": 1, "type": "Inoperative"}
        operative: dict[str, Any] = {"connectorId": 0, "type": "Operative"}
    else:
        inoperative = {"operationalStatus": "Inoperative", "evse": {"id": 1}}
        operative = {"operationalStatus": "Operative"}

    assert (await rig.call("CS-1", "ChangeAvailability", inoperative))["status"] == "Scheduled"
    assert station.state.evse(1).status == "Occupied"
    await station.stop_transaction(1)
    await rig.wait_rows(ConnectorRow, evse_id=1, status="Unavailable")
    assert (await rig.call("CS-1", "ChangeAvailability", operative))["status"] == "Accepted"
    await rig.wait_rows(ConnectorRow, evse_id=1, status="Available")


@pytest.mark.parametrize("version", VERSIONS)
async def test_unlocking_a_connector(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)
    await station.start_transaction(1, "TAG-1")
    payload = {"connectorId": 1} if version == "1.6" else {"evseId": 1, "connectorId": 1}

    reply = await rig.call("CS-1", "UnlockConnector", payload)
    if version == "1.6":  # 1.6: the session ends first
        assert reply["status"] == "Unlocked"
        [row] = await rig.wait_rows(TransactionRow, state="Ended")
        assert row.stop_reason == "UnlockCommand"
    else:  # 2.0.1: refused while a session runs
        assert reply["status"] == "OngoingAuthorizedTransaction"
        await station.stop_transaction(1)
        assert (await rig.call("CS-1", "UnlockConnector", payload))["status"] == "Unlocked"


@pytest.mark.parametrize("version", VERSIONS)
async def test_resets_reboot_the_station(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)
    await station.start_transaction(1, "TAG-1")

    kind = "Hard" if version == "1.6" else "Immediate"
    assert (await rig.call("CS-1", "Reset", {"type": kind}))["status"] == "Accepted"
    boots = await rig.wait_sent("BootNotification", 2)
    [row] = await rig.wait_rows(TransactionRow, state="Ended")
    assert row.stop_reason == ("HardReset" if version == "1.6" else "ImmediateReset")
    assert version == "1.6" or boots[-1]["reason"] == "RemoteReset"
    await until(lambda: station.connected and station.boot_status == "Accepted")


async def test_v201_reset_on_idle_waits_for_the_session(rig: Rig) -> None:
    await rig.token("TAG-1")
    station = await rig.station("2.0.1", firmware_step_s=0.02)
    await station.start_transaction(1, "TAG-1")

    assert (await rig.call("CS-1", "Reset", {"type": "OnIdle"}))["status"] == "Scheduled"
    assert len(await rig.sent("BootNotification")) == 1
    await station.stop_transaction(1)
    await rig.wait_sent("BootNotification", 2)


@pytest.mark.parametrize("version", VERSIONS)
async def test_data_transfer_and_cache(rig: Rig, version: str) -> None:
    station = await rig.station(version)
    mine = {"vendorId": station.spec.vendor, "messageId": "Ping", "data": "42"}
    assert await rig.call("CS-1", "DataTransfer", mine) == {"status": "Accepted", "data": "42"}
    assert (await rig.call("CS-1", "DataTransfer", {"vendorId": "Other"}))["status"] == "UnknownVendorId"
    assert (await rig.call("CS-1", "ClearCache", {}))["status"] == "Accepted"


async def test_v201_display_messages_costs_and_transaction_status(rig: Rig) -> None:
    await rig.token("TAG-1")
    station = await rig.station("2.0.1")
    tx = await station.start_transaction(1, "TAG-1")
    message = {"id": 3, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Welcome"}}

    assert (await rig.call("CS-1", "SetDisplayMessage", {"message": message}))["status"] == "Accepted"
    unknown = {**message, "transactionId": "nope"}
    assert (await rig.call("CS-1", "SetDisplayMessage", {"message": unknown}))[
        "status"
    ] == "UnknownTransaction"
    assert (await rig.call("CS-1", "ClearDisplayMessage", {"id": 3}))["status"] == "Accepted"
    assert (await rig.call("CS-1", "ClearDisplayMessage", {"id": 3}))["status"] == "Unknown"
    await rig.call("CS-1", "CostUpdated", {"totalCost": 4.2, "transactionId": tx})
    session = station.state.evse(1).session
    assert session is not None and session.total_cost == 4.2
    status = await rig.call("CS-1", "GetTransactionStatus", {"transactionId": tx})
    assert status == {"messagesInQueue": False, "ongoingIndicator": True}


async def test_boot_reports_the_station(rig: Rig) -> None:
    await rig.station("1.6", model="Emu-50", serial="SN-1")
    [row] = await rig.rows(StationRow, id="CS-1")
    assert (row.model, row.serial_number, row.firmware_version) == ("Emu-50", "SN-1", "emu-1.0")
