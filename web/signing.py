"""HMAC request signing for app clients that want it (a stolen token alone then cannot be replayed).

A request naming a registered client in ``X-Client-Id`` must carry ``X-Timestamp`` (unix seconds,
within 5 minutes of ours), ``X-Nonce`` (never reused by that client) and ``X-Signature``: the hex
HMAC-SHA256, keyed with the client secret's UTF-8 text, of::

    {timestamp}\\n{nonce}\\n{METHOD}\\n{path?query}\\n{sha256 hex of the body}

with the path and query exactly as sent on the wire. Clients registered with
``require_signature`` false may send unsigned requests; a signature they do send is checked.

No secret is stored: a client's secret is an HMAC of its id under the server's secret key,
recomputed to verify. A copy of the database therefore reveals no secret; changing
``CSMS_SECRET_KEY`` changes every client's secret (as it logs every user out).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from web.api.problems import problem
from web.quality_tables import ApiClientRow, ApiNonceRow

SIGNED_PREFIX = "/api/"
CLOCK_SKEW = timedelta(minutes=5)
NONCE_LIFETIME = timedelta(minutes=10)  # >= 2 x CLOCK_SKEW: an older nonce fails the timestamp check
_NONCE = re.compile(r"[A-Za-z0-9._~-]{8,128}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SECRET_LABEL = b"csms api client secret\n"


class SignatureError(Exception):
    """Why a request's signature is refused; the message becomes the 401's detail."""


def client_secret(server_key: str, client_id: str) -> str:
    return hmac.new(server_key.encode(), _SECRET_LABEL + client_id.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, *, timestamp: str, nonce: str, method: str, target: str, body: bytes) -> str:
    """The ``X-Signature`` of a request; ``target`` is its path, plus ``?query`` when it has one."""
    text = f"{timestamp}\n{nonce}\n{method.upper()}\n{target}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def new_client(name: str, *, require_signature: bool, now: datetime) -> ApiClientRow:
    return ApiClientRow(
        client_id="cli_" + secrets.token_urlsafe(18),
        name=name,
        require_signature=require_signature,
        created_at=now,
    )


async def list_clients(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[ApiClientRow], int]:
    query = select(ApiClientRow).order_by(col(ApiClientRow.id)).limit(limit).offset(offset)
    rows = (await session.execute(query)).scalars().all()
    total = await session.scalar(select(func.count()).select_from(ApiClientRow))
    return rows, int(total or 0)


async def find_client(session: AsyncSession, client_id: str) -> ApiClientRow | None:
    query = select(ApiClientRow).where(col(ApiClientRow.client_id) == client_id)
    return (await session.execute(query)).scalars().first()


async def purge_nonces(*, uow: UnitOfWork, clock: Clock) -> int:
    """Forget nonces old enough that their timestamps are refused anyway."""
    cutoff = clock.now() - NONCE_LIFETIME
    async with uow:
        result = await uow.session.execute(delete(ApiNonceRow).where(col(ApiNonceRow.seen_at) < cutoff))
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


class RequestSigning:
    """ASGI middleware checking signed requests to ``/api/`` before any route sees them."""

    def __init__(
        self, app: ASGIApp, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, server_key: str
    ) -> None:
        self.app, self.sessions, self.clock, self.server_key = app, sessions, clock, server_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(SIGNED_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        client_id = headers.get("x-client-id")
        if client_id is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            await self._verify(scope, headers, client_id, body)
        except SignatureError as exc:
            response = problem(401, str(exc), instance=scope["path"])
            response.headers["WWW-Authenticate"] = 'HMAC realm="csms"'
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _verify(self, scope: Scope, headers: Headers, client_id: str, body: bytes) -> None:
        async with self.sessions() as session:
            client = await find_client(session, client_id)
            if client is None or client.id is None:
                raise SignatureError("Unknown API client")
            if not client.require_signature and "x-signature" not in headers:
                return
            nonce = self._check(scope, headers, client_id, body)
            session.add(ApiNonceRow(client_id=client.id, nonce=nonce, seen_at=self.clock.now()))
            try:
                await session.commit()
            except IntegrityError:
                raise SignatureError("The request was replayed (nonce already used)") from None

    def _check(self, scope: Scope, headers: Headers, client_id: str, body: bytes) -> str:
        """The request's nonce once its timestamp and signature hold."""
        timestamp, nonce, signature = (
            headers.get(f"x-{name}", "") for name in ("timestamp", "nonce", "signature")
        )
        if (
            not _TIMESTAMP.fullmatch(timestamp)
            or abs(self.clock.now().timestamp() - int(timestamp)) > CLOCK_SKEW.total_seconds()
        ):
            raise SignatureError("X-Timestamp is missing or more than 300 s away from the server's clock")
        if not _NONCE.fullmatch(nonce):
            raise SignatureError("X-Nonce must be 8 to 128 letters, digits or ._~-")
        secret = client_secret(self.server_key, client_id)
        expected = sign(
            secret, timestamp=timestamp, nonce=nonce, method=scope["method"], target=_target(scope), body=body
        )
        # Header values arrive as latin-1 text; bytes let compare_digest take any of them.
        if not hmac.compare_digest(expected.encode(), signature.lower().encode("latin-1")):
            raise SignatureError("X-Signature does not match the request")
        return nonce


def _target(scope: Scope) -> str:
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query: bytes = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the app the body already read, then whatever the client sends next (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def install(
    app: Starlette, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, server_key: str
) -> None:
    app.add_middleware(RequestSigning, sessions=sessions, clock=clock, server_key=server_key)
