"""OCPP 2.0.1 adapter, CSMS side: the calls a 2.0.1 charging station answers.

Each `@on` handler decides the answer from the model; work that sends messages runs in
an `@after` task, so the reply always goes out first (the `ocpp` library's rule).
"""

from datetime import datetime
from typing import Any

from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from emulator import device_model, maintenance, operations
from emulator.profiles import Profile, parse_profile, rate_unit
from emulator.reservations import Reservation
from emulator.routing import after, on
from emulator.station import iso
from emulator.transfers import FirmwareJob, LogJob
from emulator.v201 import CONNECTOR_ID, V201ChargePoint, token_info

TRIGGERABLE = frozenset(
    {"BootNotification", "FirmwareStatusNotification", "Heartbeat", "LogStatusNotification"}
    | {"MeterValues", "StatusNotification", "TransactionEvent"}
)


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _evse_id(evse: dict[str, Any] | None) -> int | None:
    return None if evse is None else int(evse["id"])


class V201Client(V201ChargePoint):
    """A 2.0.1 charging station answering its CSMS."""

    def _settle_later(self) -> None:
        """Report whatever a command changed, after its reply."""
        self.charger.jobs.spawn(self.charger.apply_and_report())

    def _tx_profile(self, data: dict[str, Any] | None, evse_id: int) -> Profile | None:
        if data is None:
            return None
        try:
            profile = parse_profile(data, evse_id)
        except (ValueError, KeyError):
            return None
        return profile if profile.purpose == "Tx" and operations.acceptable(self.charger, profile) else None

    @on(Action.request_start_transaction)
    def on_request_start(
        self, id_token: dict[str, Any], evse_id: int | None = None, charging_profile: Any = None, **_: Any
    ) -> Any:
        evse = operations.remote_target(self.charger, id_token["id_token"], evse_id)
        refused = evse is None or (
            charging_profile is not None and self._tx_profile(charging_profile, evse.id) is None
        )
        return call_result.RequestStartTransaction(status="Rejected" if refused else "Accepted")

    @after(Action.request_start_transaction)
    def after_request_start(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None = None,
        charging_profile: Any = None,
        **_: Any,
    ) -> None:
        token = id_token["id_token"]
        evse = operations.remote_target(self.charger, token, evse_id)
        if evse is None:
            return
        profile = self._tx_profile(charging_profile, evse.id)
        if charging_profile is None or profile is not None:
            start = operations.remote_start(self.charger, evse.id, token, remote_start_id, profile)
            self.charger.jobs.spawn(start)

    @on(Action.request_stop_transaction)
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        found = self.state.find_transaction(transaction_id) is not None
        return call_result.RequestStopTransaction(status="Accepted" if found else "Rejected")

    @after(Action.request_stop_transaction)
    def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        evse = self.state.find_transaction(transaction_id)
        if evse is not None:
            self.charger.jobs.spawn(self.charger.stop(evse.id, "Remote"))

    @on(Action.reset)
    def on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:
        if evse_id is not None:  # resetting one EVSE alone is optional (B11) and not emulated
            return call_result.Reset(status="Rejected")
        return call_result.Reset(
            status=maintenance.reset_outcome(self.charger, immediate=type == "Immediate")
        )

    @after(Action.reset)
    def after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        if evse_id is None:
            immediate = type == "Immediate"
            maintenance.reset(
                self.charger, immediate=immediate, stop_reason="ImmediateReset", boot_reason="RemoteReset"
            )

    @on(Action.unlock_connector)
    def on_unlock_connector(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        evse = self.state.evses.get(evse_id)
        if evse is None or connector_id != CONNECTOR_ID:
            return call_result.UnlockConnector(status="UnknownConnector")
        if evse.session is not None:
            return call_result.UnlockConnector(status="OngoingAuthorizedTransaction")
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.change_availability)
    def on_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        status = operations.change_availability(
            self.charger, _evse_id(evse), operational_status == "Operative"
        )
        return call_result.ChangeAvailability(status=status)

    @after(Action.change_availability)
    def after_change_availability(self, **_: Any) -> None:
        self._settle_later()

    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return call_result.GetVariables(
            get_variable_result=device_model.get_variables(self.state, get_variable_data)
        )

    @on(Action.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        return call_result.SetVariables(
            set_variable_result=device_model.set_variables(self.state, set_variable_data)
        )

    @on(Action.get_base_report)
    def on_get_base_report(self, report_base: str, **_: Any) -> Any:
        supported = device_model.report_pages(self.state, report_base) is not None
        return call_result.GetBaseReport(status="Accepted" if supported else "NotSupported")

    @after(Action.get_base_report)
    def after_get_base_report(self, request_id: int, report_base: str, **_: Any) -> None:
        pages = device_model.report_pages(self.state, report_base)
        if pages is not None:
            self._tasks.spawn(self.notify_report(request_id, pages))

    def _trigger_status(self, message: str, evse: dict[str, Any] | None) -> str:
        if message not in TRIGGERABLE:
            return "NotImplemented"
        return "Accepted" if _evse_id(evse) in (None, *self.state.evses) else "Rejected"

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any) -> Any:
        return call_result.TriggerMessage(status=self._trigger_status(requested_message, evse))

    @after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if self._trigger_status(requested_message, evse) == "Accepted":
            self._tasks.spawn(self._triggered(requested_message, _evse_id(evse)))

    async def _triggered(self, message: str, evse_id: int | None) -> None:
        evse_ids = list(self.state.evses) if evse_id is None else [evse_id]
        if message == "BootNotification":
            await self.boot("Triggered")
        elif message == "Heartbeat":
            await self.heartbeat()
        elif message == "StatusNotification":
            for each in evse_ids:
                await self.send_status(each)
        elif message == "FirmwareStatusNotification":
            await self.firmware_status(*self.state.firmware_activity)
        elif message == "LogStatusNotification":
            await self.log_status(*self.state.log_activity)
        else:  # MeterValues, or TransactionEvent for the EVSEs in a transaction
            for each in evse_ids:
                evse = self.state.evse(each)
                if message == "MeterValues" or evse.session is not None:
                    await self.charger.sample(evse, "Trigger")

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        if not self.state.config.flag("AuthorizationCacheEnabled"):
            return call_result.ClearCache(status="Rejected")
        self.state.auth.cache.clear()
        return call_result.ClearCache(status="Accepted")

    @on(Action.send_local_list)
    def on_send_local_list(
        self, version_number: int, update_type: str, local_authorization_list: Any = None, **_: Any
    ) -> Any:
        if not self.state.config.flag("LocalAuthListEnabled"):
            return call_result.SendLocalList(status="Failed")
        changes = {
            entry["id_token"]["id_token"]: token_info(entry.get("id_token_info"))
            for entry in local_authorization_list or []
        }
        status = self.state.auth.local_list.update(version_number, update_type == "Full", changes)
        return call_result.SendLocalList(status=status)

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(version_number=self.state.auth.local_list.version)

    @on(Action.reserve_now)
    def on_reserve_now(
        self,
        id: int,
        expiry_date_time: str,
        id_token: dict[str, Any],
        evse_id: int | None = None,
        group_id_token: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        group = None if group_id_token is None else group_id_token["id_token"]
        expiry = datetime.fromisoformat(expiry_date_time)
        reservation = Reservation(id, evse_id or 0, id_token["id_token"], expiry, group)
        return call_result.ReserveNow(status=operations.reserve(self.charger, evse_id, reservation))

    @after(Action.reserve_now)
    def after_reserve_now(self, **_: Any) -> None:
        self._settle_later()

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        freed = operations.cancel_reservation(self.charger, reservation_id)
        return call_result.CancelReservation(status="Rejected" if freed is None else "Accepted")

    @after(Action.cancel_reservation)
    def after_cancel_reservation(self, **_: Any) -> None:
        self._settle_later()

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        try:
            profile = parse_profile(charging_profile, evse_id)
        except ValueError:
            return call_result.SetChargingProfile(status="Rejected")
        accepted = operations.set_profile(self.charger, profile)
        return call_result.SetChargingProfile(status="Accepted" if accepted else "Rejected")

    @after(Action.set_charging_profile)
    def after_set_charging_profile(self, **_: Any) -> None:
        self._settle_later()

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self, charging_profile_id: int | None = None, charging_profile_criteria: Any = None, **_: Any
    ) -> Any:
        criteria = charging_profile_criteria or {}
        removed = operations.clear_profiles(
            self.charger,
            profile_id=charging_profile_id,
            evse_id=criteria.get("evse_id"),
            purpose=criteria.get("charging_profile_purpose"),
            stack_level=criteria.get("stack_level"),
        )
        return call_result.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @after(Action.clear_charging_profile)
    def after_clear_charging_profile(self, **_: Any) -> None:
        self._settle_later()

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        result = operations.composite(self.charger, evse_id, duration, rate_unit(charging_rate_unit))
        if result is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        begin, unit, periods = result
        schedule = {
            "evse_id": evse_id,
            "duration": duration,
            "schedule_start": iso(begin),
            "charging_rate_unit": unit,
            "charging_schedule_period": [
                {"start_period": offset, "limit": limit, "number_phases": phases}
                for offset, limit, phases in periods
            ],
        }
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    @on(Action.update_firmware)
    def on_update_firmware(self, **_: Any) -> Any:
        return call_result.UpdateFirmware(status="Accepted")

    @after(Action.update_firmware)
    def after_update_firmware(
        self, request_id: int, firmware: dict[str, Any], retries: int = 0, retry_interval: int = 0, **_: Any
    ) -> None:
        # The signature is taken as valid: the emulator has no certificate store to check it against.
        retrieve, install = (
            _moment(firmware["retrieve_date_time"]),
            _moment(firmware.get("install_date_time")),
        )
        job = FirmwareJob(
            firmware["location"], retrieve, install, retries or 0, retry_interval or 0, request_id
        )
        self.charger.jobs.spawn(maintenance.update_firmware(self.charger, job))

    def _file_name(self, log_type: str, request_id: int) -> str:
        return f"{self.state.spec.station_id}-{log_type}-{request_id}.txt"

    @on(Action.get_log)
    def on_get_log(self, log_type: str, request_id: int, **_: Any) -> Any:
        return call_result.GetLog(status="Accepted", filename=self._file_name(log_type, request_id))

    @after(Action.get_log)
    def after_get_log(
        self,
        log_type: str,
        request_id: int,
        log: dict[str, Any],
        retries: int = 0,
        retry_interval: int = 0,
        **_: Any,
    ) -> None:
        name = self._file_name(log_type, request_id)
        job = LogJob(log["remote_location"], name, "log", request_id, retries or 0, retry_interval or 0)
        self.charger.jobs.spawn(maintenance.upload_log(self.charger, job))

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, data: Any = None, **_: Any) -> Any:
        # Messages for the station's own vendor id are echoed back; others are not understood.
        if vendor_id != self.state.spec.vendor:
            return call_result.DataTransfer(status="UnknownVendorId")
        return call_result.DataTransfer(status="Accepted", data=data)

    @on(Action.set_display_message)
    def on_set_display_message(self, message: dict[str, Any], **_: Any) -> Any:
        transaction_id = message.get("transaction_id")
        if transaction_id is not None and self.state.find_transaction(transaction_id) is None:
            return call_result.SetDisplayMessage(status="UnknownTransaction")
        self.state.display_messages[message["id"]] = message
        return call_result.SetDisplayMessage(status="Accepted")

    @on(Action.clear_display_message)
    def on_clear_display_message(self, id: int, **_: Any) -> Any:
        found = self.state.display_messages.pop(id, None) is not None
        return call_result.ClearDisplayMessage(status="Accepted" if found else "Unknown")

    @on(Action.cost_updated)
    def on_cost_updated(self, total_cost: float, transaction_id: str, **_: Any) -> Any:
        evse = self.state.find_transaction(transaction_id)
        if evse is not None and evse.session is not None:
            evse.session.total_cost = total_cost
        return call_result.CostUpdated()

    @on(Action.get_transaction_status)
    def on_get_transaction_status(self, transaction_id: str | None = None, **_: Any) -> Any:
        queued = [m for m in self.state.outbox if transaction_id in (None, m.session.transaction_id)]
        if transaction_id is None:
            return call_result.GetTransactionStatus(messages_in_queue=bool(queued))
        ongoing = self.state.find_transaction(transaction_id) is not None
        return call_result.GetTransactionStatus(messages_in_queue=bool(queued), ongoing_indicator=ongoing)
