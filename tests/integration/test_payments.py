"""Recharging a wallet end to end: the sandbox provider calls our webhook on its own, twice and
out of order, and the wallet is credited once; replayed, tampered, stale and unknown callbacks;
one order per Idempotency-Key; packages' bonuses from the operator's promotions account."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import col, select

from csms.app import create_app
from csms.billing import ledger, model
from csms.billing.providers import Providers
from csms.billing.providers.sandbox import SandboxProvider, over_http, sandbox_secret
from csms.billing.signatures import stripe_header
from csms.billing.tables import PaymentEventRow, PaymentOrderRow
from csms.bootstrap import System
from csms.runtime import uvicorn_options
from tests.accounts import Driver, a_driver
from tests.conftest import LiveServer

WALLET = "/api/v1/me/wallet"
PACKAGES = "/api/v1/operator/recharge-packages"
WEBHOOK = "/api/v1/payments/sandbox/webhook"


@dataclass
class World:
    server: LiveServer
    api: httpx.AsyncClient
    driver: Driver
    sandbox: SandboxProvider

    @property
    def system(self) -> System:
        return self.server.system

    async def recharge(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.api.post(f"{WALLET}/recharges", json=body, headers=self.driver.headers | headers)

    async def paid(self, order_id: int) -> dict[str, Any]:
        """The recharge once the sandbox's callbacks have had their time."""
        for _ in range(200):
            found = (await self.api.get(f"{WALLET}/recharges/{order_id}", headers=self.driver.headers)).json()
            if found["status"] == "Paid":
                await asyncio.sleep(4 * self.sandbox.delay_s)  # let the later deliveries land too
                return dict(found)
            await asyncio.sleep(0.02)
        raise AssertionError(f"recharge {order_id} was never paid: {found}")

    async def balance(self) -> Decimal:
        lines = (await self.api.get(WALLET, headers=self.driver.headers)).json()["currencies"]
        return sum((Decimal(x["balance"]) for x in lines if x["currency"] == "CNY"), Decimal(0))

    def signed(self, event: dict[str, Any], *, age_s: int = 0) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event).encode()
        stamp = int(self.system.clock.now().timestamp()) - age_s
        return body, {"Stripe-Signature": stripe_header(self.sandbox.secret, stamp, body)}


@pytest.fixture
async def world(system: System) -> AsyncIterator[World]:
    app = create_app(system.settings, system=system)
    options = {**uvicorn_options(system.settings), "port": 0, "lifespan": "off", "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, **options))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    live = LiveServer(f"http://127.0.0.1:{port}", "", system)
    client = httpx.AsyncClient()
    sandbox = SandboxProvider(
        sandbox_secret(system.auth.secret_key), clock=system.clock, tolerance_s=300, delay_s=0.05
    )
    sandbox.deliver = over_http(live.http + WEBHOOK, client)
    providers = Providers([sandbox], default="sandbox", client=client)
    if system.payment_providers is not None:  # the one built for the system: ours is faster
        await system.payment_providers.stop()
    system.payment_providers = providers
    driver = await a_driver(system)
    try:
        async with httpx.AsyncClient(base_url=live.http) as api:
            yield World(live, api, driver, sandbox)
    finally:
        await providers.stop()
        server.should_exit = True
        await task


async def test_a_recharge_is_credited_once_though_its_callbacks_come_twice_and_out_of_order(
    world: World,
) -> None:
    world.sandbox.twice = world.sandbox.out_of_order = True
    answer = await world.recharge({"amount": "100"}, **{"Idempotency-Key": "r-1"})
    assert answer.status_code == 201, answer.text
    started = answer.json()
    assert (started["status"], started["provider"], started["amount"]) == ("Created", "sandbox", "100.00")
    assert started["checkout"]["provider_ref"].startswith("sbx_")
    paid = await world.paid(started["order_id"])
    assert paid["paid_at"] is not None and paid["status"] == "Paid"
    assert await world.balance() == Decimal("100.00")
    async with world.system.sessions() as session:
        kinds = (await session.execute(select(PaymentEventRow.kind))).scalars().all()
        assert sorted(kinds) == ["failed", "paid"]  # the second "paid" was the same event: a duplicate
        clearing = await ledger.balance(session, model.clearing("sandbox", "CNY"))
        assert clearing == Decimal("-100")
    history = (await world.api.get(f"{WALLET}/history?currency=CNY", headers=world.driver.headers)).json()
    assert [(x["kind"], x["amount"]) for x in history["items"]] == [("recharge", "100.00")]


async def test_a_package_adds_the_operators_bonus_from_its_promotions_account(world: World) -> None:
    created = await world.api.post(
        PACKAGES,
        json={"tenant_id": world.driver.tenant_id, "name": "Pay 100, get 105", "pay": "100", "bonus": "5"},
    )
    assert created.status_code == 201, created.text
    package = created.json()
    assert (package["pay"], package["bonus"], package["currency"]) == ("100.00", "5.00", "CNY")
    answer = await world.recharge({"package_id": package["id"]})
    assert answer.status_code == 201, answer.text
    await world.paid(answer.json()["order_id"])
    assert await world.balance() == Decimal("105.00")
    async with world.system.sessions() as session:
        promotions = await ledger.balance(session, model.promotions(world.driver.tenant_id, "CNY"))
        assert promotions == Decimal("-5")
    gone = await world.api.post(f"{PACKAGES}/{package['id']}/deactivate")
    assert gone.json()["active"] is False
    listed = await world.api.get(PACKAGES, params={"tenant_id": world.driver.tenant_id, "active_only": True})
    assert listed.json() == []
    assert (await world.recharge({"package_id": package["id"]})).status_code == 404


async def test_the_same_idempotency_key_retried_concurrently_makes_one_order(world: World) -> None:
    answers = await asyncio.gather(
        *(world.recharge({"amount": "20"}, **{"Idempotency-Key": "same"}) for _ in range(5))
    )
    assert {a.status_code for a in answers} <= {201, 409}
    assert len({a.json()["order_id"] for a in answers if a.status_code == 201}) == 1
    async with world.system.sessions() as session:
        orders = (await session.execute(select(PaymentOrderRow.id))).scalars().all()
    assert len(orders) == 1


async def _order(world: World, amount: str = "30") -> int:
    world.sandbox.deliver = None  # this test plays the provider itself
    answer = await world.recharge({"amount": amount})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["order_id"])


def _event(event_id: str, kind: str, order_id: int, cents: int = 3000) -> dict[str, Any]:
    obj = {"id": "pi_x", "amount_received": cents, "currency": "cny", "metadata": {"order_id": str(order_id)}}
    return {"id": event_id, "type": kind, "data": {"object": obj}}


async def test_replayed_tampered_and_stale_callbacks_change_nothing(world: World) -> None:
    order_id = await _order(world)
    body, headers = world.signed(_event("evt_1", "payment_intent.succeeded", order_id))
    first = await world.api.post(WEBHOOK, content=body, headers=headers)
    assert first.json()["outcome"] == "credited"
    replay = await world.api.post(WEBHOOK, content=body, headers=headers)
    assert (replay.status_code, replay.json()["outcome"]) == (200, "duplicate")
    tampered = await world.api.post(WEBHOOK, content=body.replace(b"3000", b"9000"), headers=headers)
    assert tampered.status_code == 400 and tampered.headers["content-type"] == "application/problem+json"
    stale_body, stale = world.signed(_event("evt_2", "payment_intent.succeeded", order_id), age_s=301)
    assert (await world.api.post(WEBHOOK, content=stale_body, headers=stale)).status_code == 400
    assert (await world.api.post(WEBHOOK, content=b"{}", headers=world.signed({})[1])).status_code == 400
    assert await world.balance() == Decimal("30.00")


async def test_a_failed_event_after_the_payment_does_not_undo_it(world: World) -> None:
    order_id = await _order(world)
    for event_id, kind in (
        ("evt_ok", "payment_intent.succeeded"),
        ("evt_late", "payment_intent.payment_failed"),
    ):
        body, headers = world.signed(_event(event_id, kind, order_id))
        assert (await world.api.post(WEBHOOK, content=body, headers=headers)).status_code == 200
    found = (await world.api.get(f"{WALLET}/recharges/{order_id}", headers=world.driver.headers)).json()
    assert found["status"] == "Paid"
    assert await world.balance() == Decimal("30.00")


async def test_a_wrong_amount_and_an_unknown_order_are_kept_but_credit_nothing(world: World) -> None:
    order_id = await _order(world)
    body, headers = world.signed(_event("evt_short", "payment_intent.succeeded", order_id, cents=100))
    assert (await world.api.post(WEBHOOK, content=body, headers=headers)).json()["outcome"] == "mismatch"
    body, headers = world.signed(_event("evt_nobody", "payment_intent.succeeded", 999_999))
    assert (await world.api.post(WEBHOOK, content=body, headers=headers)).json()["outcome"] == "unknown_order"
    assert await world.balance() == Decimal(0)
    async with world.system.sessions() as session:
        events = (
            (await session.execute(select(PaymentEventRow).order_by(col(PaymentEventRow.id)))).scalars().all()
        )
    assert [(e.event_id, e.order_id) for e in events] == [("evt_short", order_id), ("evt_nobody", None)]


async def test_recharges_are_the_drivers_own_and_bad_asks_are_refused(world: World) -> None:
    order_id = await _order(world)
    other = await a_driver(world.system, phone="+8613800000009")
    assert (await world.api.get(f"{WALLET}/recharges/{order_id}", headers=other.headers)).status_code == 404
    assert (await world.recharge({"amount": "1", "package_id": 1})).status_code == 422
    assert (await world.recharge({"amount": "0.001"})).status_code == 422
    assert (await world.recharge({"amount": "5", "provider": "paypal"})).status_code == 404
    assert (await world.api.post("/api/v1/payments/paypal/webhook", content=b"{}")).status_code == 404


async def test_history_pages_newest_first(world: World) -> None:
    for amount in ("10", "20", "30"):
        order_id = await _order(world, amount)
        event = _event(f"evt_{amount}", "payment_intent.succeeded", order_id, cents=int(amount) * 100)
        body, headers = world.signed(event)
        assert (await world.api.post(WEBHOOK, content=body, headers=headers)).status_code == 200
    url = f"{WALLET}/history"
    first = (
        await world.api.get(url, params={"currency": "CNY", "limit": 2}, headers=world.driver.headers)
    ).json()
    assert [x["amount"] for x in first["items"]] == ["30.00", "20.00"]
    params = {"currency": "CNY", "limit": 2, "before_id": first["next_before_id"]}
    rest = (await world.api.get(url, params=params, headers=world.driver.headers)).json()
    assert [x["amount"] for x in rest["items"]] == ["10.00"] and rest["next_before_id"] is None
    assert await world.balance() == Decimal("60.00")


async def test_shutdown_cancels_deliveries_still_waiting(world: World) -> None:
    world.sandbox.delay_s = 30
    assert (await world.recharge({"amount": "10"})).status_code == 201
    await world.sandbox.stop()
    await asyncio.sleep(0.1)
    async with world.system.sessions() as session:
        assert (await session.execute(select(PaymentEventRow.id))).first() is None
