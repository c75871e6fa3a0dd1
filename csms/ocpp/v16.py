"""OCPP 1.6 adapter: each handler translates, calls one use case and answers."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

from chargepoints import services, transactions
from chargepoints.model import IdToken, StationEventKind
from csms.ocpp import convert16
from csms.ocpp.errors import V16_CODES
from csms.ocpp.rpc import StationAdapter


class V16Station(StationAdapter, ChargePoint):
    version = "1.6"
    codes = V16_CODES

    @on(Action.boot_notification)
    async def on_boot_notification(self, **kw: Any) -> call_result.BootNotification:
        return call_result.BootNotification(**await self.boot(convert16.boot_info(self.id, kw)))

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kw: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=await self.heartbeat())

    @on(Action.status_notification)
    async def on_status_notification(self, **kw: Any) -> call_result.StatusNotification:
        report = convert16.status_report(self.id, kw, self.ctx.clock.now())
        await services.report_status(report, **self._deps())
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **kw: Any) -> call_result.Authorize:
        token = IdToken(id_tag)
        result = await services.authorize(self.id, token, uow=self.ctx.uow(), clock=self.ctx.clock)
        return call_result.Authorize(id_tag_info=convert16.id_tag_info(result))

    @on(Action.start_transaction)
    async def on_start_transaction(self, **kw: Any) -> call_result.StartTransaction:
        tx_id, result = await transactions.start_transaction(
            convert16.transaction_start(self.id, kw), **self._deps()
        )
        return call_result.StartTransaction(transaction_id=tx_id, id_tag_info=convert16.id_tag_info(result))

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, **kw: Any) -> call_result.StopTransaction:
        result = await transactions.stop_transaction(convert16.transaction_stop(self.id, kw), **self._deps())
        return call_result.StopTransaction(
            id_tag_info=None if result is None else convert16.id_tag_info(result)
        )

    @on(Action.meter_values)
    async def on_meter_values(self, **kw: Any) -> call_result.MeterValues:
        await self.ctx.meter_values.submit(convert16.meter_report(self.id, kw))
        return call_result.MeterValues()

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **kw: Any) -> call_result.DataTransfer:
        await self._keep(StationEventKind.DATA_TRANSFER, vendor_id, kw)
        return call_result.DataTransfer(status="UnknownVendorId")

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status(
        self, status: str, **kw: Any
    ) -> call_result.DiagnosticsStatusNotification:
        await self._keep(StationEventKind.DIAGNOSTICS_STATUS, status, kw)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, status: str, **kw: Any) -> call_result.FirmwareStatusNotification:
        await self._keep(StationEventKind.FIRMWARE_STATUS, status, kw)
        return call_result.FirmwareStatusNotification()

    # The OCPP 1.6 security extension (Improved security for OCPP 1.6-J).

    @on(Action.security_event_notification)
    async def on_security_event(self, type: str, **kw: Any) -> Any:
        await self._keep(StationEventKind.SECURITY_EVENT, type, kw)
        return call_result.SecurityEventNotification()

    @on(Action.log_status_notification)
    async def on_log_status(self, status: str, **kw: Any) -> Any:
        await self._keep(StationEventKind.LOG_STATUS, status, kw)
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    async def on_signed_firmware_status(self, status: str, **kw: Any) -> Any:
        await self._keep(StationEventKind.FIRMWARE_STATUS, status, kw)
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.sign_certificate)
    async def on_sign_certificate(self, csr: str, **kw: Any) -> Any:
        # No certificate authority is configured, so the CSR is refused honestly (A02/A03).
        await self._keep(StationEventKind.SECURITY_EVENT, "SignCertificateRefused", {"csr_length": len(csr)})
        return call_result.SignCertificate(status="Rejected")
