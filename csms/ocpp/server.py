"""The WebSocket endpoint ``/ocpp/{station_id}``: checks happen before the upgrade, so a refused
station gets a plain HTTP answer (400/401) and nothing is stored for it."""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from chargepoints import services
from chargepoints.model import RegistrationStatus
from chargepoints.rules.identity import is_valid_station_id
from chargepoints.services import Credentials
from csms.ocpp.connections import Connections
from csms.ocpp.context import GatewayContext
from csms.ocpp.rpc import StationAdapter
from csms.ocpp.v16 import V16Station
from csms.ocpp.v201 import V201Station
from csms.passwords import verify_password_async

log = logging.getLogger(__name__)

ADAPTERS: dict[str, type[V16Station] | type[V201Station]] = {"ocpp2.0.1": V201Station, "ocpp1.6": V16Station}


def choose_subprotocol(offered: list[str]) -> str | None:
    """Prefer 2.0.1 whatever order the station lists them in."""
    return next((p for p in ADAPTERS if p in offered), None)


class WebSocketConnection:
    """The ``recv``/``send`` pair the ``ocpp`` library expects, over a Starlette WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def recv(self) -> str:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"").decode(errors="replace")

    async def send(self, message: str) -> None:
        await self._ws.send_text(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        with contextlib.suppress(RuntimeError):  # already closed by the other side
            await self._ws.close(code, reason)


async def refuse(websocket: WebSocket, status: int, reason: str) -> None:
    headers = {"WWW-Authenticate": 'Basic realm="OCPP", charset="UTF-8"'} if status == 401 else {}
    await websocket.send_denial_response(PlainTextResponse(reason, status, headers=headers))


def basic_password(websocket: WebSocket, station_id: str) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password if sep and user == station_id else None


async def authenticate(websocket: WebSocket, station_id: str, ctx: GatewayContext) -> Credentials | None:
    """None = refuse with 401; otherwise what the station is allowed (unknown stations may knock:
    their BootNotification meets the unknown-station policy)."""
    known = await services.credentials(station_id, uow=ctx.uow())
    if known is None:
        return services.Credentials(None, RegistrationStatus.PENDING, lenient=False)
    if known.password_hash is not None:
        password = basic_password(websocket, station_id)
        if password is None or not await verify_password_async(known.password_hash, password):
            return None
    return known


class OcppEndpoint:
    """Serves ``/ocpp/{station_id}`` as plain ASGI, in front of the web framework's router.

    Installed as the app's outermost middleware: at 10,000 connections every object a
    connection keeps alive counts, and the router's per-connection machinery cost about
    11 KiB each (measured with bench/).
    """

    PREFIX = "/ocpp/"

    def __init__(self, app: ASGIApp, *, ctx: GatewayContext, connections: Connections) -> None:
        self.app, self.ctx, self.connections = app, ctx, connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope["path"].startswith(self.PREFIX):
            await self.app(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        station_id = scope["path"][len(self.PREFIX) :]
        if not is_valid_station_id(station_id):
            await refuse(websocket, 400, "Invalid station id")
            return
        subprotocol = choose_subprotocol(scope.get("subprotocols", []))
        if subprotocol is None:
            await refuse(websocket, 400, "No supported OCPP subprotocol (ocpp2.0.1, ocpp1.6) offered")
            return
        known = await authenticate(websocket, station_id, self.ctx)
        if known is None:
            await refuse(websocket, 401, "Unauthorized")
            return
        accepted = known.status is RegistrationStatus.ACCEPTED
        await websocket.accept(subprotocol=subprotocol)
        connection = WebSocketConnection(websocket)
        adapter = ADAPTERS[subprotocol](
            station_id, connection, self.ctx, accepted=accepted, lenient=known.lenient
        )
        await serve(adapter, self.connections)


async def serve(station: StationAdapter, connections: Connections) -> None:
    await connections.register(station)
    log.info("station %s connected", station.id)
    try:
        await station.start()  # type: ignore[attr-defined]
    except WebSocketDisconnect:
        pass
    finally:
        await connections.unregister(station)
        log.info("station %s disconnected", station.id)
