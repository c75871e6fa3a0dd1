"""What both version adapters add to the ``ocpp`` library's ChargePoint.

The library keeps the ``@on`` routing table and the outgoing-call bookkeeping. This layer owns
the hot path of incoming calls: strict framing with version-correct error codes, compiled
schema validation, the registration gate, handler dispatch with cached key conversion, orjson
replies, and the message log. Any handler failure becomes a CALLERROR (InternalError for the
unexpected), so a station retries instead of getting a fake confirmation.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult

from chargepoints import services
from chargepoints.errors import CommandTimedOut, InvalidCommand, StationCallError
from chargepoints.model import BootInfo, RegistrationStatus, StationEvent, StationEventKind
from csms.ocpp import frames, payloads, repair, timestamps
from csms.ocpp.actions import CSMS_INITIATED
from csms.ocpp.context import GatewayContext
from csms.ocpp.errors import ErrorCodes, OcppCallError
from csms.ocpp.validation import validate_request, validate_response

wire_log = logging.getLogger("csms.ocpp.wire")

# OCPP 1.6 §4.2 / 2.0.1 B02.FR.09: until accepted, a station may only boot (and keep alive).
_ALLOWED_BEFORE_ACCEPTANCE = frozenset({"BootNotification", "Heartbeat"})


class Connection(Protocol):
    async def recv(self) -> str: ...

    async def send(self, message: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class StationAdapter:
    """Mixin placed before ``ocpp.v16.ChargePoint`` / ``ocpp.v201.ChargePoint``."""

    version: str
    codes: ErrorCodes
    id: str
    route_map: dict[str, dict[str, Any]]
    _connection: Connection
    _call_lock: asyncio.Lock
    _response_timeout: float
    _response_queue: asyncio.Queue[Any]

    def __init__(
        self,
        station_id: str,
        connection: Connection,
        ctx: GatewayContext,
        *,
        accepted: bool,
        lenient: bool = False,
    ):
        super().__init__(station_id, connection, ctx.response_timeout, wire_log)  # type: ignore[call-arg]
        self.ctx, self.accepted, self.lenient = ctx, accepted, lenient

    async def route_message(self, raw_msg: str) -> None:
        log = self.ctx.message_log
        try:
            msg: Any = frames.parse(raw_msg, self.codes)
        except frames.FrameError as exc:
            log.record(self.id, "in", raw_msg, unique_id=exc.unique_id)
            if exc.unique_id is not None:
                await self._send_error(exc.unique_id, exc.code, exc.description)
            return
        log.record(
            self.id,
            "in",
            raw_msg,
            message_type=msg.message_type_id,
            unique_id=msg.unique_id,
            action=getattr(msg, "action", None),
        )
        if isinstance(msg, Call):
            await self._route_call(msg)
        else:
            self._response_queue.put_nowait(msg)

    async def _route_call(self, msg: Call) -> None:
        if msg.action not in self.route_map:
            await self._send_error(msg.unique_id, self.codes.not_implemented, f"{msg.action} not supported")
            return
        if not self.accepted and msg.action not in _ALLOWED_BEFORE_ACCEPTANCE:
            await self._send_error(msg.unique_id, self.codes.security, "Station is not accepted")
            return
        try:
            validate_request(self.version, msg.action, msg.payload, self.codes)
        except OcppCallError as exc:
            if not (self.lenient and await self._repaired(msg)):
                await self._send_error(msg.unique_id, exc.code, exc.description)
                return
        await self._dispatch(msg)

    async def _repaired(self, msg: Call) -> bool:
        """Repair a lenient station's payload in place; True if it now validates. Each repair
        is kept as a station event so the operator can take it up with the vendor."""
        schema = repair.request_schema(self.version, msg.action)
        if schema is None:
            return False
        fixed, repairs = repair.repair(schema, msg.payload)
        try:
            validate_request(self.version, msg.action, fixed, self.codes)
        except OcppCallError:
            return False
        msg.payload = fixed
        details: dict[str, Any] = {"action": msg.action, "repairs": repairs}
        await self._keep(StationEventKind.PAYLOAD_REPAIRED, msg.action, details)
        return True

    async def _dispatch(self, msg: Call) -> None:
        """Run the ``@on`` handler and answer. Any failure becomes a CALLERROR, so a station
        never gets a confirmation for something that was not stored."""
        handler = self.route_map[msg.action]["_on_action"]
        try:
            result = await handler(**payloads.to_snake(msg.payload))
            payload = payloads.response_payload(result)
            reply = frames.dumps([CallResult.message_type_id, msg.unique_id, payload])
        except OCPPError as exc:
            code = exc.code if isinstance(exc, OcppCallError) else self.codes.for_library(exc.code)
            reply = frames.call_error(msg.unique_id, code, exc.description or "", exc.details)
        except Exception:
            wire_log.exception("%s: %s failed", self.id, msg.action)
            reply = frames.call_error(msg.unique_id, self.codes.internal, "An unexpected error occurred")
        await self._send(reply, msg.action)

    async def _send_error(self, unique_id: str, code: str, description: str) -> None:
        await self._send(frames.call_error(unique_id, code, description))

    async def _send(self, message: str, action: str | None = None) -> None:
        self.ctx.message_log.record(self.id, "out", message, action=action)
        await self._connection.send(message)

    def check(self, action: str, payload: Mapping[str, Any]) -> None:
        """Refuse what this station's version does not define, before anything is sent."""
        if action not in CSMS_INITIATED[self.version]:
            raise InvalidCommand(f"{action} is not a message a CSMS sends in OCPP {self.version}")
        try:
            validate_request(self.version, action, payload, self.codes)
        except OcppCallError as exc:
            raise InvalidCommand(f"{action} payload: {exc.description}") from None

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL and return the station's CALLRESULT payload, one call at a time.

        A response whose unique id does not match (a late answer to a call that timed out) is
        discarded by the library, so it can never be taken for the answer to this call. Raises
        InvalidCommand (not sent), CommandTimedOut or StationCallError.
        """
        self.check(action, payload)
        unique_id = str(uuid.uuid4())
        frame = frames.dumps([Call.message_type_id, unique_id, action, payload])
        async with self._call_lock:
            self.ctx.message_log.record(
                self.id, "out", frame, message_type=2, unique_id=unique_id, action=action
            )
            await self._connection.send(frame)
            try:
                response = await self._get_specific_response(unique_id, self._response_timeout)  # type: ignore[attr-defined]
            except TimeoutError:
                raise CommandTimedOut(f"no answer to {action} within {self._response_timeout:g} s") from None
        if isinstance(response, CallError):
            raise StationCallError(response.error_code, response.error_description)
        assert isinstance(response, CallResult)
        problem = validate_response(self.version, action, response.payload)
        if problem is not None:
            raise StationCallError(self.codes.format, f"invalid {action} response: {problem}")
        result: dict[str, Any] = response.payload
        return result

    async def close_connection(self, reason: str) -> None:
        await self._connection.close(1000, reason)

    async def boot(self, info: BootInfo) -> dict[str, Any]:
        """Record the boot and open the gate only for an Accepted station (B02.FR.09)."""
        decision = await services.boot(
            info,
            **self._deps(),
            heartbeat_interval=self.ctx.heartbeat_interval,
            unknown_station_status=self.ctx.unknown_station_status,
        )
        self.accepted = decision.status is RegistrationStatus.ACCEPTED
        return {
            "current_time": timestamps.format(decision.current_time),
            "interval": decision.interval,
            "status": decision.status.value,
        }

    async def heartbeat(self) -> str:
        now = self.ctx.clock.now()
        await self.ctx.heartbeats.submit(self.id)
        return timestamps.format(now)

    def _deps(self) -> dict[str, Any]:
        return {"uow": self.ctx.uow(), "clock": self.ctx.clock, "publisher": self.ctx.publisher}

    async def _keep(self, kind: StationEventKind, code: str, details: dict[str, Any]) -> None:
        """Store a notification that is history rather than state (firmware, logs, events)."""
        event = StationEvent(self.id, kind, code, self.ctx.clock.now(), details)
        await services.record_station_event(event, uow=self.ctx.uow(), clock=self.ctx.clock)
