"""`EmulatedStation`: one station, any OCPP version, over one websocket."""

import asyncio
import base64
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from emulator.autopilot import Autopilot
from emulator.clients import SUBPROTOCOLS, ProtocolClient, make_client
from emulator.errors import NotConnectedError
from emulator.station import EVSE_STATUSES, EvseStatus, StationSpec, StationState
from emulator.tasks import BackgroundTasks

OPEN_TIMEOUT_S = 20.0
T = TypeVar("T")


def _abandoned(task: asyncio.Task[Any]) -> None:
    """Mark an abandoned call's outcome as seen; the link loss is reported instead."""
    if not task.cancelled():
        task.exception()


class EmulatedStation:
    """A charging station that can be driven step by step or left to `run()` alone."""

    def __init__(self, spec: StationSpec, url: str) -> None:
        self.spec = spec
        self.state = StationState.from_spec(spec)
        self._uri = f"{url.rstrip('/')}/{quote(spec.station_id, safe='')}"
        self._connection: ClientConnection | None = None
        self._client: ProtocolClient | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._tasks = BackgroundTasks(spec.station_id)

    @property
    def boot_status(self) -> str | None:
        """The last BootNotification status, None before the first boot."""
        return self.state.boot_status

    @property
    def transactions(self) -> dict[int, str]:
        """Active transaction ids keyed by EVSE id."""
        return self.state.transactions

    @property
    def connected(self) -> bool:
        """Whether the websocket is up and its receive loop running."""
        return self._receiver is not None and not self._receiver.done()

    def energy_wh(self, evse_id: int) -> int:
        """The EVSE's energy register in Wh."""
        return self.state.evse(evse_id).register_wh

    def _headers(self) -> dict[str, str]:
        if self.spec.password is None:
            return {}
        secret = f"{self.spec.station_id}:{self.spec.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(secret).decode()}

    async def connect(self) -> str:
        """Open the websocket, boot, and return the BootNotification status.

        Once Accepted (now or after retries) the station reports its connectors
        and starts heartbeating. An existing link is closed first.
        """
        await self.close()
        self._connection = await connect(
            self._uri,
            subprotocols=[Subprotocol(SUBPROTOCOLS[self.spec.version])],
            additional_headers=self._headers(),
            compression=None,
            # OCPP has its own Heartbeat; thousands of pings would only add load.
            ping_interval=None,
            # A fleet talks to its CSMS directly, whatever proxy the shell has set.
            proxy=None,
            open_timeout=OPEN_TIMEOUT_S,
        )
        client = make_client(self.state, self._connection, self._tasks)
        self._client = client
        self._receiver = asyncio.create_task(self._receive(client))
        status = await self._guarded(client.boot())
        if status == "Accepted":
            await self._guarded(self._on_accepted(client))
        else:
            self._tasks.spawn(self._await_acceptance(client))
        return status

    async def _receive(self, client: ProtocolClient) -> None:
        try:
            await client.start()
        except ConnectionClosed:
            pass
        finally:
            # Work bound to this link (heartbeats, CSMS-triggered sends) ends with it.
            await self._tasks.cancel_all()

    async def _guarded(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a call but fail fast if the link drops, not after a 30 s response timeout."""
        receiver = self._receiver
        if receiver is None or receiver.done():
            coro.close()
            raise NotConnectedError(f"{self.spec.station_id} is not connected")
        task = asyncio.ensure_future(coro)
        try:
            await asyncio.wait({task, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            abandoned = not task.done()
            if abandoned:
                task.cancel()
                task.add_done_callback(_abandoned)
        if abandoned:
            raise NotConnectedError(f"{self.spec.station_id} lost its connection")
        return task.result()

    async def _await_acceptance(self, client: ProtocolClient) -> None:
        """Re-boot every `interval` until Accepted; a triggered boot may win earlier."""
        while not client.accepted.is_set():
            try:
                await asyncio.wait_for(client.accepted.wait(), self.state.heartbeat_interval_s)
            except TimeoutError:
                await client.boot()
        await self._on_accepted(client)

    async def _on_accepted(self, client: ProtocolClient) -> None:
        await client.send_statuses()
        self._tasks.spawn(self._heartbeats(client))

    async def _heartbeats(self, client: ProtocolClient) -> None:
        while True:
            # Re-read each time: boot responses and config changes may alter it.
            await asyncio.sleep(self.state.heartbeat_interval_s)
            await client.heartbeat()

    def _require_client(self) -> ProtocolClient:
        if self._client is None:
            raise NotConnectedError(f"{self.spec.station_id} is not connected")
        return self._client

    async def wait_disconnected(self) -> None:
        """Return once the connection is gone (closed by either side)."""
        if self._receiver is not None:
            await asyncio.shield(self._receiver)

    async def heartbeat(self) -> None:
        """Send a Heartbeat now."""
        await self._guarded(self._require_client().heartbeat())

    async def authorize(self, id_token: str) -> str:
        """Authorize a token and return its status, e.g. "Accepted"."""
        return await self._guarded(self._require_client().authorize(id_token))

    async def start_transaction(self, evse_id: int, id_token: str) -> str:
        """Plug in and start charging; returns the transaction id as a string."""
        return await self._guarded(self._require_client().start_transaction(evse_id, id_token))

    async def send_meter_values(self, evse_id: int, seconds: float | None = None) -> None:
        """Advance the register by `seconds` of charging (default: real time) and report it."""
        client = self._require_client()
        self.state.evse(evse_id).advance(seconds)
        await self._guarded(client.send_meter_values(evse_id))

    async def stop_transaction(self, evse_id: int, reason: str = "Local") -> None:
        """Stop the EVSE's session with an OCPP stop reason valid for the version."""
        await self._guarded(self._require_client().stop_transaction(evse_id, reason))

    async def set_status(self, evse_id: int, status: EvseStatus) -> None:
        """Set an EVSE status (2.0.1 words, e.g. "Faulted") and report it."""
        if status not in EVSE_STATUSES:
            raise ValueError(f"unknown EVSE status {status!r}; use one of {sorted(EVSE_STATUSES)}")
        client = self._require_client()
        self.state.evse(evse_id).status = status
        await self._guarded(client.send_status(evse_id))

    async def close(self) -> None:
        """Close the connection and stop background work; sessions stay in memory."""
        await self._tasks.cancel_all()
        if self._connection is not None:
            await self._connection.close()
        if self._receiver is not None:
            await asyncio.gather(self._receiver, return_exceptions=True)
        self._connection = self._client = self._receiver = None

    async def run(
        self,
        stop: asyncio.Event,
        *,
        session_probability: float,
        id_tokens: list[str],
        connect_gate: asyncio.Semaphore | None = None,
        on_link: Callable[[bool], None] | None = None,
    ) -> None:
        """Behave autonomously until `stop` is set; see `emulator.autopilot`."""
        pilot = Autopilot(
            self,
            session_probability=session_probability,
            id_tokens=id_tokens,
            connect_gate=connect_gate,
            on_link=on_link,
        )
        await pilot.run(stop)
