"""OCPP 1.6J adapter: turns the station model into 1.6 messages and back.

1.6 numbers connectors from 1 with 0 meaning the whole station; each emulated
EVSE has one connector, so connector n is EVSE n.
"""

import asyncio
from typing import Any

from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from emulator.routing import after, on
from emulator.settings import station_settings, write_setting
from emulator.station import FIRMWARE_VERSION, Evse, StationState, now_iso
from emulator.tasks import BackgroundTasks

TRIGGERABLE = frozenset({"BootNotification", "Heartbeat", "StatusNotification", "MeterValues"})


def connector_status(evse: Evse) -> str:
    """Translate the 2.0.1 status word into the richer 1.6 vocabulary."""
    if evse.status != "Occupied":
        return evse.status
    if evse.session is None:
        return "Preparing"
    return "Charging" if evse.power_w > 0 else "SuspendedEV"


def meter_value(evse: Evse, context: str) -> dict[str, Any]:
    """One 1.6 MeterValue; 1.6 carries every value as a string."""
    return {
        "timestamp": now_iso(),
        "sampledValue": [
            {
                "value": str(reading.value),
                "context": context,
                "measurand": reading.measurand,
                "unit": reading.unit,
                "phase": reading.phase,
                "location": reading.location,
            }
            for reading in evse.readings()
        ],
    }


class V16Client(ChargePoint):  # type: ignore[misc]  # the ocpp library is untyped
    """A 1.6 charge point speaking for a `StationState`."""

    def __init__(self, state: StationState, connection: Any, tasks: BackgroundTasks) -> None:
        super().__init__(state.spec.station_id, connection)
        self.state = state
        self.accepted = asyncio.Event()
        self._tasks = tasks
        self._settings = station_settings(state)

    # Messages the station initiates.

    async def boot(self, reason: str = "PowerUp") -> str:
        """Send BootNotification; 1.6 has no boot reason, so `reason` is ignored."""
        spec = self.state.spec
        request = call.BootNotification(
            charge_point_vendor=spec.vendor,
            charge_point_model=spec.model,
            charge_point_serial_number=spec.serial,
            firmware_version=FIRMWARE_VERSION,
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
        """Report one connector's current status."""
        await self._status(evse_id, connector_status(self.state.evse(evse_id)))

    async def _status(self, connector_id: int, status: str) -> None:
        error_code = "OtherError" if status == "Faulted" else "NoError"
        request = call.StatusNotification(
            connector_id=connector_id, error_code=error_code, status=status, timestamp=now_iso()
        )
        await self.call(request, suppress=False)

    async def authorize(self, id_token: str) -> str:
        """Send Authorize and return the idTagInfo status."""
        response = await self.call(call.Authorize(id_tag=id_token), suppress=False)
        return str(response.id_tag_info["status"])

    async def start_transaction(self, evse_id: int, id_token: str, remote_start_id: int | None = None) -> str:
        """Plug in, send StartTransaction and charge under the CSMS-issued id."""
        evse = self.state.evse(evse_id)
        evse.plug_in()
        try:
            await self.send_status(evse_id)
            evse.advance()
            request = call.StartTransaction(
                connector_id=evse_id,
                id_tag=id_token,
                meter_start=evse.register_wh,
                timestamp=now_iso(),
            )
            response = await self.call(request, suppress=False)
        except BaseException:  # cancellation included: free the EVSE again
            evse.status = "Available"
            raise
        transaction_id = str(response.transaction_id)
        evse.begin(transaction_id, id_token, self.state.spec.max_power_w, remote_start_id)
        if response.id_tag_info["status"] != "Accepted":
            # Like a station with StopTransactionOnInvalidId=true: a refused tag ends it.
            await self.stop_transaction(evse_id, "DeAuthorized")
        else:
            await self.send_status(evse_id)
        return transaction_id

    async def send_meter_values(self, evse_id: int) -> None:
        """Send MeterValues, tied to the running transaction if there is one."""
        evse = self.state.evse(evse_id)
        transaction_id = int(evse.session.transaction_id) if evse.session else None
        request = call.MeterValues(
            connector_id=evse_id,
            transaction_id=transaction_id,
            meter_value=[meter_value(evse, "Sample.Periodic")],
        )
        await self.call(request, suppress=False)

    async def stop_transaction(self, evse_id: int, reason: str = "Local") -> None:
        """Send StopTransaction with the closing reading, then free the connector."""
        evse = self.state.evse(evse_id)
        evse.advance()
        closing = meter_value(evse, "Transaction.End")
        session = evse.end()
        request = call.StopTransaction(
            meter_stop=evse.register_wh,
            timestamp=now_iso(),
            transaction_id=int(session.transaction_id),
            reason=reason,
            id_tag=session.id_token,
            transaction_data=[closing],
        )
        await self.call(request, suppress=False)
        await self._status(evse_id, "Finishing")
        await self.send_status(evse_id)

    async def reboot(self, reason: str) -> None:
        """End running sessions and drop the connection, as a restarting station does."""
        for evse in list(self.state.evses.values()):
            if evse.session is not None:
                await self.stop_transaction(evse.id, reason)
        await self._connection.close()

    # Calls the CSMS initiates. Replies go out first; the work runs in @after tasks.

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> Any:
        accepted = self.state.startable_evse(connector_id) is not None
        return call_result.RemoteStartTransaction(status="Accepted" if accepted else "Rejected")

    @after(Action.remote_start_transaction)
    def after_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> None:
        evse = self.state.startable_evse(connector_id)
        if evse is not None:
            self._tasks.spawn(self.start_transaction(evse.id, id_tag))

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        found = self.state.find_transaction(str(transaction_id)) is not None
        return call_result.RemoteStopTransaction(status="Accepted" if found else "Rejected")

    @after(Action.remote_stop_transaction)
    def after_remote_stop(self, transaction_id: int, **_: Any) -> None:
        evse = self.state.find_transaction(str(transaction_id))
        if evse is not None:
            self._tasks.spawn(self.stop_transaction(evse.id, "Remote"))

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")

    @after(Action.reset)
    def after_reset(self, type: str, **_: Any) -> None:
        self._tasks.spawn(self.reboot("HardReset" if type == "Hard" else "SoftReset"))

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        wanted = key or list(self._settings)
        known = [
            {"key": name, "readonly": setting.write is None, "value": setting.read()}
            for name in wanted
            if (setting := self._settings.get(name)) is not None
        ]
        unknown = [name for name in wanted if name not in self._settings]
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        return call_result.ChangeConfiguration(status=write_setting(self._settings, key, value))

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> Any:
        if requested_message not in TRIGGERABLE:
            return call_result.TriggerMessage(status="NotImplemented")
        if connector_id not in (None, 0, *self.state.evses):
            return call_result.TriggerMessage(status="Rejected")
        return call_result.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        if requested_message in TRIGGERABLE and connector_id in (None, 0, *self.state.evses):
            self._tasks.spawn(self._triggered(requested_message, connector_id or None))

    async def _triggered(self, message: str, evse_id: int | None) -> None:
        if message == "BootNotification":
            await self.boot()
        elif message == "Heartbeat":
            await self.heartbeat()
        elif message == "StatusNotification":
            await (self.send_statuses() if evse_id is None else self.send_status(evse_id))
        else:
            for each in self.state.evses if evse_id is None else [evse_id]:
                await self.send_meter_values(each)

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        if connector_id != 0 and connector_id not in self.state.evses:
            return call_result.ChangeAvailability(status="Rejected")
        targets = self.state.evses.values() if connector_id == 0 else [self.state.evse(connector_id)]
        applied = [evse.set_operative(type == "Operative") for evse in targets]
        return call_result.ChangeAvailability(status="Accepted" if all(applied) else "Scheduled")

    @after(Action.change_availability)
    def after_change_availability(self, connector_id: int, **_: Any) -> None:
        if connector_id == 0:
            self._tasks.spawn(self.send_statuses())
        elif connector_id in self.state.evses:
            self._tasks.spawn(self.send_status(connector_id))

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        known = connector_id in self.state.evses
        return call_result.UnlockConnector(status="Unlocked" if known else "NotSupported")

    @after(Action.unlock_connector)
    def after_unlock_connector(self, connector_id: int, **_: Any) -> None:
        # OCPP 1.6 UnlockConnector: unlocking a connector in use stops its transaction.
        evse = self.state.evses.get(connector_id)
        if evse is not None and evse.session is not None:
            self._tasks.spawn(self.stop_transaction(connector_id, "UnlockCommand"))
