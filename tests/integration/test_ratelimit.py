"""Rate limits on the driver API: per caller and per IP, 429 with Retry-After, shared through Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.types import Message, Receive, Scope, Send

from csms import bootstrap
from csms.accounts.model import Role
from csms.accounts.tokens import AccessClaims, issue_access
from csms.settings import Settings
from tests import backends
from tests.conftest import LiveServer
from web.ratelimit import Limit, LocalBuckets, RateLimit, RedisBuckets

LIMITED = "/api/v1/stations"  # any path under /api/v1/ counts, whatever the route answers
PROBLEM = "application/problem+json"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "data"),
        rate_limit_per_minute=3,
        rate_limit_ip_per_minute=5,
    )


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


def bearer(system: bootstrap.System, user_id: int) -> dict[str, str]:
    claims = AccessClaims(user_id, 1, Role.DRIVER, 1, 0)
    return {"Authorization": f"Bearer {issue_access(claims, system.auth.secret_key, system.clock.now())}"}


async def refused(api: httpx.AsyncClient, count: int, headers: dict[str, str] | None = None) -> list[bool]:
    return [(await api.get(LIMITED, headers=headers)).status_code == 429 for _ in range(count)]


async def test_an_anonymous_client_gets_429_with_retry_after(api: httpx.AsyncClient) -> None:
    assert await refused(api, 3) == [False] * 3

    response = await api.get(LIMITED)

    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 20  # at 3/min a token comes back every 20 s


async def test_each_user_has_a_bucket_and_the_ip_caps_them_all(
    api: httpx.AsyncClient, server: LiveServer
) -> None:
    alice, bob = bearer(server.system, 1), bearer(server.system, 2)
    assert await refused(api, 4, alice) == [False, False, False, True]  # alice's bucket (3/min)
    assert await refused(api, 3, bob) == [False, False, True]  # the IP's bucket (5/min): 3 + 2
    assert await refused(api, 1) == [True]


async def test_a_forged_token_counts_as_its_ip(api: httpx.AsyncClient, server: LiveServer) -> None:
    forged = {"Authorization": bearer(server.system, 1)["Authorization"][:-2] + "xx"}
    assert await refused(api, 2, forged) == [False, False]
    assert await refused(api, 2) == [False, True]  # the same anonymous bucket


async def test_operator_api_health_and_docs_are_never_limited(api: httpx.AsyncClient) -> None:
    for path in ("/api/v1/operator/stations", "/health", "/openapi.json"):
        assert [(await api.get(path)).status_code for _ in range(8)].count(429) == 0
    assert await refused(api, 3) == [False] * 3


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_refills_continuously() -> None:
    ticks = Ticks()
    buckets = LocalBuckets(ticks)
    two = [("caller", Limit(2))]
    assert [await buckets.take(two) for _ in range(2)] == [0.0, 0.0]
    assert await buckets.take(two) == pytest.approx(30.0)
    ticks.now += 29
    assert await buckets.take(two) == pytest.approx(1.0)
    ticks.now += 1
    assert await buckets.take(two) == 0.0


async def test_a_refusal_spends_from_no_bucket() -> None:
    buckets = LocalBuckets(Ticks())
    roomy, tight = ("roomy", Limit(10)), ("tight", Limit(1))
    assert await buckets.take([roomy, tight]) == 0.0
    for _ in range(5):
        assert await buckets.take([roomy, tight]) > 0
    assert [await buckets.take([roomy]) for _ in range(9)] == [0.0] * 9


@pytest.mark.redis
async def test_nodes_share_their_buckets_through_redis() -> None:
    backends.require_redis()
    client = aioredis.from_url(backends.REDIS_URL)
    namespace = f"csms:test:{uuid.uuid4().hex}"
    node_a, node_b = RedisBuckets(client, namespace), RedisBuckets(client, namespace)
    two = [("caller", Limit(2))]
    try:
        assert await node_a.take(two) == 0.0
        assert await node_b.take(two) == 0.0
        assert 29 < await node_a.take(two) <= 30
        assert await client.pttl(f"{namespace}:caller") > 0  # idle buckets expire on their own
    finally:
        await client.delete(f"{namespace}:caller")
        await client.aclose()


async def test_requests_pass_while_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    client = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=1)
    try:
        assert await RedisBuckets(client, "csms:test").take([("caller", Limit(1))]) == 0.0
    finally:
        await client.aclose()
    assert "rate limits unavailable" in caplog.text


class Empty:
    async def take(self, buckets: object) -> float:
        return 60.0


async def test_websockets_and_other_paths_pass_untouched() -> None:
    reached: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(f"{scope['type']} {scope.get('path', '-')}")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    limit = RateLimit(
        inner, buckets=Empty(), identify=lambda token: None, per_caller=Limit(1), per_ip=Limit(1)
    )
    for kind, path in (("websocket", "/api/v1/x"), ("websocket", "/ocpp/CP-1"), ("http", "/ocpp/CP-1")):
        await limit({"type": kind, "path": path, "headers": [], "client": ("10.0.0.1", 1)}, receive, send)
    await limit({"type": "lifespan"}, receive, send)
    assert reached == ["websocket /api/v1/x", "websocket /ocpp/CP-1", "http /ocpp/CP-1", "lifespan -"]
    assert sent == []

    await limit(
        {"type": "http", "path": "/api/v1/x", "headers": [], "client": ("10.0.0.1", 1)}, receive, send
    )
    assert sent[0]["status"] == 429 and len(reached) == 4
