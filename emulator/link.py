"""One websocket to the CSMS: opening it (security profiles 1 to 3) and guarding calls on it."""

import asyncio
import base64
import ssl
from collections.abc import Coroutine
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from emulator.clients import SUBPROTOCOLS, ProtocolClient
from emulator.errors import NotConnectedError
from emulator.station import StationSpec
from emulator.tasks import BackgroundTasks

OPEN_TIMEOUT_S = 20.0
T = TypeVar("T")


def _abandoned(task: asyncio.Task[Any]) -> None:
    """Mark an abandoned call's outcome as seen; the link loss is reported instead."""
    if not task.cancelled():
        task.exception()


def ssl_context(spec: StationSpec) -> ssl.SSLContext:
    """TLS settings: the CA that signed the CSMS's certificate, and our own for profile 3."""
    context = ssl.create_default_context(cafile=spec.ca_file)
    if spec.client_cert is not None:
        context.load_cert_chain(spec.client_cert, spec.client_key)
    return context


def basic_auth(spec: StationSpec) -> dict[str, str]:
    """The HTTP Basic header of security profiles 1 and 2 (user = station id)."""
    if spec.password is None:
        return {}
    secret = f"{spec.station_id}:{spec.password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(secret).decode()}


async def dial(spec: StationSpec, uri: str, ping_interval_s: float) -> ClientConnection:
    """Open the websocket with the station's OCPP subprotocol and credentials."""
    return await connect(
        uri,
        subprotocols=[Subprotocol(SUBPROTOCOLS[spec.version])],
        additional_headers=basic_auth(spec),
        ssl=ssl_context(spec) if uri.startswith("wss://") else None,
        compression=None,
        # OCPP has its own Heartbeat; pings only when the CSMS asked for them (WebSocketPingInterval).
        ping_interval=ping_interval_s or None,
        # A fleet talks to its CSMS directly, whatever proxy the shell has set.
        proxy=None,
        open_timeout=OPEN_TIMEOUT_S,
    )


class Link:
    """A live connection: its protocol client, the task receiving frames, and work bound to it."""

    def __init__(self, connection: ClientConnection, client: ProtocolClient, tasks: BackgroundTasks) -> None:
        self.connection = connection
        self.client = client
        self.tasks = tasks
        self.receiver = asyncio.create_task(self._receive())

    async def _receive(self) -> None:
        try:
            await self.client.start()
        except ConnectionClosed:
            pass
        finally:
            # Work bound to this link (heartbeats, triggered sends) ends with it.
            await self.tasks.cancel_all()

    @property
    def alive(self) -> bool:
        """Whether frames are still being received."""
        return not self.receiver.done()

    async def guarded(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a call but fail fast if the link drops, not after the response timeout."""
        if not self.alive:
            coro.close()
            raise NotConnectedError("the connection is closed")
        task = asyncio.ensure_future(coro)
        try:
            await asyncio.wait({task, self.receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            abandoned = not task.done()
            if abandoned:
                task.cancel()
                task.add_done_callback(_abandoned)
        if abandoned:
            raise NotConnectedError("the connection was lost")
        try:
            return task.result()
        except ConnectionClosed as exc:  # closed while sending, before the receiver noticed
            raise NotConnectedError("the connection was lost") from exc

    async def close(self) -> None:
        """Close the websocket and wait for the receiver to finish."""
        await self.tasks.cancel_all()
        await self.connection.close()
        await asyncio.gather(self.receiver, return_exceptions=True)
