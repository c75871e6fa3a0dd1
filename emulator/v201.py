"""OCPP 2.0.1 adapter, station side: the station model as 2.0.1 messages.

The ocpp library snake_cases payload keys both ways, nested ones included, so dicts
below use snake_case keys (`transaction_info`, `unit_of_measure`). The CSMS's calls are
answered in `v201_commands`.
"""

import asyncio
import itertools
import uuid
from datetime import datetime
from typing import Any

from ocpp.v201 import ChargePoint, call

from emulator.charger import Charger
from emulator.clients import Delivery
from emulator.evse import Evse, Session
from emulator.local_auth import TokenInfo
from emulator.meters import readings
from emulator.outbox import MessageKind, QueuedMessage
from emulator.reservations import Reservation
from emulator.station import StationState, iso
from emulator.tasks import BackgroundTasks
from emulator.transfers import FirmwareJob, LogJob

CONNECTOR_ID = 1
REASONS = frozenset(
    {
        "DeAuthorized", "EmergencyStop", "EnergyLimitReached", "EVDisconnected", "GroundFault",
        "ImmediateReset", "Local", "LocalOutOfCredit", "MasterPass", "Other", "OvercurrentFault",
        "PowerLoss", "PowerQuality", "Reboot", "Remote", "SOCLimitReached", "StoppedByEV",
        "TimeLimitReached", "Timeout",
    }
)  # fmt: skip
# 1.6 stop reasons a caller may use, in their nearest 2.0.1 words.
FOREIGN_REASONS = {"HardReset": "ImmediateReset", "SoftReset": "ImmediateReset", "UnlockCommand": "Other"}
STOP_TRIGGERS = {
    "Local": "StopAuthorized",
    "Remote": "RemoteStop",
    "DeAuthorized": "Deauthorized",
    "EVDisconnected": "EVCommunicationLost",
    "ImmediateReset": "ResetCommand",
    "Reboot": "ResetCommand",
    "EnergyLimitReached": "EnergyLimitReached",
    "TimeLimitReached": "TimeLimitReached",
}
MEASURAND_KEYS = {
    "Sample.Periodic": "MeterValuesSampledData",
    "Sample.Clock": "MeterValuesAlignedData",
    "Transaction.Begin": "SampledDataCtrlr.TxStartedMeasurands",
    "Transaction.End": "StopTxnSampledData",
    "Trigger": "MeterValuesSampledData",
}
_EVENT_IDS = itertools.count(1)


def id_token_type(id_token: str) -> dict[str, str]:
    """The emulator presents every token as an RFID card."""
    return {"id_token": id_token, "type": "ISO14443"}


def token_info(id_token_info: dict[str, Any] | None) -> TokenInfo | None:
    """The model's view of an idTokenInfo."""
    if id_token_info is None:
        return None
    expiry = id_token_info.get("cache_expiry_date_time")
    group = id_token_info.get("group_id_token") or {}
    return TokenInfo(
        id_token_info["status"],
        None if expiry is None else datetime.fromisoformat(expiry),
        group.get("id_token"),
    )


class V201Messages:
    """The 2.0.1 dialect: TransactionEvents for the outbox."""

    reports_charging_state = True  # TransactionEvent ChargingStateChanged
    installed_after_reboot = True  # L01: Installed is reported after the reboot

    def __init__(self, state: StationState) -> None:
        self.state = state

    def status_of(self, evse: Evse) -> str:
        """The 2.0.1 connector status: the model's own word."""
        return evse.status

    def new_transaction_id(self) -> tuple[str, bool]:
        """2.0.1 stations name their transactions themselves."""
        return str(uuid.uuid4()), True

    def meter_value(self, evse: Evse, context: str) -> dict[str, Any]:
        """One MeterValue with the measurands configured for the context; values are numbers."""
        measurands = self.state.config.members(MEASURAND_KEYS[context])
        samples = [
            {
                "value": reading.value,
                "context": context,
                "measurand": reading.measurand,
                "phase": reading.phase,
                "location": reading.location,
                "unit_of_measure": {"unit": reading.unit},
            }
            for reading in readings(evse, measurands)
        ]
        return {"timestamp": self.state.now_iso(), "sampled_value": samples}

    def _event(self, kind: MessageKind, evse: Evse, session: Session, **fields: Any) -> QueuedMessage:
        event_type = {"start": "Started", "update": "Updated", "stop": "Ended"}[kind]
        info = {
            "transaction_id": session.transaction_id,
            "charging_state": evse.charging_state,
            "stopped_reason": fields.pop("stopped_reason", None),
            "remote_start_id": session.remote_start_id if kind == "start" else None,
        }
        request = call.TransactionEvent(
            event_type=event_type,
            timestamp=fields.pop("timestamp", None) or self.state.now_iso(),
            seq_no=session.seq_no if kind == "start" else session.next_seq_no(),
            transaction_info=info,
            evse={"id": evse.id, "connector_id": CONNECTOR_ID},
            **fields,
        )
        return QueuedMessage(request, session, kind)

    def _samples(self, evse: Evse, context: str | None) -> list[dict[str, Any]] | None:
        sample = None if context is None else self.meter_value(evse, context)
        return [sample] if sample and sample["sampled_value"] else None

    def tx_started(self, evse: Evse, session: Session, trigger: str, offline: bool) -> QueuedMessage:
        """TransactionEvent Started, at the session's start time."""
        return self._event(
            "start",
            evse,
            session,
            timestamp=iso(session.started_at),
            trigger_reason=trigger,
            meter_value=self._samples(evse, "Transaction.Begin"),
            id_token=id_token_type(session.id_token),
            reservation_id=session.reservation_id,
            offline=offline or None,
        )

    def tx_updated(
        self, evse: Evse, session: Session, trigger: str, context: str | None, offline: bool
    ) -> QueuedMessage:
        """TransactionEvent Updated: meter values, or only the new charging state."""
        return self._event(
            "update",
            evse,
            session,
            trigger_reason=trigger,
            meter_value=self._samples(evse, context),
            offline=offline or None,
        )

    def tx_ended(self, evse: Evse, session: Session, reason: str, offline: bool) -> QueuedMessage:
        """TransactionEvent Ended with the closing meter value and the stop reason."""
        reason = FOREIGN_REASONS.get(reason, reason if reason in REASONS else "Other")
        by_token = reason in ("Local", "DeAuthorized")
        return self._event(
            "stop",
            evse,
            session,
            trigger_reason=STOP_TRIGGERS.get(reason, "AbnormalCondition"),
            meter_value=self._samples(evse, "Transaction.End"),
            id_token=id_token_type(session.id_token) if by_token else None,
            stopped_reason=reason,
            offline=offline or None,
        )


class V201ChargePoint(ChargePoint):  # type: ignore[misc]  # the ocpp library is untyped
    """A 2.0.1 charging station's own messages, for one connection."""

    def __init__(self, charger: Charger, connection: Any, tasks: BackgroundTasks) -> None:
        spec = charger.state.spec
        super().__init__(spec.station_id, connection, spec.response_timeout_s)
        self.charger = charger
        self.state = charger.state
        self.messages = V201Messages(charger.state)
        self.accepted = asyncio.Event()
        self._tasks = tasks

    async def boot(self, reason: str = "PowerUp") -> str:
        """Send BootNotification and return the registration status."""
        spec = self.state.spec
        station = {
            "model": spec.model,
            "vendor_name": spec.vendor,
            "serial_number": spec.serial,
            "firmware_version": self.state.firmware_version,
        }
        response = await self.call(
            call.BootNotification(charging_station=station, reason=reason), suppress=False
        )
        self.state.record_boot(response.status, response.interval)
        if response.status == "Accepted":
            self.accepted.set()
        return str(response.status)

    async def heartbeat(self) -> None:
        """Send Heartbeat."""
        await self.call(call.Heartbeat(), suppress=False)

    async def send_statuses(self) -> None:
        """Report every connector."""
        for evse_id in self.state.evses:
            await self.send_status(evse_id)

    async def send_status(self, evse_id: int) -> None:
        """Report one connector's status."""
        request = call.StatusNotification(
            timestamp=self.state.now_iso(),
            connector_status=self.state.evse(evse_id).status,
            evse_id=evse_id,
            connector_id=CONNECTOR_ID,
        )
        await self.call(request, suppress=False)

    async def authorize(self, id_token: str) -> TokenInfo:
        """Send Authorize and return the idTokenInfo."""
        response = await self.call(call.Authorize(id_token=id_token_type(id_token)), suppress=False)
        info = token_info(response.id_token_info)
        assert info is not None  # idTokenInfo is required in AuthorizeResponse
        return info

    async def deliver(self, item: QueuedMessage) -> Delivery:
        """Send a queued TransactionEvent; the answer may judge the token."""
        response = await self.call(item.request, suppress=False)
        return Delivery(token=token_info(response.id_token_info))

    async def send_meter_values(self, evse_id: int, context: str) -> None:
        """MeterValues outside a transaction."""
        sample = self.messages.meter_value(self.state.evse(evse_id), context)
        await self.call(call.MeterValues(evse_id=evse_id, meter_value=[sample]), suppress=False)

    async def firmware_status(self, job: FirmwareJob | None, status: str) -> None:
        """FirmwareStatusNotification with the request id of the update."""
        request_id = None if job is None else job.request_id
        await self.call(call.FirmwareStatusNotification(status=status, request_id=request_id), suppress=False)

    async def log_status(self, job: LogJob | None, status: str) -> None:
        """LogStatusNotification with the request id of the upload."""
        request_id = None if job is None else job.request_id
        await self.call(call.LogStatusNotification(status=status, request_id=request_id), suppress=False)

    async def report_fault(self, evse_id: int) -> None:
        """NotifyEvent on the connector's Problem variable, with the error code as techCode."""
        evse = self.state.evse(evse_id)
        event = {
            "event_id": next(_EVENT_IDS),
            "timestamp": self.state.now_iso(),
            "trigger": "Delta",
            "actual_value": "true" if evse.fault else "false",
            "tech_code": evse.fault,
            "event_notification_type": "HardWiredNotification",
            "component": {"name": "Connector", "evse": {"id": evse_id, "connector_id": CONNECTOR_ID}},
            "variable": {"name": "Problem"},
        }
        request = call.NotifyEvent(generated_at=self.state.now_iso(), seq_no=0, event_data=[event])
        await self.call(request, suppress=False)

    async def reservation_ended(self, reservation: Reservation, status: str) -> None:
        """ReservationStatusUpdate: 2.0.1 (H01) reports a reservation that expired."""
        request = call.ReservationStatusUpdate(
            reservation_id=reservation.id, reservation_update_status=status
        )
        await self.call(request, suppress=False)

    async def notify_report(self, request_id: int, pages: list[list[dict[str, Any]]]) -> None:
        """NotifyReport, one message per page, `tbc` on all but the last."""
        generated_at = self.state.now_iso()
        for seq_no, page in enumerate(pages):
            request = call.NotifyReport(
                request_id=request_id,
                generated_at=generated_at,
                seq_no=seq_no,
                tbc=seq_no < len(pages) - 1,
                report_data=page or None,
            )
            await self.call(request, suppress=False)
