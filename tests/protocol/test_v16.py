"""OCPP 1.6 messages over a real WebSocket, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from chargepoints.model import TokenStatus
from chargepoints.tables import MeterSampleRow, StationEventRow, TransactionRow
from tests.builders import a_station, a_token, boot16, iso, meter16, start16
from tests.conftest import LiveServer
from tests.wire import WireStation


async def booted(server: LiveServer, station_id: str = "CP-1") -> WireStation:
    await a_station(server.system, station_id)
    station = await WireStation.connect(server.ws, station_id)
    assert (await station.ok("BootNotification", boot16()))["status"] == "Accepted"
    return station


async def rows(server: LiveServer, model: type, *where: object) -> list:
    async with server.system.sessions() as session:
        return list((await session.execute(select(model).where(*where))).scalars())


async def test_boot_of_known_station_is_accepted_with_interval(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with await WireStation.connect(server.ws, "CP-1") as station:
        result = await station.ok("BootNotification", boot16(firmwareVersion="1.2.3"))
    assert result["status"] == "Accepted"
    assert result["interval"] == 60
    assert datetime.fromisoformat(result["currentTime"]).tzinfo is not None


async def test_boot_of_unknown_station_is_rejected_by_default_and_creates_no_row(server: LiveServer) -> None:
    async with await WireStation.connect(server.ws, "STRANGER") as station:
        assert (await station.ok("BootNotification", boot16()))["status"] == "Rejected"
        heartbeat_before_acceptance = await station.call(
            "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        )
    assert heartbeat_before_acceptance[0] == 4 and heartbeat_before_acceptance[2] == "SecurityError"
    async with server.system.sessions() as session:
        from chargepoints.tables import StationRow

        assert await session.get(StationRow, "STRANGER") is None


async def test_heartbeat_and_status_notification_persist(server: LiveServer) -> None:
    async with await booted(server) as station:
        beat = await station.ok("Heartbeat", {})
        assert datetime.fromisoformat(beat["currentTime"]).tzinfo is not None
        await station.ok(
            "StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available"}
        )
        await station.ok(
            "StatusNotification",
            {"connectorId": 2, "errorCode": "GroundFailure", "status": "Faulted", "timestamp": iso()},
        )
    from chargepoints.tables import ConnectorRow, StationRow, StatusHistoryRow

    (connector,) = await rows(server, ConnectorRow, ConnectorRow.station_id == "CP-1")
    assert (connector.evse_id, connector.connector_id, connector.status) == (2, 1, "Faulted")
    assert connector.error_code == "GroundFailure"
    assert len(await rows(server, StatusHistoryRow, StatusHistoryRow.station_id == "CP-1")) == 2
    (station_row,) = await rows(server, StationRow, StationRow.id == "CP-1")
    assert station_row.status == "Available"


async def test_authorize_reflects_the_token_table(server: LiveServer) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    await a_token(server.system, "OK", group_id="FLEET")
    await a_token(server.system, "BLOCKED", status=TokenStatus.BLOCKED)
    await a_token(server.system, "OLD", expires_at=past)
    async with await booted(server) as station:
        verdicts = {
            tag: (await station.ok("Authorize", {"idTag": tag}))["idTagInfo"]
            for tag in ("OK", "BLOCKED", "OLD", "NOBODY")
        }
        await station.ok("StartTransaction", start16(idTag="OK"))
        busy = (await station.ok("Authorize", {"idTag": "OK"}))["idTagInfo"]
    assert verdicts["OK"] == {"status": "Accepted", "parentIdTag": "FLEET"}
    assert verdicts["BLOCKED"]["status"] == "Blocked"
    assert verdicts["OLD"]["status"] == "Expired"
    assert verdicts["NOBODY"] == {"status": "Invalid"}
    assert busy["status"] == "ConcurrentTx"


async def test_resent_start_transaction_returns_same_id_and_one_row(server: LiveServer) -> None:
    await a_token(server.system, "TAG-1")
    async with await booted(server) as station:
        first = await station.ok("StartTransaction", start16())
        again = await station.ok("StartTransaction", start16())
    assert first["transactionId"] == again["transactionId"]
    assert first["idTagInfo"]["status"] == again["idTagInfo"]["status"] == "Accepted"
    assert len(await rows(server, TransactionRow, TransactionRow.station_id == "CP-1")) == 1


async def test_resent_start_after_reconnect_and_restart_still_matches(server: LiveServer) -> None:
    await a_token(server.system, "TAG-1")
    async with await booted(server) as station:
        first = await station.ok("StartTransaction", start16())
    # a new connection has no memory of the first: the stored fingerprint recognises the repeat
    async with await WireStation.connect(server.ws, "CP-1") as station:
        again = await station.ok("StartTransaction", start16())
    assert again["transactionId"] == first["transactionId"]


async def test_meter_values_normalised_and_stop_with_transaction_data(server: LiveServer) -> None:
    await a_token(server.system, "TAG-1")
    async with await booted(server) as station:
        tx_id = (await station.ok("StartTransaction", start16()))["transactionId"]
        await station.ok("MeterValues", meter16(tx_id, 1500))
        kwh = meter16(tx_id, 0)
        kwh["meterValue"][0]["sampledValue"] = [
            {"value": "2.25", "measurand": "Energy.Active.Import.Register", "unit": "kWh"}
        ]
        await station.ok("MeterValues", kwh)
        stop = {
            "transactionId": tx_id,
            "meterStop": 2600,
            "timestamp": iso(),
            "idTag": "TAG-1",
            "reason": "Local",
            "transactionData": meter16(None, 2600)["meterValue"],
        }
        result = await station.ok("StopTransaction", stop)
        resent = await station.ok("StopTransaction", {**stop, "meterStop": 9999})
    assert result["idTagInfo"]["status"] == "Accepted" and resent["idTagInfo"]["status"] == "Accepted"
    (tx,) = await rows(server, TransactionRow, TransactionRow.id == tx_id)
    assert (tx.state, tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == ("Ended", 1000, 2600, 1600)
    samples = await rows(server, MeterSampleRow, MeterSampleRow.transaction_id == tx_id)
    energy = sorted(s.value for s in samples if s.measurand == "Energy.Active.Import.Register")
    assert energy == [1500, 2250, 2600]
    power = [s for s in samples if s.measurand == "Power.Active.Import"]
    assert power[0].value == 7200 and power[0].unit == "W"


async def test_stop_for_unknown_transaction_is_confirmed_and_kept_for_review(server: LiveServer) -> None:
    async with await booted(server) as station:
        stop = {"transactionId": 424242, "meterStop": 500, "timestamp": iso()}
        await station.ok("StopTransaction", stop)
        await station.ok("StopTransaction", stop)
    (tx,) = await rows(server, TransactionRow, TransactionRow.station_id == "CP-1")
    assert tx.state == "Ended" and tx.station_tx_id == "unknown:424242"
    assert "424242" in (tx.review_reason or "")


async def test_data_transfer_and_status_notifications_are_kept(server: LiveServer) -> None:
    async with await booted(server) as station:
        assert (await station.ok("DataTransfer", {"vendorId": "com.acme", "data": "x"}))[
            "status"
        ] == "UnknownVendorId"
        await station.ok("FirmwareStatusNotification", {"status": "Downloading"})
        await station.ok("DiagnosticsStatusNotification", {"status": "Uploaded"})
    kinds = sorted(e.kind for e in await rows(server, StationEventRow, StationEventRow.station_id == "CP-1"))
    assert kinds == ["DataTransfer", "DiagnosticsStatus", "FirmwareStatus"]


async def test_charging_state_of_a_1_6_session_follows_status_notifications(server: LiveServer) -> None:
    await a_token(server.system, "TAG-1")
    async with await booted(server) as station:
        tx_id = (await station.ok("StartTransaction", start16()))["transactionId"]
        for status in ("Charging", "SuspendedEV"):
            await station.ok(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": iso()},
            )
    (tx,) = await rows(server, TransactionRow, TransactionRow.id == tx_id)
    assert tx.charging_state == "SuspendedEV"


async def test_security_extension_notifications_are_kept(server: LiveServer) -> None:
    async with await booted(server) as station:
        await station.ok(
            "SecurityEventNotification", {"type": "InvalidFirmwareSignature", "timestamp": iso()}
        )
        await station.ok("LogStatusNotification", {"status": "Uploaded", "requestId": 3})
        await station.ok("SignedFirmwareStatusNotification", {"status": "SignatureVerified", "requestId": 4})
        refused = await station.ok("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"})
    assert refused == {"status": "Rejected"}
    kinds = sorted(e.kind for e in await rows(server, StationEventRow, StationEventRow.station_id == "CP-1"))
    assert kinds == ["FirmwareStatus", "LogStatus", "SecurityEvent", "SecurityEvent"]
