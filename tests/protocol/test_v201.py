"""OCPP 2.0.1 messages over a real WebSocket, on both backends."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from chargepoints.tables import (
    ConnectorRow,
    MeterSampleRow,
    StationEventRow,
    StationVariableRow,
    TransactionEventRow,
    TransactionRow,
)
from tests.builders import a_station, a_token, boot201, energy, iso, tx_event
from tests.conftest import LiveServer
from tests.wire import WireStation

V201 = ("ocpp2.0.1",)


async def booted(server: LiveServer, station_id: str = "CS-1") -> WireStation:
    await a_station(server.system, station_id)
    station = await WireStation.connect(server.ws, station_id, subprotocols=V201)
    assert (await station.ok("BootNotification", boot201()))["status"] == "Accepted"
    return station


async def rows(server: LiveServer, model: type, *where: object) -> list[Any]:
    async with server.system.sessions() as session:
        return list((await session.execute(select(model).where(*where))).scalars())


async def test_boot_heartbeat_and_status(server: LiveServer) -> None:
    async with await booted(server) as station:
        assert station.subprotocol == "ocpp2.0.1"
        assert "currentTime" in await station.ok("Heartbeat", {})
        await station.ok(
            "StatusNotification",
            {"timestamp": iso(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
        )
    (connector,) = await rows(server, ConnectorRow, ConnectorRow.station_id == "CS-1")
    assert (connector.evse_id, connector.connector_id, connector.status) == (1, 1, "Occupied")


async def test_authorize_unknown_token_is_unknown_and_known_is_accepted(server: LiveServer) -> None:
    await a_token(server.system, "RFID-1", group_id="FLEET")
    async with await booted(server) as station:
        known = await station.ok("Authorize", {"idToken": {"idToken": "RFID-1", "type": "ISO14443"}})
        unknown = await station.ok("Authorize", {"idToken": {"idToken": "NOPE", "type": "ISO14443"}})
    assert known["idTokenInfo"] == {
        "status": "Accepted",
        "groupIdToken": {"idToken": "FLEET", "type": "Central"},
    }
    assert unknown["idTokenInfo"] == {"status": "Unknown"}


async def test_transaction_lifecycle_with_meter_values(server: LiveServer) -> None:
    await a_token(server.system, "RFID-1")
    token = {"idToken": "RFID-1", "type": "ISO14443"}
    async with await booted(server) as station:
        started = await station.ok(
            "TransactionEvent",
            tx_event(
                "Started",
                "tx-1",
                0,
                idToken=token,
                evse={"id": 1, "connectorId": 1},
                meterValue=energy(10_000, context="Transaction.Begin"),
            ),
        )
        await station.ok("TransactionEvent", tx_event("Updated", "tx-1", 1, meterValue=energy(10_500)))
        unit = [{"timestamp": iso(), "sampledValue": [{"value": 11.2, "unitOfMeasure": {"unit": "kWh"}}]}]
        await station.ok(
            "TransactionEvent",
            tx_event(
                "Ended",
                "tx-1",
                2,
                meterValue=unit,
                transactionInfo={"transactionId": "tx-1", "stoppedReason": "EVDisconnected"},
            ),
        )
    assert started["idTokenInfo"]["status"] == "Accepted"
    (tx,) = await rows(server, TransactionRow, TransactionRow.station_id == "CS-1")
    assert (tx.state, tx.evse_id, tx.id_token, tx.stop_reason) == ("Ended", 1, "RFID-1", "EVDisconnected")
    assert (tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == (10_000, 11_200, 1_200)
    samples = await rows(server, MeterSampleRow, MeterSampleRow.transaction_id == tx.id)
    assert len(samples) == 3


async def test_duplicated_seq_no_is_applied_once(server: LiveServer) -> None:
    async with await booted(server) as station:
        event = tx_event("Started", "tx-dup", 0, evse={"id": 1}, meterValue=energy(100))
        await station.ok("TransactionEvent", event)
        await station.ok("TransactionEvent", event)
        await station.ok("TransactionEvent", {**event, "eventType": "Updated", "meterValue": energy(999)})
    assert len(await rows(server, TransactionRow, TransactionRow.station_id == "CS-1")) == 1
    assert len(await rows(server, TransactionEventRow, TransactionEventRow.station_id == "CS-1")) == 1
    (tx,) = await rows(server, TransactionRow, TransactionRow.station_id == "CS-1")
    assert tx.meter_stop_wh == 100  # the resent seqNo 0 with other content changed nothing


async def test_out_of_order_and_offline_events_make_one_transaction(server: LiveServer) -> None:
    async with await booted(server) as station:
        t0, t1, t2 = "2026-11-24T08:00:00Z", "2026-11-24T08:30:00Z", "2026-11-24T09:00:00Z"
        await station.ok(
            "TransactionEvent",
            tx_event("Ended", "tx-off", 2, timestamp=t2, offline=True, meterValue=energy(3_000, t2)),
        )
        await station.ok(
            "TransactionEvent",
            tx_event("Updated", "tx-off", 1, timestamp=t1, offline=True, meterValue=energy(2_000, t1)),
        )
        await station.ok(
            "TransactionEvent",
            tx_event(
                "Started",
                "tx-off",
                0,
                timestamp=t0,
                offline=True,
                evse={"id": 2, "connectorId": 1},
                meterValue=energy(1_000, t0),
            ),
        )
    (tx,) = await rows(server, TransactionRow, TransactionRow.station_id == "CS-1")
    assert tx.state == "Ended" and tx.offline and tx.evse_id == 2
    assert tx.started_at.isoformat().startswith("2026-11-24T08:00:00")
    assert tx.ended_at.isoformat().startswith("2026-11-24T09:00:00")
    assert (tx.meter_start_wh, tx.meter_stop_wh) == (1_000, 3_000)
    assert len(await rows(server, TransactionEventRow, TransactionEventRow.station_id == "CS-1")) == 3


async def test_meter_values_outside_a_transaction_are_kept(server: LiveServer) -> None:
    async with await booted(server) as station:
        await station.ok("MeterValues", {"evseId": 1, "meterValue": energy(42)})
    (sample,) = await rows(server, MeterSampleRow, MeterSampleRow.station_id == "CS-1")
    assert sample.transaction_id is None and sample.value == 42


async def test_notify_report_is_stored_as_device_model_variables(server: LiveServer) -> None:
    report = {
        "requestId": 1,
        "generatedAt": iso(),
        "seqNo": 0,
        "tbc": False,
        "reportData": [
            {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
                "variableAttribute": [{"type": "Actual", "value": "300", "mutability": "ReadWrite"}],
                "variableCharacteristics": {"dataType": "integer", "unit": "s", "supportsMonitoring": False},
            },
            {
                "component": {"name": "EVSE", "evse": {"id": 1}},
                "variable": {"name": "Power"},
                "variableAttribute": [{"type": "Actual", "value": "0"}, {"type": "MaxSet", "value": "22000"}],
            },
        ],
    }
    async with await booted(server) as station:
        await station.ok("NotifyReport", report)
        await station.ok("NotifyReport", report)  # a repeated report updates, never duplicates
    variables = await rows(server, StationVariableRow, StationVariableRow.station_id == "CS-1")
    assert len(variables) == 3
    heartbeat = next(v for v in variables if v.variable == "HeartbeatInterval")
    assert (heartbeat.value, heartbeat.data_type, heartbeat.unit) == ("300", "integer", "s")
    assert {v.evse_id for v in variables if v.component == "EVSE"} == {1}


async def test_notifications_are_kept_as_station_events(server: LiveServer) -> None:
    async with await booted(server) as station:
        await station.ok("SecurityEventNotification", {"type": "FirmwareUpdated", "timestamp": iso()})
        await station.ok("FirmwareStatusNotification", {"status": "Installed", "requestId": 1})
        await station.ok("LogStatusNotification", {"status": "Uploaded", "requestId": 2})
        await station.ok(
            "NotifyEvent",
            {
                "generatedAt": iso(),
                "seqNo": 0,
                "eventData": [
                    {
                        "eventId": 1,
                        "timestamp": iso(),
                        "trigger": "Delta",
                        "actualValue": "Faulted",
                        "eventNotificationType": "HardWiredNotification",
                        "component": {"name": "Connector"},
                        "variable": {"name": "AvailabilityState"},
                    }
                ],
            },
        )
        transfer = await station.ok("DataTransfer", {"vendorId": "com.acme"})
    assert transfer["status"] == "UnknownVendorId"
    kinds = sorted(e.kind for e in await rows(server, StationEventRow, StationEventRow.station_id == "CS-1"))
    assert kinds == ["DataTransfer", "FirmwareStatus", "LogStatus", "NotifyEvent", "SecurityEvent"]
