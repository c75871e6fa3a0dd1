"""OCPP 1.6J adapter, station side: the station model as 1.6 messages.

1.6 numbers connectors from 1 with 0 meaning the whole station; each emulated EVSE has
one connector, so connector n is EVSE n. The CSMS's calls are answered in `v16_commands`.
"""

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from ocpp.v16 import ChargePoint, call

from emulator.charger import Charger
from emulator.clients import Delivery
from emulator.evse import Evse, Session
from emulator.local_auth import TokenInfo
from emulator.meters import readings
from emulator.outbox import QueuedMessage
from emulator.reservations import Reservation
from emulator.station import StationState, iso
from emulator.tasks import BackgroundTasks
from emulator.transfers import FirmwareJob, LogJob

ERROR_CODES = frozenset(
    {
        "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
        "InternalError", "LocalListConflict", "OtherError", "OverCurrentFailure", "OverVoltage",
        "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage",
        "WeakSignal",
    }
)  # fmt: skip
REASONS = frozenset(
    {
        "DeAuthorized", "EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss",
        "Reboot", "Remote", "SoftReset", "UnlockCommand",
    }
)  # fmt: skip
# 2.0.1 stop reasons a caller may use, in their nearest 1.6 words.
FOREIGN_REASONS = {"ImmediateReset": "HardReset", "StoppedByEV": "EVDisconnected", "Timeout": "Other"}
MEASURAND_KEYS = {
    "Sample.Periodic": "MeterValuesSampledData",
    "Sample.Clock": "MeterValuesAlignedData",
    "Transaction.Begin": "StopTxnSampledData",
    "Transaction.End": "StopTxnSampledData",
    "Trigger": "MeterValuesSampledData",
}


def connector_status(evse: Evse) -> str:
    """Translate the model into the richer 1.6 vocabulary."""
    status = evse.status
    if status == "Available" and evse.pending is not None:
        return "Preparing"
    if status != "Occupied":
        return status
    if evse.session is None:
        return "Finishing" if evse.finishing else "Preparing"
    state = evse.charging_state
    return state if state in ("Charging", "SuspendedEV") else "SuspendedEVSE"


def token_info(id_tag_info: dict[str, Any] | None) -> TokenInfo | None:
    """The model's view of an idTagInfo."""
    if id_tag_info is None:
        return None
    expiry = id_tag_info.get("expiry_date")
    return TokenInfo(
        id_tag_info["status"],
        None if expiry is None else datetime.fromisoformat(expiry),
        id_tag_info.get("parent_id_tag"),
    )


class V16Messages:
    """The 1.6 dialect: StartTransaction, MeterValues and StopTransaction for the outbox."""

    reports_charging_state = False  # the connector status (Charging, SuspendedEV ...) says it
    installed_after_reboot = False

    def __init__(self, state: StationState) -> None:
        self.state = state

    def status_of(self, evse: Evse) -> str:
        """The 1.6 connector status."""
        return connector_status(evse)

    def new_transaction_id(self) -> tuple[str, bool]:
        """A placeholder until the CSMS answers StartTransaction with the real id."""
        return f"pending-{uuid.uuid4().hex[:12]}", False

    def meter_value(self, evse: Evse, context: str) -> dict[str, Any]:
        """One MeterValue with the measurands configured for the context; values are strings."""
        measurands = self.state.config.members(MEASURAND_KEYS[context])
        samples = [
            {
                "value": str(reading.value),
                "context": context,
                "measurand": reading.measurand,
                "unit": reading.unit,
                "phase": reading.phase,
                "location": reading.location,
            }
            for reading in readings(evse, measurands)
        ]
        return {"timestamp": self.state.now_iso(), "sampled_value": samples}

    def tx_started(self, evse: Evse, session: Session, trigger: str, offline: bool) -> QueuedMessage:
        """StartTransaction at the session's start time."""
        session.opening = self.meter_value(evse, "Transaction.Begin")
        request = call.StartTransaction(
            connector_id=evse.id,
            id_tag=session.id_token,
            meter_start=session.meter_start_wh,
            timestamp=iso(session.started_at),
            reservation_id=session.reservation_id,
        )
        return QueuedMessage(request, session, "start")

    def tx_updated(
        self, evse: Evse, session: Session, trigger: str, context: str | None, offline: bool
    ) -> QueuedMessage:
        """MeterValues for the transaction (its id is filled in when sent)."""
        sample = self.meter_value(evse, context or "Sample.Periodic")
        request = call.MeterValues(connector_id=evse.id, transaction_id=0, meter_value=[sample])
        return QueuedMessage(request, session, "update")

    def tx_ended(self, evse: Evse, session: Session, reason: str, offline: bool) -> QueuedMessage:
        """StopTransaction with the begin and end readings as transactionData."""
        closing = self.meter_value(evse, "Transaction.End")
        data = [value for value in (session.opening, closing) if value and value["sampled_value"]]
        reason = FOREIGN_REASONS.get(reason, reason if reason in REASONS else "Other")
        request = call.StopTransaction(
            meter_stop=evse.register_wh,
            timestamp=self.state.now_iso(),
            transaction_id=0,
            reason=reason,
            id_tag=session.id_token,
            transaction_data=data or None,
        )
        return QueuedMessage(request, session, "stop")


class V16ChargePoint(ChargePoint):  # type: ignore[misc]  # the ocpp library is untyped
    """A 1.6 charge point's own messages, for one connection."""

    def __init__(self, charger: Charger, connection: Any, tasks: BackgroundTasks) -> None:
        spec = charger.state.spec
        super().__init__(spec.station_id, connection, spec.response_timeout_s)
        self.charger = charger
        self.state = charger.state
        self.messages = V16Messages(charger.state)
        self.accepted = asyncio.Event()
        self._tasks = tasks

    async def boot(self, reason: str = "PowerUp") -> str:
        """Send BootNotification; 1.6 has no boot reason, so `reason` is ignored."""
        spec = self.state.spec
        request = call.BootNotification(
            charge_point_vendor=spec.vendor,
            charge_point_model=spec.model,
            charge_point_serial_number=spec.serial,
            firmware_version=self.state.firmware_version,
        )
        response = await self.call(request, suppress=False)
        self.state.record_boot(response.status, response.interval)
        if response.status == "Accepted":
            self.accepted.set()
        return str(response.status)

    async def heartbeat(self) -> None:
        """Send Heartbeat."""
        await self.call(call.Heartbeat(), suppress=False)

    async def send_statuses(self) -> None:
        """Report connector 0 (the station) and then every connector."""
        operative = any(evse.operative for evse in self.state.evses.values())
        await self._status(0, "Available" if operative else "Unavailable")
        for evse_id in self.state.evses:
            await self.send_status(evse_id)

    async def send_status(self, evse_id: int) -> None:
        """Report one connector's status, with its error code when faulted."""
        evse = self.state.evse(evse_id)
        fault = evse.fault
        if fault is None:
            await self._status(evse_id, connector_status(evse))
        elif fault in ERROR_CODES:
            await self._status(evse_id, connector_status(evse), fault)
        else:
            await self._status(evse_id, connector_status(evse), "OtherError", fault[:50])

    async def _status(
        self, connector_id: int, status: str, error_code: str = "NoError", vendor_code: str | None = None
    ) -> None:
        request = call.StatusNotification(
            connector_id=connector_id,
            error_code=error_code,
            status=status,
            timestamp=self.state.now_iso(),
            vendor_error_code=vendor_code,
        )
        await self.call(request, suppress=False)

    async def authorize(self, id_token: str) -> TokenInfo:
        """Send Authorize and return the idTagInfo."""
        response = await self.call(call.Authorize(id_tag=id_token), suppress=False)
        info = token_info(response.id_tag_info)
        assert info is not None  # idTagInfo is required in Authorize.conf
        return info

    async def deliver(self, item: QueuedMessage) -> Delivery:
        """Send a queued message, giving it the transaction id the CSMS issued."""
        request = item.request
        if item.kind != "start":
            request = replace(request, transaction_id=int(item.session.transaction_id))
        response = await self.call(request, suppress=False)
        if item.kind != "start":
            return Delivery()
        return Delivery(str(response.transaction_id), token_info(response.id_tag_info))

    async def send_meter_values(self, evse_id: int, context: str) -> None:
        """MeterValues outside a transaction."""
        sample = self.messages.meter_value(self.state.evse(evse_id), context)
        await self.call(call.MeterValues(connector_id=evse_id, meter_value=[sample]), suppress=False)

    async def firmware_status(self, job: FirmwareJob | None, status: str) -> None:
        """FirmwareStatusNotification, or the signed variant for a SignedUpdateFirmware."""
        if job is not None and job.signed:
            request: Any = call.SignedFirmwareStatusNotification(status=status, request_id=job.request_id)
        else:
            request = call.FirmwareStatusNotification(status=status)
        await self.call(request, suppress=False)

    async def log_status(self, job: LogJob | None, status: str) -> None:
        """DiagnosticsStatusNotification for GetDiagnostics, LogStatusNotification for GetLog."""
        if job is not None and job.kind == "log":
            request: Any = call.LogStatusNotification(status=status, request_id=job.request_id)
        else:
            request = call.DiagnosticsStatusNotification(
                status="UploadFailed" if status == "UploadFailure" else status
            )
        await self.call(request, suppress=False)

    async def report_fault(self, evse_id: int) -> None:
        """Nothing to add: a 1.6 StatusNotification carries the error code itself."""

    async def reservation_ended(self, reservation: Reservation, status: str) -> None:
        """Nothing to add: 1.6 shows a lapsed reservation only as the connector turning Available."""
