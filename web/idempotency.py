"""Idempotency keys: a client retrying a POST after a lost answer gets that answer back, and the
charge or payment behind it happens once.

A route opts in by declaring the ``IdempotencyKey`` dependency (after its auth dependency, so a
refused login claims nothing). A request with an ``Idempotency-Key`` header then claims the key
for its caller (the bearer token's user, else the client IP) by inserting a row; the unique
(caller, key) pair makes a concurrent twin fail that insert and get 409 instead of running too.
The ``Idempotency`` middleware holds the answer back until it is stored, so a retry never finds
the key still running after its first attempt was answered. Only successes are stored: an error
(a refused login, an invalid body, a station that did not answer) releases the key, so the
client may fix the request or wait, and retry with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Header, Request
from fastapi.exceptions import HTTPException
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from web.callers import Identify, client_ip, user_of
from web.quality_tables import IdempotencyKeyRow

REPLAYED_HEADER = "Idempotent-Replayed"
_STATE_KEY = "idempotency"
_KEPT_HEADERS = ("content-type", "location")
_CLAIM_ATTEMPTS = 3


class Replayed(Exception):
    """Raised by the dependency to answer with a stored response instead of running the route."""

    def __init__(self, row: IdempotencyKeyRow) -> None:
        super().__init__(row.key)
        self.row = row


@dataclass(frozen=True)
class Fingerprint:
    method: str
    path: str
    body_hash: str

    def matches(self, row: IdempotencyKeyRow) -> bool:
        return (row.method, row.path, row.body_hash) == (self.method, self.path, self.body_hash)


ABANDONED_AFTER = timedelta(minutes=5)
"""A key claimed this long ago and still without an answer was held by a node that crashed (no
request runs this long): a retry takes it over instead of waiting for the key to expire."""


def _abandoned(row: IdempotencyKeyRow, now: datetime) -> bool:
    return row.status is None and now - row.created_at > ABANDONED_AFTER


class IdempotencyKeys:
    """The stored keys: claimed while their request runs, then holding its answer until expiry."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, ttl: timedelta) -> None:
        self.sessions, self.clock, self.ttl = sessions, clock, ttl

    async def claim(self, caller: str, key: str, request: Fingerprint) -> int | IdempotencyKeyRow:
        """The new row's id when this request may run, else the row already holding the key."""
        for _ in range(_CLAIM_ATTEMPTS):
            now = self.clock.now()
            async with self.sessions() as session:
                row = IdempotencyKeyRow(
                    caller=caller,
                    key=key,
                    method=request.method,
                    path=request.path,
                    body_hash=request.body_hash,
                    created_at=now,
                    expires_at=now + self.ttl,
                )
                session.add(row)
                try:
                    await session.commit()
                    assert row.id is not None
                    return row.id
                except IntegrityError:
                    await session.rollback()
                query = select(IdempotencyKeyRow).where(
                    col(IdempotencyKeyRow.caller) == caller, col(IdempotencyKeyRow.key) == key
                )
                existing = (await session.execute(query)).scalars().first()
                if existing is not None and existing.expires_at > now and not _abandoned(existing, now):
                    return existing
                if existing is not None:  # expired or abandoned: free it and claim again
                    await session.execute(
                        delete(IdempotencyKeyRow).where(col(IdempotencyKeyRow.id) == existing.id)
                    )
                    await session.commit()
        raise HTTPException(409, "The Idempotency-Key is contended; retry")

    async def finish(self, row_id: int, messages: list[Message]) -> None:
        """Store the answer held in ``messages``, or release the key if it is not to be kept."""
        start = next(m for m in messages if m["type"] == "http.response.start")
        status: int = start["status"]
        async with self.sessions() as session:
            row = await session.get(IdempotencyKeyRow, row_id)
            if row is None:
                return
            if status >= 400:
                await session.delete(row)
            else:
                headers = Headers(raw=start.get("headers", []))
                row.status = status
                row.headers = {name: headers[name] for name in _KEPT_HEADERS if name in headers}
                row.body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
            await session.commit()

    async def release(self, row_id: int) -> None:
        async with self.sessions() as session:
            await session.execute(delete(IdempotencyKeyRow).where(col(IdempotencyKeyRow.id) == row_id))
            await session.commit()


@dataclass
class Capture:
    """What the middleware lends the dependency for one request: the store, who asks, and the claim."""

    keys: IdempotencyKeys
    caller: Callable[[], str]
    row_id: int | None = field(default=None)

    async def claim(self, key: str, request: Fingerprint) -> None:
        outcome = await self.keys.claim(self.caller(), key, request)
        if isinstance(outcome, int):
            self.row_id = outcome
        elif not request.matches(outcome):
            raise HTTPException(422, "This Idempotency-Key was already used for a different request")
        elif outcome.status is None:
            raise HTTPException(409, "A request with this Idempotency-Key is still being processed")
        else:
            raise Replayed(outcome)


class Idempotency:
    """ASGI middleware: lends each HTTP request a ``Capture`` and, once a route has claimed a
    key, holds the response back until it is stored."""

    def __init__(self, app: ASGIApp, *, keys: IdempotencyKeys, identify: Identify) -> None:
        self.app, self.keys, self.identify = app, keys, identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        capture = Capture(self.keys, lambda: self._caller(scope))
        scope.setdefault("state", {})[_STATE_KEY] = capture
        held: list[Message] = []

        async def send_or_hold(message: Message) -> None:
            if capture.row_id is None:
                await send(message)
            else:
                held.append(message)

        try:
            await self.app(scope, receive, send_or_hold)
        except Exception:
            if capture.row_id is not None:
                await self.keys.release(capture.row_id)
            raise
        if capture.row_id is None:
            return
        await self.keys.finish(capture.row_id, held)
        for message in held:
            await send(message)

    def _caller(self, scope: Scope) -> str:
        user = user_of(scope, self.identify)
        return f"user:{user}" if user is not None else f"ip:{client_ip(scope)}"


async def idempotency_key(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Retrying with the same key returns the first answer instead of acting twice",
        ),
    ] = None,
) -> None:
    """The dependency routes declare to become idempotent (see the module docstring)."""
    if key is None:
        return
    capture = request.scope.get("state", {}).get(_STATE_KEY)
    if not isinstance(capture, Capture):
        raise RuntimeError("web.idempotency.install() was not called on this app")
    body_hash = hashlib.sha256(await request.body()).hexdigest()
    await capture.claim(key, Fingerprint(request.method, request.url.path, body_hash))


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replayed)
    row = exc.row
    assert row.status is not None
    return Response(row.body, status_code=row.status, headers={**row.headers, REPLAYED_HEADER: "true"})


async def purge_expired(*, uow: UnitOfWork, clock: Clock) -> int:
    """Drop keys past their lifetime, answered or abandoned by a crashed node."""
    async with uow:
        query = delete(IdempotencyKeyRow).where(col(IdempotencyKeyRow.expires_at) < clock.now())
        result = await uow.session.execute(query)
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def install(
    app: Starlette,
    *,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    ttl: timedelta,
    identify: Identify,
) -> None:
    app.add_middleware(Idempotency, keys=IdempotencyKeys(sessions, clock, ttl), identify=identify)
    app.add_exception_handler(Replayed, _replay)
