"""Typed operations: one API for both versions, translated to each station's protocol.

Each table row is one operation as the operator asks for it, the exact frame the station must
receive, and the station's answer; one booted station works through a whole table, which keeps
the suite fast without hiding which row failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import httpx
import pytest

from tests.builders import a_station, a_token, boot16, boot201, start16, tx_event
from tests.conftest import LiveServer
from tests.wire import WireStation

BOOTS = {"ocpp1.6": boot16(), "ocpp2.0.1": boot201()}
OK = {"status": "Accepted"}


class _AnyId:
    """Equals any positive int: ids the CSMS draws at random (remoteStartId, requestId)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and not isinstance(other, bool) and other > 0

    def __repr__(self) -> str:
        return "<any positive id>"


ANY_ID = _AnyId()


class Case(NamedTuple):
    path: str
    body: dict[str, Any]
    action: str
    payload: dict[str, Any]
    answer: dict[str, Any] = OK
    status: str = "accepted"


@asynccontextmanager
async def booted(
    server: LiveServer, subprotocol: str, station_id: str = "CP-1"
) -> AsyncIterator[tuple[WireStation, httpx.AsyncClient]]:
    await a_station(server.system, station_id)
    async with (
        await WireStation.connect(server.ws, station_id, subprotocols=(subprotocol,)) as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", BOOTS[subprotocol])
        yield station, api


async def exchange(api: httpx.AsyncClient, station: WireStation, case: Case) -> list[Any]:
    """POST the operation and answer the CALL the station gets; return that CALL."""
    queued = await api.post(f"/api/v1/operator/stations/{station.station_id}/{case.path}", json=case.body)
    assert queued.status_code == 202, (case.path, queued.text)
    frame = await station.recv()
    await station.send_raw(f'[3,"{frame[1]}",{httpx.Response(200, json=case.answer).text}]')
    return [*frame, queued.json()["id"]]


async def outcome(api: httpx.AsyncClient, command_id: int) -> dict[str, Any]:
    found: dict[str, Any] = (
        await api.get(f"/api/v1/operator/commands/{command_id}", params={"wait": 5})
    ).json()
    return found


async def run_table(server: LiveServer, subprotocol: str, table: list[Case]) -> None:
    """Each case's frame as it arrives; the outcomes at the end, when most are already final."""
    async with booted(server, subprotocol) as (station, api):
        frames = [await exchange(api, station, case) for case in table]
        for case, frame in zip(table, frames, strict=True):
            assert (frame[2], frame[3]) == (case.action, case.payload), case
            command = await outcome(api, frame[4])
            assert command["status"] == case.status, (case, command)
            assert command["payload"] == frame[3], "the command log shows what was sent"


SESSIONS = {
    "ocpp1.6": [
        Case("reset", {"kind": "Immediate"}, "Reset", {"type": "Hard"}),
        Case("reset", {}, "Reset", {"type": "Soft"}, {"status": "Rejected"}, "rejected"),
        Case("clear-cache", {}, "ClearCache", {}),
        Case("remote-start", {"id_token": "TAG-1", "evse_id": 2}, "RemoteStartTransaction",
             {"idTag": "TAG-1", "connectorId": 2}),
        Case("remote-start", {"id_token": "TAG-1"}, "RemoteStartTransaction", {"idTag": "TAG-1"},
             {"status": "Rejected"}, "rejected"),
        Case("unlock-connector", {"evse_id": 2}, "UnlockConnector", {"connectorId": 2},
             {"status": "Unlocked"}),
        Case("change-availability", {"status": "Inoperative"}, "ChangeAvailability",
             {"connectorId": 0, "type": "Inoperative"}, {"status": "Scheduled"}),
        Case("change-availability", {"status": "Operative", "evse_id": 1, "connector_id": 1},
             "ChangeAvailability", {"connectorId": 1, "type": "Operative"}),
    ],
    "ocpp2.0.1": [
        Case("reset", {"kind": "Immediate", "evse_id": 2}, "Reset", {"type": "Immediate", "evseId": 2}),
        Case("reset", {}, "Reset", {"type": "OnIdle"}, {"status": "Scheduled"}),
        Case("clear-cache", {}, "ClearCache", {}),
        Case("remote-start", {"id_token": "TAG-1", "id_token_type": "Central", "evse_id": 2},
             "RequestStartTransaction",
             {"idToken": {"idToken": "TAG-1", "type": "Central"}, "remoteStartId": ANY_ID, "evseId": 2}),
        Case("remote-start", {"id_token": "TAG-1"}, "RequestStartTransaction",
             {"idToken": {"idToken": "TAG-1", "type": "ISO14443"}, "remoteStartId": ANY_ID}),
        Case("unlock-connector", {"evse_id": 2, "connector_id": 3}, "UnlockConnector",
             {"evseId": 2, "connectorId": 3}, {"status": "Unlocked"}),
        Case("change-availability", {"status": "Inoperative"}, "ChangeAvailability",
             {"operationalStatus": "Inoperative"}, {"status": "Scheduled"}),
        Case("change-availability", {"status": "Operative", "evse_id": 1}, "ChangeAvailability",
             {"operationalStatus": "Operative", "evse": {"id": 1}}),
        Case("change-availability", {"status": "Operative", "evse_id": 1, "connector_id": 2},
             "ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 1, "connectorId": 2}}),
    ],
}  # fmt: skip


@pytest.mark.parametrize("subprotocol", list(SESSIONS))
async def test_session_operations(server: LiveServer, subprotocol: str) -> None:
    await run_table(server, subprotocol, SESSIONS[subprotocol])


HEARTBEAT = {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}
HEARTBEAT201 = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
CONNECTOR_LIMIT = {
    "component": "SmartChargingCtrlr",
    "component_instance": "Main",
    "evse_id": 1,
    "connector_id": 2,
    "variable": "Limit",
    "variable_instance": "L1",
    "attribute_type": "MaxSet",
}
CONNECTOR_LIMIT201 = {
    "component": {"name": "SmartChargingCtrlr", "instance": "Main", "evse": {"id": 1, "connectorId": 2}},
    "variable": {"name": "Limit", "instance": "L1"},
    "attributeType": "MaxSet",
}
CONFIGURATION = {
    "ocpp1.6": [
        Case("get-configuration", {"keys": ["HeartbeatInterval"]}, "GetConfiguration",
             {"key": ["HeartbeatInterval"]},
             {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]}),
        Case("get-configuration", {}, "GetConfiguration", {}, {"configurationKey": []}),
        Case("change-configuration", {"key": "HeartbeatInterval", "value": "300", "variable": HEARTBEAT},
             "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "300"},
             {"status": "RebootRequired"}),
        Case("change-configuration", {"key": "Locked", "value": "1"}, "ChangeConfiguration",
             {"key": "Locked", "value": "1"}, {"status": "NotSupported"}, "rejected"),
        Case("base-report", {"report_base": "SummaryInventory"}, "GetConfiguration", {},
             {"configurationKey": []}),
    ],
    "ocpp2.0.1": [
        Case("get-variables", {"variables": [HEARTBEAT, CONNECTOR_LIMIT]}, "GetVariables",
             {"getVariableData": [HEARTBEAT201, CONNECTOR_LIMIT201]},
             {"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "6", **HEARTBEAT201}]}),
        Case("set-variables", {"values": [{**CONNECTOR_LIMIT, "value": "32"}]}, "SetVariables",
             {"setVariableData": [{**CONNECTOR_LIMIT201, "attributeValue": "32"}]},
             {"setVariableResult": [{"attributeStatus": "Accepted", **CONNECTOR_LIMIT201}]}),
        Case("change-configuration", {"key": "HeartbeatInterval", "value": "300", "variable": HEARTBEAT},
             "SetVariables", {"setVariableData": [{**HEARTBEAT201, "attributeValue": "300"}]},
             {"setVariableResult": [{"attributeStatus": "Accepted", **HEARTBEAT201}]}),
        Case("base-report", {}, "GetBaseReport", {"requestId": ANY_ID, "reportBase": "FullInventory"}),
        Case("base-report", {"report_base": "ConfigurationInventory"}, "GetBaseReport",
             {"requestId": ANY_ID, "reportBase": "ConfigurationInventory"},
             {"status": "EmptyResultSet"}, "rejected"),
    ],
}  # fmt: skip


@pytest.mark.parametrize("subprotocol", list(CONFIGURATION))
async def test_configuration_operations(server: LiveServer, subprotocol: str) -> None:
    await run_table(server, subprotocol, CONFIGURATION[subprotocol])


MESSAGES = {
    "ocpp1.6": [
        Case("trigger-message", {"message": "StatusNotification", "evse_id": 2}, "TriggerMessage",
             {"requestedMessage": "StatusNotification", "connectorId": 2}),
        Case("trigger-message", {"message": "LogStatusNotification"}, "TriggerMessage",
             {"requestedMessage": "DiagnosticsStatusNotification"}),
        Case("trigger-message", {"message": "DiagnosticsStatusNotification"}, "TriggerMessage",
             {"requestedMessage": "DiagnosticsStatusNotification"}, {"status": "NotImplemented"}, "rejected"),
        Case("data-transfer", {"vendor_id": "com.acme", "message_id": "Price", "data": {"kWh": 0.3}},
             "DataTransfer", {"vendorId": "com.acme", "messageId": "Price", "data": '{"kWh":0.3}'}),
        Case("data-transfer", {"vendor_id": "com.acme", "data": "raw"}, "DataTransfer",
             {"vendorId": "com.acme", "data": "raw"}, {"status": "UnknownVendorId"}, "rejected"),
    ],
    "ocpp2.0.1": [
        Case("trigger-message", {"message": "MeterValues", "evse_id": 1, "connector_id": 2}, "TriggerMessage",
             {"requestedMessage": "MeterValues", "evse": {"id": 1, "connectorId": 2}}),
        Case("trigger-message", {"message": "DiagnosticsStatusNotification"}, "TriggerMessage",
             {"requestedMessage": "LogStatusNotification"}),
        Case("trigger-message", {"message": "Heartbeat"}, "TriggerMessage",
             {"requestedMessage": "Heartbeat"}),
        Case("data-transfer", {"vendor_id": "com.acme", "data": {"kWh": 0.3}}, "DataTransfer",
             {"vendorId": "com.acme", "data": {"kWh": 0.3}}),
        Case("set-display-message",
             {"id": 7, "content": "Free until 8", "priority": "InFront", "language": "en", "state": "Idle",
              "starts_at": "2026-12-01T06:00:00Z", "ends_at": "2026-12-01T08:00:00+01:00"},
             "SetDisplayMessage",
             {"message": {"id": 7, "priority": "InFront", "state": "Idle",
                          "startDateTime": "2026-12-01T06:00:00.000Z",
                          "endDateTime": "2026-12-01T07:00:00.000Z",
                          "message": {"format": "UTF8", "content": "Free until 8", "language": "en"}}}),
        Case("set-display-message", {"id": 8, "content": "<b>Hi</b>", "format": "HTML"},
             "SetDisplayMessage",
             {"message": {"id": 8, "priority": "NormalCycle",
                          "message": {"format": "HTML", "content": "<b>Hi</b>"}}},
             {"status": "NotSupportedMessageFormat"}, "rejected"),
        Case("get-display-messages", {"ids": [7, 8], "priority": "InFront", "state": "Idle"},
             "GetDisplayMessages",
             {"requestId": ANY_ID, "id": [7, 8], "priority": "InFront", "state": "Idle"}),
        Case("get-display-messages", {}, "GetDisplayMessages", {"requestId": ANY_ID}, {"status": "Unknown"},
             "rejected"),
        Case("clear-display-message", {"id": 7}, "ClearDisplayMessage", {"id": 7}),
    ],
}  # fmt: skip


@pytest.mark.parametrize("subprotocol", list(MESSAGES))
async def test_message_operations(server: LiveServer, subprotocol: str) -> None:
    await run_table(server, subprotocol, MESSAGES[subprotocol])


async def test_remote_stop_names_the_transaction_as_each_station_knows_it(server: LiveServer) -> None:
    await a_token(server.system, "TAG-1")
    stop = "/api/v1/operator/stations/{}/remote-stop"
    async with (
        booted(server, "ocpp1.6", "CP-16") as (old, api),
        booted(server, "ocpp2.0.1", "CP-201") as (new, _),
    ):
        ours = (await old.ok("StartTransaction", start16()))["transactionId"]
        await new.ok("TransactionEvent", tx_event("Started", "st-tx-9", 0, evse={"id": 1}))
        listed = await api.get("/api/v1/operator/transactions", params={"station_id": "CP-201"})
        theirs = listed.json()["items"][0]["id"]
        for station, case in [
            (old, Case("remote-stop", {"transaction_id": ours}, "RemoteStopTransaction",
                       {"transactionId": ours})),
            (new, Case("remote-stop", {"transaction_id": theirs}, "RequestStopTransaction",
                       {"transactionId": "st-tx-9"})),
        ]:  # fmt: skip
            frame = await exchange(api, station, case)
            assert (frame[2], frame[3]) == (case.action, case.payload)
            assert (await outcome(api, frame[4]))["status"] == "accepted"
        elsewhere = await api.post(stop.format("CP-16"), json={"transaction_id": theirs})
        unknown = await api.post(stop.format("CP-16"), json={"transaction_id": 999})
        await new.ok("TransactionEvent", tx_event("Ended", "st-tx-9", 1))
        ended = await api.post(stop.format("CP-201"), json={"transaction_id": theirs})
    assert (elsewhere.status_code, unknown.status_code, ended.status_code) == (404, 404, 409)
    assert ended.headers["content-type"] == "application/problem+json"


REFUSED = {
    "ocpp1.6": [
        ("reset", {"evse_id": 1}),
        ("unlock-connector", {"evse_id": 1, "connector_id": 2}),
        ("change-configuration", {"variable": HEARTBEAT, "value": "1"}),
        ("get-variables", {"variables": [HEARTBEAT]}),
        ("set-display-message", {"id": 1, "content": "Hi"}),
        ("get-display-messages", {}),
        ("clear-display-message", {"id": 1}),
        ("remote-start", {"id_token": "A-TOKEN-LONGER-THAN-20"}),
    ],
    "ocpp2.0.1": [
        ("get-configuration", {}),
        ("change-configuration", {"key": "HeartbeatInterval", "value": "1"}),
    ],
}


@pytest.mark.parametrize("subprotocol", list(REFUSED))
async def test_what_a_version_cannot_express_is_422_and_never_queued(
    server: LiveServer, subprotocol: str
) -> None:
    async with booted(server, subprotocol) as (_, api):
        for path, body in REFUSED[subprotocol]:
            response = await api.post(f"/api/v1/operator/stations/CP-1/{path}", json=body)
            assert response.status_code == 422, (path, response.text)
            assert (
                subprotocol.removeprefix("ocpp") in response.json()["detail"]
                or "payload" in response.json()["detail"]
            ), response.json()
        commands = await api.get("/api/v1/operator/commands", params={"station_id": "CP-1"})
    assert commands.json()["total"] == 0


BAD_INPUT = [
    ("remote-start", {}),
    ("remote-start", {"id_token": "T", "evse_id": 0}),
    ("remote-stop", {"transaction_id": "one"}),
    ("change-availability", {"status": "Broken"}),
    ("change-availability", {"status": "Operative", "connector_id": 1}),
    ("change-configuration", {"value": "1"}),
    ("get-variables", {"variables": []}),
    ("trigger-message", {"message": "TransactionEvent"}),
    ("data-transfer", {"vendor_id": ""}),
    ("set-display-message", {"id": 1, "content": "x", "starts_at": "2026-12-01T06:00:00"}),
]


async def test_bad_input_is_422_problem_json_naming_the_field(server: LiveServer) -> None:
    async with booted(server, "ocpp2.0.1") as (_, api):
        for path, body in BAD_INPUT:
            response = await api.post(f"/api/v1/operator/stations/CP-1/{path}", json=body)
            assert response.status_code == 422, (path, body, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"], (path, body)


async def test_a_station_that_never_booted_is_409(server: LiveServer) -> None:
    await a_station(server.system, "CP-NEW")
    async with httpx.AsyncClient(base_url=server.http) as api:
        response = await api.post("/api/v1/operator/stations/CP-NEW/clear-cache")
        missing = await api.post("/api/v1/operator/stations/NOPE/clear-cache")
        not_booted = await api.post("/api/v1/operator/stations/CP-NEW/remote-start", json={"id_token": "T"})
        unknown = await api.post(
            "/api/v1/operator/stations/NOPE/trigger-message", json={"message": "Heartbeat"}
        )
    assert (response.status_code, missing.status_code) == (409, 404)
    assert (not_booted.status_code, unknown.status_code) == (409, 404)
    await asyncio.sleep(0)
