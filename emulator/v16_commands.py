"""OCPP 1.6J adapter, CSMS side: the calls a 1.6 charge point answers.

Each `@on` handler decides the answer from the model; work that sends messages runs in
an `@after` task, so the reply always goes out first (the `ocpp` library's rule).
"""

from datetime import datetime
from typing import Any

from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from emulator import maintenance, operations
from emulator.profiles import Profile, parse_profile, rate_unit
from emulator.reservations import Reservation
from emulator.routing import after, on
from emulator.station import iso
from emulator.transfers import FirmwareJob, LogJob
from emulator.v16 import V16ChargePoint, token_info

TRIGGERABLE = frozenset(
    {"BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat"}
    | {"MeterValues", "StatusNotification"}
)
EXTENDED_TRIGGERABLE = TRIGGERABLE - {"DiagnosticsStatusNotification"} | {"LogStatusNotification"}


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class V16Client(V16ChargePoint):
    """A 1.6 charge point answering its CSMS."""

    def _tx_profile(self, data: dict[str, Any] | None, evse_id: int) -> Profile | None:
        """The TxProfile a RemoteStartTransaction brings, if it is one the station can follow."""
        if data is None:
            return None
        try:
            profile = parse_profile(data, evse_id)
        except (ValueError, KeyError):
            return None
        ok = profile.purpose == "Tx" and operations.acceptable(self.charger, profile)
        return profile if ok else None

    def _settle_later(self) -> None:
        """Report whatever a command changed, after its reply."""
        self.charger.jobs.spawn(self.charger.apply_and_report())

    @on(Action.remote_start_transaction)
    def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, charging_profile: Any = None, **_: Any
    ) -> Any:
        evse = operations.remote_target(self.charger, id_tag, connector_id)
        refused = evse is None or (
            charging_profile is not None and self._tx_profile(charging_profile, evse.id) is None
        )
        return call_result.RemoteStartTransaction(status="Rejected" if refused else "Accepted")

    @after(Action.remote_start_transaction)
    def after_remote_start(
        self, id_tag: str, connector_id: int | None = None, charging_profile: Any = None, **_: Any
    ) -> None:
        evse = operations.remote_target(self.charger, id_tag, connector_id)
        if evse is not None:
            profile = self._tx_profile(charging_profile, evse.id)
            if charging_profile is None or profile is not None:
                start = operations.remote_start(self.charger, evse.id, id_tag, None, profile)
                self.charger.jobs.spawn(start)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        found = self.state.find_transaction(str(transaction_id)) is not None
        return call_result.RemoteStopTransaction(status="Accepted" if found else "Rejected")

    @after(Action.remote_stop_transaction)
    def after_remote_stop(self, transaction_id: int, **_: Any) -> None:
        evse = self.state.find_transaction(str(transaction_id))
        if evse is not None:
            self.charger.jobs.spawn(self.charger.stop(evse.id, "Remote"))

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")

    @after(Action.reset)
    def after_reset(self, type: str, **_: Any) -> None:
        # Soft or hard, sessions end first (SoftReset / HardReset) and the station reboots.
        maintenance.reset(self.charger, immediate=True, stop_reason=f"{type}Reset", boot_reason="RemoteReset")

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        known = connector_id in self.state.evses
        return call_result.UnlockConnector(status="Unlocked" if known else "NotSupported")

    @after(Action.unlock_connector)
    def after_unlock_connector(self, connector_id: int, **_: Any) -> None:
        # 1.6 section 5.17: unlocking a connector in use stops its transaction first.
        evse = self.state.evses.get(connector_id)
        if evse is not None and evse.session is not None:
            self.charger.jobs.spawn(self.charger.stop(connector_id, "UnlockCommand"))

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        status = operations.change_availability(self.charger, connector_id or None, type == "Operative")
        return call_result.ChangeAvailability(status=status)

    @after(Action.change_availability)
    def after_change_availability(self, connector_id: int, **_: Any) -> None:
        if connector_id == 0:  # connector 0 has a status of its own
            self.charger.jobs.spawn(self.charger.report_all())
        else:
            self._settle_later()

    def _listed(self) -> list[str]:
        config = self.state.config
        return [key for key in config if config.setting(key).v16]

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        config, listed = self.state.config, self._listed()
        wanted = key or listed
        known = [
            {"key": name, "readonly": config.setting(name).readonly, "value": config[name]}
            for name in wanted
            if name in listed
        ]
        unknown = [name for name in wanted if name not in listed]
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        if key not in self._listed():
            return call_result.ChangeConfiguration(status="NotSupported")
        return call_result.ChangeConfiguration(status=self.state.config.write(key, value))

    def _trigger_status(self, message: str, connector_id: int | None, allowed: frozenset[str]) -> str:
        if message not in allowed:
            return "NotImplemented"
        return "Accepted" if connector_id in (None, 0, *self.state.evses) else "Rejected"

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> Any:
        status = self._trigger_status(requested_message, connector_id, TRIGGERABLE)
        return call_result.TriggerMessage(status=status)

    @after(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        if self._trigger_status(requested_message, connector_id, TRIGGERABLE) == "Accepted":
            self._tasks.spawn(self._triggered(requested_message, connector_id or None))

    @on(Action.extended_trigger_message)
    def on_extended_trigger(self, requested_message: str, connector_id: int | None = None, **_: Any) -> Any:
        status = self._trigger_status(requested_message, connector_id, EXTENDED_TRIGGERABLE)
        return call_result.ExtendedTriggerMessage(status=status)

    @after(Action.extended_trigger_message)
    def after_extended_trigger(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        if self._trigger_status(requested_message, connector_id, EXTENDED_TRIGGERABLE) == "Accepted":
            self._tasks.spawn(self._triggered(requested_message, connector_id or None))

    async def _triggered(self, message: str, evse_id: int | None) -> None:
        if message == "BootNotification":
            await self.boot()
        elif message == "Heartbeat":
            await self.heartbeat()
        elif message == "StatusNotification":
            await (self.send_statuses() if evse_id is None else self.send_status(evse_id))
        elif message == "MeterValues":
            for each in self.state.evses if evse_id is None else [evse_id]:
                await self.charger.sample(self.state.evse(each), "Trigger")
        elif message == "FirmwareStatusNotification":
            await self.firmware_status(*self.state.firmware_activity)
        else:
            await self._triggered_log_status(message)

    async def _triggered_log_status(self, message: str) -> None:
        """The current upload status, Idle unless an upload of the asked-for kind runs."""
        job, status = self.state.log_activity
        kind = "log" if message == "LogStatusNotification" else "diagnostics"
        if job is None or job.kind != kind:
            job, status = None, "Idle"
        if kind == "log":
            request_id = None if job is None else job.request_id
            await self.call(call.LogStatusNotification(status=status, request_id=request_id), suppress=False)
        else:
            await self.log_status(job, status)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        if not self.state.config.flag("AuthorizationCacheEnabled"):
            return call_result.ClearCache(status="Rejected")
        self.state.auth.cache.clear()
        return call_result.ClearCache(status="Accepted")

    @on(Action.send_local_list)
    def on_send_local_list(
        self, list_version: int, update_type: str, local_authorization_list: Any = None, **_: Any
    ) -> Any:
        if not self.state.config.flag("LocalAuthListEnabled"):
            return call_result.SendLocalList(status="NotSupported")
        changes = {
            entry["id_tag"]: token_info(entry.get("id_tag_info")) for entry in local_authorization_list or []
        }
        status = self.state.auth.local_list.update(list_version, update_type == "Full", changes)
        return call_result.SendLocalList(status=status)

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        enabled = self.state.config.flag("LocalAuthListEnabled")
        return call_result.GetLocalListVersion(
            list_version=self.state.auth.local_list.version if enabled else -1
        )

    @on(Action.reserve_now)
    def on_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> Any:
        if connector_id == 0:  # ReserveConnectorZeroSupported is false
            return call_result.ReserveNow(status="Rejected")
        reservation = Reservation(
            reservation_id, connector_id, id_tag, datetime.fromisoformat(expiry_date), parent_id_tag
        )
        return call_result.ReserveNow(status=operations.reserve(self.charger, connector_id, reservation))

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
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> Any:
        try:
            profile = parse_profile(cs_charging_profiles, connector_id)
        except ValueError:
            return call_result.SetChargingProfile(status="Rejected")
        accepted = operations.set_profile(self.charger, profile)
        return call_result.SetChargingProfile(status="Accepted" if accepted else "Rejected")

    @after(Action.set_charging_profile)
    def after_set_charging_profile(self, **_: Any) -> None:
        self._settle_later()

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ) -> Any:
        removed = operations.clear_profiles(
            self.charger,
            profile_id=id,
            evse_id=connector_id,
            purpose=charging_profile_purpose,
            stack_level=stack_level,
        )
        return call_result.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @after(Action.clear_charging_profile)
    def after_clear_charging_profile(self, **_: Any) -> None:
        self._settle_later()

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_: Any
    ) -> Any:
        result = operations.composite(self.charger, connector_id, duration, rate_unit(charging_rate_unit))
        if result is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        begin, unit, periods = result
        schedule = {
            "duration": duration,
            "start_schedule": iso(begin),
            "charging_rate_unit": unit,
            "charging_schedule_period": [
                {"start_period": offset, "limit": limit, "number_phases": phases}
                for offset, limit, phases in periods
            ],
        }
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=iso(begin),
            charging_schedule=schedule,
        )

    @on(Action.update_firmware)
    def on_update_firmware(self, **_: Any) -> Any:
        return call_result.UpdateFirmware()

    @after(Action.update_firmware)
    def after_update_firmware(
        self, location: str, retrieve_date: str, retries: int = 0, retry_interval: int = 0, **_: Any
    ) -> None:
        job = FirmwareJob(location, _moment(retrieve_date), None, retries or 0, retry_interval or 0)
        self.charger.jobs.spawn(maintenance.update_firmware(self.charger, job))

    @on(Action.signed_update_firmware)
    def on_signed_update_firmware(self, **_: Any) -> Any:
        return call_result.SignedUpdateFirmware(status="Accepted")

    @after(Action.signed_update_firmware)
    def after_signed_update_firmware(
        self, request_id: int, firmware: dict[str, Any], retries: int = 0, retry_interval: int = 0, **_: Any
    ) -> None:
        # The signature is taken as valid: the emulator has no certificate store to check it against.
        retrieve, install = (
            _moment(firmware["retrieve_date_time"]),
            _moment(firmware.get("install_date_time")),
        )
        job = FirmwareJob(
            firmware["location"], retrieve, install, retries or 0, retry_interval or 0, request_id, True
        )
        self.charger.jobs.spawn(maintenance.update_firmware(self.charger, job))

    def _file_name(self, kind: str) -> str:
        return f"{self.state.spec.station_id}-{kind}.txt"

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, **_: Any) -> Any:
        return call_result.GetDiagnostics(file_name=self._file_name("diagnostics"))

    @after(Action.get_diagnostics)
    def after_get_diagnostics(
        self, location: str, retries: int = 0, retry_interval: int = 0, **_: Any
    ) -> None:
        job = LogJob(
            location, self._file_name("diagnostics"), "diagnostics", None, retries or 0, retry_interval or 0
        )
        self.charger.jobs.spawn(maintenance.upload_log(self.charger, job))

    @on(Action.get_log)
    def on_get_log(self, log_type: str, request_id: int, **_: Any) -> Any:
        return call_result.GetLog(status="Accepted", filename=self._file_name(f"{log_type}-{request_id}"))

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
        name = self._file_name(f"{log_type}-{request_id}")
        job = LogJob(log["remote_location"], name, "log", request_id, retries or 0, retry_interval or 0)
        self.charger.jobs.spawn(maintenance.upload_log(self.charger, job))

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, data: str | None = None, **_: Any) -> Any:
        # Messages for the station's own vendor id are echoed back; others are not understood.
        if vendor_id != self.state.spec.vendor:
            return call_result.DataTransfer(status="UnknownVendorId")
        return call_result.DataTransfer(status="Accepted", data=data)
