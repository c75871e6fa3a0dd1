"""OCPP 2.0.1 adapter: each handler translates, calls one use case and answers."""

from __future__ import annotations

import contextlib
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action

from chargepoints import charging_needs as needs
from chargepoints import reservations, services, transactions
from chargepoints.model import StationEventKind
from chargepoints.reservations import ReservationNotFound, ReservationStatus
from csms.ocpp import convert201
from csms.ocpp.errors import V201_CODES
from csms.ocpp.rpc import StationAdapter


class V201Station(StationAdapter, ChargePoint):
    version = "2.0.1"
    codes = V201_CODES

    @on(Action.boot_notification)
    async def on_boot_notification(self, **kw: Any) -> call_result.BootNotification:
        return call_result.BootNotification(**await self.boot(convert201.boot_info(self.id, kw)))

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kw: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=await self.heartbeat())

    @on(Action.status_notification)
    async def on_status_notification(self, **kw: Any) -> call_result.StatusNotification:
        await services.report_status(convert201.status_report(self.id, kw), **self._deps())
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **kw: Any) -> call_result.Authorize:
        token = convert201.id_token(id_token)
        result = await services.authorize(self.id, token, uow=self.ctx.uow(), clock=self.ctx.clock)
        return call_result.Authorize(id_token_info=convert201.id_token_info(result))

    @on(Action.transaction_event)
    async def on_transaction_event(self, **kw: Any) -> call_result.TransactionEvent:
        event = convert201.transaction_event(self.id, kw)
        result = await transactions.record_transaction_event(event, **self._deps())
        return call_result.TransactionEvent(
            id_token_info=None if result is None else convert201.id_token_info(result)
        )

    @on(Action.meter_values)
    async def on_meter_values(self, **kw: Any) -> call_result.MeterValues:
        await self.ctx.meter_values.submit(convert201.meter_report(self.id, kw))
        return call_result.MeterValues()

    @on(Action.notify_report)
    async def on_notify_report(self, report_data: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
        reports = convert201.variable_reports(report_data or [])
        await services.record_variables(self.id, reports, uow=self.ctx.uow(), clock=self.ctx.clock)
        return call_result.NotifyReport()

    @on(Action.notify_event)
    async def on_notify_event(self, event_data: list[dict[str, Any]], **kw: Any) -> Any:
        for item in event_data:
            code = f"{item['component']['name']}/{item['variable']['name']}={item.get('actual_value')}"
            await self._keep(StationEventKind.NOTIFY_EVENT, code[:100], item)
        return call_result.NotifyEvent()

    @on(Action.security_event_notification)
    async def on_security_event(self, type: str, **kw: Any) -> Any:
        await self._keep(StationEventKind.SECURITY_EVENT, type, kw)
        return call_result.SecurityEventNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, status: str, **kw: Any) -> Any:
        await self._keep(StationEventKind.FIRMWARE_STATUS, status, kw)
        return call_result.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    async def on_log_status(self, status: str, **kw: Any) -> Any:
        await self._keep(StationEventKind.LOG_STATUS, status, kw)
        return call_result.LogStatusNotification()

    @on(Action.reservation_status_update)
    async def on_reservation_status_update(
        self, reservation_id: int, reservation_update_status: str, **kw: Any
    ) -> Any:
        status = (
            ReservationStatus.EXPIRED
            if reservation_update_status == "Expired"
            else ReservationStatus.CANCELLED
        )
        with contextlib.suppress(ReservationNotFound):  # a reservation another CSMS made
            await reservations.set_status(reservation_id, status, uow=self.ctx.uow(), clock=self.ctx.clock)
        return call_result.ReservationStatusUpdate()

    @on(Action.notify_ev_charging_needs)
    async def on_notify_ev_charging_needs(
        self, evse_id: int, charging_needs: dict[str, Any], **kw: Any
    ) -> Any:
        """Accepted means a schedule follows: smart charging plans the session around the need."""
        need = convert201.charging_needs(charging_needs)
        if need is None:
            return call_result.NotifyEVChargingNeeds(status="Rejected")
        try:
            transaction_id = await needs.running_on(self.id, evse_id, uow=self.ctx.uow())
            await needs.record(transaction_id, need, "ev", **self._deps())
        except needs.NoSession:
            return call_result.NotifyEVChargingNeeds(status="Rejected")
        return call_result.NotifyEVChargingNeeds(status="Accepted")

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **kw: Any) -> Any:
        await self._keep(StationEventKind.DATA_TRANSFER, vendor_id, kw)
        return call_result.DataTransfer(status="UnknownVendorId")
