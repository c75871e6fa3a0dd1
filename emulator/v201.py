"""OCPP 2.0.1 adapter: turns the station model into 2.0.1 messages and back.

The ocpp library snake_cases payload keys both ways, nested ones included, so
dicts below use snake_case keys (`transaction_info`, `unit_of_measure`).
"""

import asyncio
import uuid
from typing import Any

from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from emulator.routing import after, on
from emulator.settings import station_settings, write_setting
from emulator.station import FIRMWARE_VERSION, Evse, Session, StationState, now_iso
from emulator.tasks import BackgroundTasks

CONNECTOR_ID = 1
TRIGGERABLE = frozenset({"BootNotification", "Heartbeat", "StatusNotification", "MeterValues"})
# Device-model (component, variable) pairs mapped onto the shared settings.
VARIABLES = {
    ("OCPPCommCtrlr", "HeartbeatInterval"): "HeartbeatInterval",
    ("SampledDataCtrlr", "TxUpdatedInterval"): "MeterValueSampleInterval",
    ("SampledDataCtrlr", "TxUpdatedMeasurands"): "MeterValuesSampledData",
    ("AuthCtrlr", "AuthorizeRemoteStart"): "AuthorizeRemoteTxRequests",
}
COMPONENTS = frozenset(component for component, _ in VARIABLES)
STOP_TRIGGERS = {
    "Local": "StopAuthorized",
    "Remote": "RemoteStop",
    "DeAuthorized": "Deauthorized",
    "EVDisconnected": "EVCommunicationLost",
    "ImmediateReset": "ResetCommand",
    "EnergyLimitReached": "EnergyLimitReached",
    "TimeLimitReached": "TimeLimitReached",
}


def id_token_type(id_token: str) -> dict[str, str]:
    """The emulator presents every token as an RFID card."""
    return {"id_token": id_token, "type": "ISO14443"}


def meter_value(evse: Evse, context: str, *, register_only: bool = False) -> dict[str, Any]:
    """One 2.0.1 MeterValue; 2.0.1 carries values as numbers."""
    readings = evse.readings()[:1] if register_only else evse.readings()
    return {
        "timestamp": now_iso(),
        "sampled_value": [
            {
                "value": reading.value,
                "context": context,
                "measurand": reading.measurand,
                "phase": reading.phase,
                "location": reading.location,
                "unit_of_measure": {"unit": reading.unit},
            }
            for reading in readings
        ],
    }


class V201Client(ChargePoint):  # type: ignore[misc]  # the ocpp library is untyped
    """A 2.0.1 charging station speaking for a `StationState`."""

    def __init__(self, state: StationState, connection: Any, tasks: BackgroundTasks) -> None:
        super().__init__(state.spec.station_id, connection)
        self.state = state
        self.accepted = asyncio.Event()
        self._tasks = tasks
        self._settings = station_settings(state)

    # Messages the station initiates.

    async def boot(self, reason: str = "PowerUp") -> str:
        """Send BootNotification and return the registration status."""
        spec = self.state.spec
        station = {
            "model": spec.model,
            "vendor_name": spec.vendor,
            "serial_number": spec.serial,
            "firmware_version": FIRMWARE_VERSION,
        }
        request = call.BootNotification(charging_station=station, reason=reason)
        response = await self.call(request, suppress=False)
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
        """Report one connector's status; the model already uses 2.0.1 words."""
        request = call.StatusNotification(
            timestamp=now_iso(),
            connector_status=self.state.evse(evse_id).status,
            evse_id=evse_id,
            connector_id=CONNECTOR_ID,
        )
        await self.call(request, suppress=False)

    async def authorize(self, id_token: str) -> str:
        """Send Authorize and return the idTokenInfo status."""
        response = await self.call(call.Authorize(id_token=id_token_type(id_token)), suppress=False)
        return str(response.id_token_info["status"])

    async def start_transaction(self, evse_id: int, id_token: str, remote_start_id: int | None = None) -> str:
        """Plug in and send TransactionEvent Started under a station-chosen id."""
        evse = self.state.evse(evse_id)
        evse.plug_in()
        try:
            await self.send_status(evse_id)
        except BaseException:  # cancellation included: free the EVSE again
            evse.status = "Available"
            raise
        session = evse.begin(str(uuid.uuid4()), id_token, self.state.spec.max_power_w, remote_start_id)
        trigger = "Authorized" if remote_start_id is None else "RemoteStart"
        opening = meter_value(evse, "Transaction.Begin")
        response = await self._event("Started", evse, session, trigger, opening)
        status = (response.id_token_info or {}).get("status", "Accepted")
        if status != "Accepted":
            await self.stop_transaction(evse_id, "DeAuthorized")
        return session.transaction_id

    async def send_meter_values(self, evse_id: int) -> None:
        """Send TransactionEvent Updated while charging, otherwise MeterValues."""
        evse = self.state.evse(evse_id)
        if evse.session is None:
            sample = meter_value(evse, "Sample.Periodic", register_only=True)
            await self.call(call.MeterValues(evse_id=evse_id, meter_value=[sample]), suppress=False)
            return
        sample = meter_value(evse, "Sample.Periodic")
        await self._event("Updated", evse, evse.session, "MeterValuePeriodic", sample)

    async def stop_transaction(self, evse_id: int, reason: str = "Local") -> None:
        """Send TransactionEvent Ended with the closing reading, then free the EVSE."""
        evse = self.state.evse(evse_id)
        evse.advance()
        closing = meter_value(evse, "Transaction.End")
        session = evse.end()
        trigger = STOP_TRIGGERS.get(reason, "AbnormalCondition")
        await self._event("Ended", evse, session, trigger, closing, stopped_reason=reason)
        await self.send_status(evse_id)

    async def _event(
        self,
        event_type: str,
        evse: Evse,
        session: Session,
        trigger_reason: str,
        sample: dict[str, Any],
        stopped_reason: str | None = None,
    ) -> Any:
        info = {
            "transaction_id": session.transaction_id,
            "charging_state": "Idle" if event_type == "Ended" else "Charging",
            "stopped_reason": stopped_reason,
            "remote_start_id": session.remote_start_id if event_type == "Started" else None,
        }
        request = call.TransactionEvent(
            event_type=event_type,
            timestamp=now_iso(),
            trigger_reason=trigger_reason,
            seq_no=session.seq_no if event_type == "Started" else session.next_seq_no(),
            transaction_info=info,
            meter_value=[sample],
            evse={"id": evse.id, "connector_id": CONNECTOR_ID},
            id_token=None if event_type == "Updated" else id_token_type(session.id_token),
        )
        return await self.call(request, suppress=False)

    async def reboot(self, reason: str) -> None:
        """End running sessions and drop the connection, as a restarting station does."""
        for evse in list(self.state.evses.values()):
            if evse.session is not None:
                await self.stop_transaction(evse.id, reason)
        await self._connection.close()

    # Calls the CSMS initiates. Replies go out first; the work runs in @after tasks.

    @on(Action.request_start_transaction)
    def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> Any:
        accepted = self.state.startable_evse(evse_id) is not None
        return call_result.RequestStartTransaction(status="Accepted" if accepted else "Rejected")

    @after(Action.request_start_transaction)
    def after_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> None:
        evse = self.state.startable_evse(evse_id)
        if evse is not None:
            token = id_token["id_token"]
            self._tasks.spawn(self.start_transaction(evse.id, token, remote_start_id))

    @on(Action.request_stop_transaction)
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        found = self.state.find_transaction(transaction_id) is not None
        return call_result.RequestStopTransaction(status="Accepted" if found else "Rejected")

    @after(Action.request_stop_transaction)
    def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        evse = self.state.find_transaction(transaction_id)
        if evse is not None:
            self._tasks.spawn(self.stop_transaction(evse.id, "Remote"))

    @on(Action.reset)
    def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:
        allowed = self._may_reset(type, evse_id)
        return call_result.Reset(status="Accepted" if allowed else "Rejected")

    @after(Action.reset)
    def after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        if self._may_reset(type, evse_id):
            self._tasks.spawn(self.reboot("ImmediateReset"))

    def _may_reset(self, reset_type: str, evse_id: int | None) -> bool:
        # Only whole-station resets; OnIdle is refused while charging rather than queued.
        busy = bool(self.state.transactions)
        return evse_id is None and (reset_type == "Immediate" or not busy)

    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in get_variable_data:
            key, status = self._lookup(item)
            value = None if key is None else self._settings[key].read()
            results.append({**item, "attribute_status": status, "attribute_value": value})
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in set_variable_data:
            key, status = self._lookup(item)
            if key is not None:
                outcome = write_setting(self._settings, key, item["attribute_value"])
                status = "Rejected" if outcome == "NotSupported" else outcome
            attributes = {k: v for k, v in item.items() if k != "attribute_value"}
            results.append({**attributes, "attribute_status": status})
        return call_result.SetVariables(set_variable_result=results)

    def _lookup(self, item: dict[str, Any]) -> tuple[str | None, str]:
        """The settings key a device-model variable maps to, and the lookup status."""
        component, variable = item["component"]["name"], item["variable"]["name"]
        if component not in COMPONENTS:
            return None, "UnknownComponent"
        if (component, variable) not in VARIABLES:
            return None, "UnknownVariable"
        if item.get("attribute_type", "Actual") != "Actual":
            return None, "NotSupportedAttributeType"
        return VARIABLES[(component, variable)], "Accepted"

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any) -> Any:
        if requested_message not in TRIGGERABLE:
            return call_result.TriggerMessage(status="NotImplemented")
        if evse is not None and evse["id"] not in self.state.evses:
            return call_result.TriggerMessage(status="Rejected")
        return call_result.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        evse_id = None if evse is None else evse["id"]
        if requested_message in TRIGGERABLE and evse_id in (None, *self.state.evses):
            self._tasks.spawn(self._triggered(requested_message, evse_id))

    async def _triggered(self, message: str, evse_id: int | None) -> None:
        if message == "BootNotification":
            await self.boot("Triggered")
        elif message == "Heartbeat":
            await self.heartbeat()
        elif message == "StatusNotification":
            await (self.send_statuses() if evse_id is None else self.send_status(evse_id))
        else:
            for each in self.state.evses if evse_id is None else [evse_id]:
                await self.send_meter_values(each)

    @on(Action.change_availability)
    def on_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        evse_id = None if evse is None else evse["id"]
        if evse_id is not None and evse_id not in self.state.evses:
            return call_result.ChangeAvailability(status="Rejected")
        targets = self.state.evses.values() if evse_id is None else [self.state.evse(evse_id)]
        applied = [each.set_operative(operational_status == "Operative") for each in targets]
        return call_result.ChangeAvailability(status="Accepted" if all(applied) else "Scheduled")

    @after(Action.change_availability)
    def after_change_availability(self, evse: dict[str, Any] | None = None, **_: Any) -> None:
        if evse is None:
            self._tasks.spawn(self.send_statuses())
        elif evse["id"] in self.state.evses:
            self._tasks.spawn(self.send_status(evse["id"]))

    @on(Action.unlock_connector)
    def on_unlock_connector(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        evse = self.state.evses.get(evse_id)
        if evse is None or connector_id != CONNECTOR_ID:
            return call_result.UnlockConnector(status="UnknownConnector")
        if evse.session is not None:
            return call_result.UnlockConnector(status="OngoingAuthorizedTransaction")
        return call_result.UnlockConnector(status="Unlocked")
