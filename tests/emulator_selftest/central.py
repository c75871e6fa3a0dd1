"""A tiny central system that records what emulated stations send it."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp import v16, v201
from ocpp.routing import on
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Log:
    """Messages received, as (station id, action, snake_case payload)."""

    entries: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def of(self, station_id: str, action: str) -> list[dict[str, Any]]:
        """Payloads of one action from one station, in arrival order."""
        return [p for s, a, p in self.entries if s == station_id and a == action]

    async def wait(
        self,
        station_id: str,
        action: str,
        count: int = 1,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> list[dict[str, Any]]:
        """Wait (briefly) until `count` matching messages have arrived."""
        async with asyncio.timeout(1.5):
            while len(hits := [p for p in self.of(station_id, action) if where(p)]) < count:
                await asyncio.sleep(0.005)
        return hits


class CentralV16(v16.ChargePoint):
    """Accepts everything; issues transaction id 1."""

    def __init__(self, station_id: str, connection: Any, csms: "Csms") -> None:
        super().__init__(station_id, connection)
        self.csms = csms

    def _log(self, action: str, payload: dict[str, Any]) -> None:
        self.csms.log.entries.append((self.id, action, payload))

    @on("BootNotification")
    def on_boot(self, **kwargs: Any) -> Any:
        self._log("BootNotification", kwargs)
        status = self.csms.boot_statuses.pop(0) if self.csms.boot_statuses else "Accepted"
        return v16.call_result.BootNotification(current_time=_now(), interval=60, status=status)

    @on("Heartbeat")
    def on_heartbeat(self, **kwargs: Any) -> Any:
        self._log("Heartbeat", kwargs)
        return v16.call_result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **kwargs: Any) -> Any:
        self._log("StatusNotification", kwargs)
        return v16.call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, **kwargs: Any) -> Any:
        self._log("Authorize", kwargs)
        return v16.call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    def on_start(self, **kwargs: Any) -> Any:
        self._log("StartTransaction", kwargs)
        return v16.call_result.StartTransaction(transaction_id=1, id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def on_meter_values(self, **kwargs: Any) -> Any:
        self._log("MeterValues", kwargs)
        return v16.call_result.MeterValues()

    @on("StopTransaction")
    def on_stop(self, **kwargs: Any) -> Any:
        self._log("StopTransaction", kwargs)
        return v16.call_result.StopTransaction()


class CentralV201(v201.ChargePoint):
    """Accepts everything."""

    def __init__(self, station_id: str, connection: Any, csms: "Csms") -> None:
        super().__init__(station_id, connection)
        self.csms = csms

    def _log(self, action: str, payload: dict[str, Any]) -> None:
        self.csms.log.entries.append((self.id, action, payload))

    @on("BootNotification")
    def on_boot(self, **kwargs: Any) -> Any:
        self._log("BootNotification", kwargs)
        status = self.csms.boot_statuses.pop(0) if self.csms.boot_statuses else "Accepted"
        return v201.call_result.BootNotification(current_time=_now(), interval=60, status=status)

    @on("Heartbeat")
    def on_heartbeat(self, **kwargs: Any) -> Any:
        self._log("Heartbeat", kwargs)
        return v201.call_result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **kwargs: Any) -> Any:
        self._log("StatusNotification", kwargs)
        return v201.call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, **kwargs: Any) -> Any:
        self._log("Authorize", kwargs)
        return v201.call_result.Authorize(id_token_info={"status": "Accepted"})

    @on("TransactionEvent")
    def on_transaction_event(self, **kwargs: Any) -> Any:
        self._log("TransactionEvent", kwargs)
        return v201.call_result.TransactionEvent()

    @on("MeterValues")
    def on_meter_values(self, **kwargs: Any) -> Any:
        self._log("MeterValues", kwargs)
        return v201.call_result.MeterValues()


@dataclass
class Csms:
    """The running central system: its URL, what it saw, and its open links."""

    url: str = ""
    log: Log = field(default_factory=Log)
    boot_statuses: list[str] = field(default_factory=list)
    headers: dict[str, str | None] = field(default_factory=dict)
    links: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, ServerConnection] = field(default_factory=dict)

    async def handle(self, connection: ServerConnection) -> None:
        """Serve one station until it disconnects."""
        assert connection.request is not None
        station_id = connection.request.path.rsplit("/", 1)[-1]
        self.headers[station_id] = connection.request.headers.get("Authorization")
        central_cls = CentralV16 if connection.subprotocol == "ocpp1.6" else CentralV201
        central = central_cls(station_id, connection, self)
        self.links[station_id] = central
        self.connections[station_id] = connection
        with contextlib.suppress(ConnectionClosed):
            await central.start()


@contextlib.asynccontextmanager
async def running_csms() -> AsyncIterator[Csms]:
    """A central system on a free local port."""
    csms = Csms()
    async with serve(csms.handle, "127.0.0.1", 0, subprotocols=["ocpp1.6", "ocpp2.0.1"]) as server:
        port = server.sockets[0].getsockname()[1]
        csms.url = f"ws://127.0.0.1:{port}/ocpp"
        yield csms
