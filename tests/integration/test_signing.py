"""Signed requests: client registration, valid and broken signatures, replays, optional signing."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select
from starlette.types import Message, Receive, Scope, Send

from chargepoints.repository import UnitOfWork
from csms.audit import AuditRow
from tests.conftest import LiveServer
from tests.fakes import FakeClock
from web.quality_tables import ApiNonceRow
from web.signing import RequestSigning, client_secret, purge_nonces, sign

CLIENTS = "/api/v1/operator/api-clients"
PROBLEM = "application/problem+json"


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def a_client(api: httpx.AsyncClient, *, require_signature: bool = True) -> dict[str, Any]:
    response = await api.post(CLIENTS, json={"name": "Driver app", "require_signature": require_signature})
    assert response.status_code == 201
    created: dict[str, Any] = response.json()
    return created


def signed(
    client: dict[str, Any],
    method: str,
    target: str,
    body: bytes = b"",
    *,
    nonce: str | None = None,
    timestamp: int | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    """The headers a well-behaved app sends; each argument can be bent to break them."""
    stamp, once = str(timestamp if timestamp is not None else int(time.time())), nonce or uuid.uuid4().hex
    signature = sign(
        secret or client["secret"], timestamp=stamp, nonce=once, method=method, target=target, body=body
    )
    return {
        "X-Client-Id": client["client_id"],
        "X-Timestamp": stamp,
        "X-Nonce": once,
        "X-Signature": signature,
    }


async def refusal(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    detail: str = response.json()["detail"]
    return detail


async def test_operators_register_list_and_delete_clients(api: httpx.AsyncClient, server: LiveServer) -> None:
    created = await a_client(api)
    assert created["client_id"].startswith("cli_")
    assert created["secret"] == client_secret(server.system.auth.secret_key, created["client_id"])
    assert created["require_signature"] is True

    listed = (await api.get(CLIENTS)).json()
    assert listed["total"] == 1
    assert listed["items"][0]["client_id"] == created["client_id"]
    assert "secret" not in listed["items"][0]  # shown once, at creation

    assert (await api.delete(f"{CLIENTS}/{created['client_id']}")).status_code == 204
    assert (await api.get(CLIENTS)).json()["total"] == 0
    missing = await api.delete(f"{CLIENTS}/{created['client_id']}")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM

    async with server.system.sessions() as session:
        actions = (await session.execute(select(AuditRow.action).order_by(col(AuditRow.id)))).scalars().all()
    assert actions == ["api_client.create", "api_client.delete"]


async def test_a_signed_request_passes_once(api: httpx.AsyncClient) -> None:
    client = await a_client(api)
    body = json.dumps({"name": "Signed GmbH", "currency": "EUR"}).encode()
    headers = {**signed(client, "POST", "/api/v1/operator/tenants", body), "Content-Type": "application/json"}

    created = await api.post("/api/v1/operator/tenants", content=body, headers=headers)
    replayed = await api.post("/api/v1/operator/tenants", content=body, headers=headers)

    assert created.status_code == 201 and created.json()["name"] == "Signed GmbH"
    assert "replayed" in await refusal(replayed)


async def test_the_query_string_is_signed(api: httpx.AsyncClient) -> None:
    client = await a_client(api)
    target = "/api/v1/operator/stations?limit=5"
    assert (await api.get(target, headers=signed(client, "GET", target))).status_code == 200

    tampered = await api.get("/api/v1/operator/stations?limit=50", headers=signed(client, "GET", target))
    assert "does not match" in await refusal(tampered)


@pytest.mark.parametrize(
    ("bend", "detail"),
    [
        ({"skew": -310}, "X-Timestamp"),
        ({"skew": 310}, "X-Timestamp"),
        ({"nonce": "short"}, "X-Nonce"),
        ({"secret": "0" * 64}, "does not match"),
        ({"body": b'{"name": "other"}'}, "does not match"),
    ],
)
async def test_bent_signatures_are_refused(api: httpx.AsyncClient, bend: dict[str, Any], detail: str) -> None:
    client = await a_client(api)
    sent = b'{"name": "Tampered", "currency": "EUR"}'
    bent = {"body": sent, **bend}
    if "skew" in bent:
        bent["timestamp"] = int(time.time()) + bent.pop("skew")
    headers = {
        **signed(client, "POST", "/api/v1/operator/tenants", **bent),
        "Content-Type": "application/json",
    }
    response = await api.post("/api/v1/operator/tenants", content=sent, headers=headers)
    assert detail in await refusal(response)
    assert (await api.get("/api/v1/operator/tenants")).json()["total"] == 0


async def test_missing_headers_and_unknown_clients_are_refused(api: httpx.AsyncClient) -> None:
    client = await a_client(api)
    bare = await api.get("/api/v1/operator/stations", headers={"X-Client-Id": client["client_id"]})
    assert "X-Timestamp" in await refusal(bare)
    assert bare.headers["WWW-Authenticate"].startswith("HMAC")

    headers = signed(client, "GET", "/api/v1/operator/stations")
    del headers["X-Signature"]
    assert "does not match" in await refusal(await api.get("/api/v1/operator/stations", headers=headers))

    stranger = {**client, "client_id": "cli_unknown"}
    response = await api.get(
        "/api/v1/operator/stations", headers=signed(stranger, "GET", "/api/v1/operator/stations")
    )
    assert "Unknown API client" in await refusal(response)


async def test_a_deleted_client_is_refused(api: httpx.AsyncClient) -> None:
    client = await a_client(api)
    await api.delete(f"{CLIENTS}/{client['client_id']}")
    response = await api.get(
        "/api/v1/operator/stations", headers=signed(client, "GET", "/api/v1/operator/stations")
    )
    assert "Unknown API client" in await refusal(response)


async def test_optional_signing_checks_only_what_is_sent(api: httpx.AsyncClient) -> None:
    client = await a_client(api, require_signature=False)
    unsigned = await api.get("/api/v1/operator/stations", headers={"X-Client-Id": client["client_id"]})
    assert unsigned.status_code == 200

    bad = signed(client, "GET", "/api/v1/operator/stations", secret="0" * 64)
    assert "does not match" in await refusal(await api.get("/api/v1/operator/stations", headers=bad))


async def test_requests_without_a_client_id_and_other_paths_are_not_checked(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/operator/stations")).status_code == 200
    assert (await api.get("/health", headers={"X-Client-Id": "cli_unknown"})).status_code == 200


async def test_old_nonces_are_purged(api: httpx.AsyncClient, server: LiveServer) -> None:
    client = await a_client(api)
    await api.get("/api/v1/operator/stations", headers=signed(client, "GET", "/api/v1/operator/stations"))
    uow = UnitOfWork(server.system.sessions)
    clock = FakeClock(server.system.clock.now())

    assert await purge_nonces(uow=uow, clock=clock) == 0
    clock.advance(minutes=11)
    assert await purge_nonces(uow=uow, clock=clock) == 1
    async with server.system.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ApiNonceRow)) == 0


def test_the_secret_depends_on_the_server_key() -> None:
    assert client_secret("k" * 32, "cli_a") != client_secret("l" * 32, "cli_a")
    assert client_secret("k" * 32, "cli_a") != client_secret("k" * 32, "cli_b")
    assert len(client_secret("k" * 32, "cli_a")) == 64


async def test_lifespan_and_websockets_pass_untouched(server: LiveServer) -> None:
    reached: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["type"])

    async def never(*_: object) -> Message:
        raise AssertionError("the middleware must not read or answer these")

    system = server.system
    signing = RequestSigning(
        inner, sessions=system.sessions, clock=system.clock, server_key=system.auth.secret_key
    )
    await signing({"type": "lifespan"}, never, never)
    ws = {"type": "websocket", "path": "/api/v1/sessions/1/live", "headers": [(b"x-client-id", b"cli_x")]}
    await signing(ws, never, never)
    assert reached == ["lifespan", "websocket"]
