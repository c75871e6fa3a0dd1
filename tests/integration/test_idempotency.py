"""Idempotency keys on a probe route: replay, mismatch, concurrency, scoping, release and expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import select
from starlette.types import Message, Receive, Scope, Send

from chargepoints.repository import UnitOfWork
from csms import bootstrap
from csms.accounts.model import Role
from csms.accounts.tokens import AccessClaims, issue_access
from csms.app import create_app
from tests.fakes import FakeClock
from web.deps import IdempotencyKey
from web.idempotency import Fingerprint, Idempotency, IdempotencyKeys, purge_expired
from web.quality_tables import IdempotencyKeyRow

ORDERS = "/api/v1/probe/orders"
PROBLEM = "application/problem+json"


class OrderIn(BaseModel):
    amount: str


class Probe:
    """A money-like route that counts how often it really ran, and can be held mid-flight."""

    def __init__(self) -> None:
        self.runs = 0
        self.running = asyncio.Event()
        self.gate: asyncio.Event | None = None

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post(ORDERS, status_code=201)
        async def order(body: OrderIn, response: Response, _: IdempotencyKey) -> dict[str, object]:
            self.runs += 1
            self.running.set()
            if self.gate is not None:
                await self.gate.wait()
            if body.amount == "unavailable":
                raise HTTPException(503, "Payments are down")
            if body.amount == "crash":
                raise RuntimeError("bug")
            response.headers["Location"] = f"{ORDERS}/{self.runs}"
            return {"order": self.runs, "amount": body.amount}

        @router.post("/api/v1/probe/other", status_code=201)
        async def other(body: OrderIn, _: IdempotencyKey) -> dict[str, str]:
            self.runs += 1
            return {"amount": body.amount}

        return router


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def transport(system: bootstrap.System, probe: Probe) -> httpx.ASGITransport:
    app = create_app(system.settings, system=system)
    app.include_router(probe.router())
    return httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.7", 40000))


@pytest.fixture
async def api(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=transport, base_url="http://csms.test") as client:
        yield client


def token_for(system: bootstrap.System, user_id: int) -> dict[str, str]:
    claims = AccessClaims(user_id, 1, Role.DRIVER, 1, 0)
    return {"Authorization": f"Bearer {issue_access(claims, system.auth.secret_key, system.clock.now())}"}


async def stored_keys(system: bootstrap.System) -> int:
    async with system.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(IdempotencyKeyRow)) or 0)


async def test_a_retry_gets_the_first_answer_without_running_again(
    api: httpx.AsyncClient, probe: Probe
) -> None:
    key = {"Idempotency-Key": "order-1"}
    first = await api.post(ORDERS, json={"amount": "9.50"}, headers=key)
    again = await api.post(ORDERS, json={"amount": "9.50"}, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() == {"order": 1, "amount": "9.50"}
    assert again.headers["Location"] == first.headers["Location"] == f"{ORDERS}/1"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert probe.runs == 1


async def test_without_a_key_every_request_runs(api: httpx.AsyncClient, probe: Probe) -> None:
    for _ in range(2):
        assert (await api.post(ORDERS, json={"amount": "1"})).status_code == 201
    assert probe.runs == 2


async def test_the_same_key_for_another_request_is_refused(api: httpx.AsyncClient, probe: Probe) -> None:
    key = {"Idempotency-Key": "order-2"}
    await api.post(ORDERS, json={"amount": "9.50"}, headers=key)

    other_body = await api.post(ORDERS, json={"amount": "95.00"}, headers=key)
    other_path = await api.post("/api/v1/probe/other", json={"amount": "9.50"}, headers=key)

    for response in (other_body, other_path):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert "different request" in response.json()["detail"]
    assert probe.runs == 1


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_keys_must_be_1_to_255_characters(api: httpx.AsyncClient, probe: Probe, key: str) -> None:
    response = await api.post(ORDERS, json={"amount": "1"}, headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert probe.runs == 0


async def test_concurrent_twins_run_once(
    api: httpx.AsyncClient, probe: Probe, system: bootstrap.System
) -> None:
    probe.gate = asyncio.Event()
    key = {"Idempotency-Key": "order-3"}
    first = asyncio.create_task(api.post(ORDERS, json={"amount": "5"}, headers=key))
    await asyncio.wait_for(probe.running.wait(), 10)

    twins = await asyncio.gather(*(api.post(ORDERS, json={"amount": "5"}, headers=key) for _ in range(3)))
    probe.gate.set()
    answered = await first
    retried = await api.post(ORDERS, json={"amount": "5"}, headers=key)

    assert [t.status_code for t in twins] == [409, 409, 409]
    assert all(t.headers["content-type"] == PROBLEM for t in twins)
    assert "still being processed" in twins[0].json()["detail"]
    assert answered.status_code == 201
    assert retried.status_code == 201 and retried.json() == answered.json()
    assert probe.runs == 1
    assert await stored_keys(system) == 1


async def test_errors_release_the_key(api: httpx.AsyncClient, probe: Probe, system: bootstrap.System) -> None:
    key = {"Idempotency-Key": "order-4"}
    for amount in ("unavailable", "crash"):
        assert (await api.post(ORDERS, json={"amount": amount}, headers=key)).status_code >= 500
        assert await stored_keys(system) == 0
        assert (await api.post(ORDERS, json={"amount": amount}, headers=key)).status_code >= 500
    assert probe.runs == 4

    assert (await api.post(ORDERS, json={"amount": 5}, headers=key)).status_code == 422  # not a string
    fixed = await api.post(ORDERS, json={"amount": "5"}, headers=key)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers


async def test_keys_belong_to_their_caller(
    api: httpx.AsyncClient, transport: httpx.ASGITransport, probe: Probe, system: bootstrap.System
) -> None:
    key = "shared-key"
    alice, bob = token_for(system, 1), token_for(system, 2)
    await api.post(ORDERS, json={"amount": "1"}, headers={"Idempotency-Key": key, **alice})
    await api.post(ORDERS, json={"amount": "1"}, headers={"Idempotency-Key": key, **bob})
    await api.post(ORDERS, json={"amount": "1"}, headers={"Idempotency-Key": key})  # anonymous: this IP
    assert probe.runs == 3

    # The same user from another address is the same caller; a forged token is just an IP.
    transport.client = ("198.51.100.1", 50000)
    replayed = await api.post(ORDERS, json={"amount": "1"}, headers={"Idempotency-Key": key, **alice})
    forged = {"Authorization": alice["Authorization"][:-2] + "xx"}
    fresh = await api.post(ORDERS, json={"amount": "1"}, headers={"Idempotency-Key": key, **forged})

    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["order"] == 1
    assert "Idempotent-Replayed" not in fresh.headers
    assert probe.runs == 4


async def test_expired_keys_are_claimed_afresh_and_purged(system: bootstrap.System) -> None:
    clock = FakeClock()
    keys = IdempotencyKeys(system.sessions, clock, timedelta(hours=24))
    request = Fingerprint("POST", ORDERS, "0" * 64)
    first = await keys.claim("ip:1", "k", request)
    assert isinstance(first, int)
    await keys.release(first)
    claimed = await keys.claim("ip:1", "k", request)
    assert isinstance(claimed, int)

    assert isinstance(await keys.claim("ip:1", "k", request), IdempotencyKeyRow)  # still running
    clock.advance(hours=25)
    renewed = await keys.claim("ip:1", "k", request)
    assert isinstance(renewed, int)
    async with system.sessions() as session:
        row = await session.get(IdempotencyKeyRow, renewed)
        assert row is not None and row.expires_at == clock.now() + timedelta(hours=24)

    await keys.claim("ip:2", "k", request)
    clock.advance(hours=25)
    assert await purge_expired(uow=UnitOfWork(system.sessions), clock=clock) == 2
    assert await stored_keys(system) == 0


async def test_a_key_left_running_by_a_crashed_node_is_taken_over(system: bootstrap.System) -> None:
    clock = FakeClock()
    keys = IdempotencyKeys(system.sessions, clock, timedelta(hours=24))
    request = Fingerprint("POST", ORDERS, "0" * 64)
    crashed = await keys.claim("ip:1", "k", request)  # claimed, then the node died: never answered
    assert isinstance(crashed, int)
    clock.advance(minutes=1)
    assert isinstance(await keys.claim("ip:1", "k", request), IdempotencyKeyRow)  # may still run
    clock.advance(minutes=5)
    retried = await keys.claim("ip:1", "k", request)
    assert isinstance(retried, int)
    async with system.sessions() as session:
        row = await session.get(IdempotencyKeyRow, retried)
        assert row is not None and row.created_at == clock.now()  # a fresh claim, not the dead one
    assert await stored_keys(system) == 1


async def test_lifespan_and_websockets_pass_untouched(system: bootstrap.System) -> None:
    reached: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["type"])

    async def never(*_: object) -> Message:
        raise AssertionError("the middleware must not read or answer these")

    keys = IdempotencyKeys(system.sessions, system.clock, timedelta(hours=1))
    middleware = Idempotency(inner, keys=keys, identify=lambda token: None)
    await middleware({"type": "lifespan"}, never, never)
    await middleware({"type": "websocket", "path": "/api/v1/x", "headers": []}, never, never)
    assert reached == ["lifespan", "websocket"]
