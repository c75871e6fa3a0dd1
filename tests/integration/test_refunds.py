"""Refunds over the API: a driver asks, an operator approves (once, even concurrently) or
rejects; wallet money goes back to the payments it came from, newest first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from chargepoints.tables import TransactionRow
from csms.audit import AuditRow
from csms.billing import ledger, model, rules
from csms.billing.tables import LedgerEntryRow, PaymentOrderRow
from csms.bootstrap import System
from tests.accounts import Driver, a_driver
from tests.builders import a_station
from tests.conftest import serve

D = Decimal
OPERATOR = "/api/v1/operator/refunds"


@dataclass
class FakeSender:
    sent: list[tuple[int, str, Decimal]] = field(default_factory=list)

    async def refund(self, order: PaymentOrderRow, amount: Decimal) -> None:
        assert order.id is not None
        self.sent.append((order.id, order.provider, amount))


@dataclass
class World:
    system: System
    api: httpx.AsyncClient
    driver: Driver
    sender: FakeSender

    async def ask(self, key: str = "k1", driver: Driver | None = None, **body: Any) -> httpx.Response:
        headers = {**(driver or self.driver).headers, "Idempotency-Key": key}
        return await self.api.post("/api/v1/me/refunds", json=body, headers=headers)

    async def decide(self, refund_id: int, what: str = "approve") -> httpx.Response:
        return await self.api.post(f"{OPERATOR}/{refund_id}/{what}")

    async def wallet(self, user_id: int | None = None) -> Decimal:
        async with self.system.sessions() as session:
            return await ledger.balance(session, model.wallet(user_id or self.driver.user_id, "CNY"))

    async def keys(self, prefix: str) -> list[str]:
        async with self.system.sessions() as session:
            query = select(col(LedgerEntryRow.key)).where(col(LedgerEntryRow.key).startswith(prefix))
            return sorted((await session.execute(query)).scalars())


@pytest.fixture
async def world(system: System) -> AsyncIterator[World]:
    sender = FakeSender()
    system.refund_sender = sender
    driver = await a_driver(system)
    async with serve(system) as live, httpx.AsyncClient(base_url=live.http) as api:
        yield World(system, api, driver, sender)


async def paid_order(
    world: World, amount: str, *, provider: str = "stripe", age_s: int = 0, user: Driver | None = None
) -> int:
    """A paid recharge, in the wallet."""
    who = user or world.driver
    at = world.system.clock.now() - timedelta(seconds=age_s)
    async with world.system.sessions() as session:
        order = PaymentOrderRow(
            user_id=who.user_id,
            tenant_id=who.tenant_id,
            provider=provider,
            amount=D(amount),
            currency="CNY",
            status="Paid",
            created_at=at,
            paid_at=at,
        )
        session.add(order)
        await session.flush()
        assert order.id is not None
        entry = rules.recharge(order.id, who.user_id, who.tenant_id, provider, D(amount), D(0), "CNY")
        await ledger.post(session, entry, actor="test", at=at)
        await session.commit()
        return order.id


async def refunded(world: World, order_id: int) -> Decimal:
    async with world.system.sessions() as session:
        order = await session.get(PaymentOrderRow, order_id)
        assert order is not None
        return order.refunded


async def test_a_full_refund_goes_back_to_the_order(world: World) -> None:
    order = await paid_order(world, "100")
    asked = await world.ask(amount="100.00", reason="moving away")
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "Requested" and asked.json()["amount"] == "100.00"
    refund_id = asked.json()["id"]
    queue = (await world.api.get(OPERATOR, params={"status": "Requested"})).json()
    assert [r["id"] for r in queue["items"]] == [refund_id]

    approved = await world.decide(refund_id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "Paid" and approved.json()["decided_by"].startswith("api@")
    assert world.sender.sent == [(order, "stripe", D(100))]
    assert await world.wallet() == 0 and await refunded(world, order) == 100
    assert await world.keys("refund:") == [f"refund:{refund_id}:{order}"]
    async with world.system.sessions() as session:
        audited = (
            (await session.execute(select(AuditRow).where(col(AuditRow.subject) == f"refund:{refund_id}")))
            .scalars()
            .all()
        )
        assert [a.action for a in audited] == ["refund.approve"]
        assert await ledger.drift(session) == []


async def test_a_partial_refund_takes_from_the_newest_orders_first(world: World) -> None:
    older = await paid_order(world, "30", provider="alipay", age_s=60)
    newer = await paid_order(world, "50", provider="wechat")
    refund_id = (await world.ask(amount="60")).json()["id"]
    assert (await world.decide(refund_id)).json()["status"] == "Paid"
    assert world.sender.sent == [(newer, "wechat", D(50)), (older, "alipay", D(10))]
    assert (await refunded(world, newer), await refunded(world, older)) == (D(50), D(10))
    assert await world.wallet() == 20
    one = (await world.ask("k2", amount="5", order_id=older)).json()["id"]
    assert (await world.decide(one)).json()["status"] == "Paid"
    assert world.sender.sent[-1] == (older, "alipay", D(5))
    too_much = await world.ask("k3", amount="16", order_id=older)
    assert too_much.status_code == 409, too_much.text  # 30 paid, 15 refunded


async def test_a_refund_cannot_exceed_the_wallet_less_its_holds(world: World) -> None:
    await paid_order(world, "100")
    async with world.system.sessions() as session:
        await ledger.post(
            session,
            rules.hold(1, world.driver.user_id, D(70), "CNY"),
            actor="test",
            at=world.system.clock.now(),
        )
        await session.commit()
    refused = await world.ask(amount="31")
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert (await world.ask("k2", amount="30")).status_code == 201
    assert (await world.ask("k3", amount="0.01")).status_code == 409  # the first request is counted
    assert (await world.ask("k4", amount="0.001")).status_code == 422  # CNY has no such coin


async def test_approving_twice_or_concurrently_posts_once(world: World) -> None:
    await paid_order(world, "100")
    first = (await world.ask(amount="40")).json()["id"]
    second = (await world.ask("k2", amount="10")).json()["id"]
    assert (await world.decide(first)).json()["status"] == "Paid"
    again = await world.decide(first)
    assert again.status_code == 200 and again.json()["status"] == "Paid"
    together = await asyncio.gather(*(world.decide(second) for _ in range(5)))
    assert {r.status_code for r in together} == {200}
    assert len(world.sender.sent) == 2
    assert len(await world.keys("refund:")) == 2
    assert await world.wallet() == 50


async def test_a_rejected_refund_stays_rejected(world: World) -> None:
    await paid_order(world, "100")
    refund_id = (await world.ask(amount="40")).json()["id"]
    rejected = await world.decide(refund_id, "reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "Rejected"
    assert (await world.decide(refund_id, "reject")).status_code == 200
    assert (await world.decide(refund_id)).status_code == 409
    assert world.sender.sent == [] and await world.wallet() == 100
    assert (await world.decide(999_999)).status_code == 404


async def test_another_drivers_order_is_not_found(world: World) -> None:
    other = await a_driver(world.system, tenant_id=world.driver.tenant_id, phone="+8613800000002")
    theirs = await paid_order(world, "100", user=other)
    await paid_order(world, "100")
    assert (await world.ask(amount="10", order_id=theirs)).status_code == 404


async def test_anonymous_callers_are_refused(world: World) -> None:
    answer = await world.api.post("/api/v1/me/refunds", json={"amount": "1"})
    assert answer.status_code == 401


async def test_a_session_refund_goes_into_the_wallet(world: World) -> None:
    await a_station(world.system, "CP-1")
    async with world.system.sessions() as session:
        tx = TransactionRow(station_id="CP-1", station_tx_id="t-1", updated_at=world.system.clock.now())
        session.add(tx)
        await session.flush()
        assert tx.id is not None
        user, tenant, now = world.driver.user_id, world.driver.tenant_id, world.system.clock.now()
        for entry in (
            rules.recharge(900, user, tenant, "sandbox", D(100), D(0), "CNY"),
            rules.hold(tx.id, user, D(50), "CNY"),
            rules.settle(tx.id, user, tenant, D(50), D(20), D(0), D("0.05"), "CNY"),
        ):
            await ledger.post(session, entry, actor="test", at=now)
        await session.commit()
        tx_id = tx.id
    asked = await world.ask(amount="5", transaction_id=tx_id)
    assert asked.status_code == 201, asked.text
    assert (await world.decide(asked.json()["id"])).json()["status"] == "Paid"
    assert await world.wallet() == 85 and world.sender.sent == []
    body = {"transaction_id": tx_id, "amount": "15", "reason": "faulty connector"}
    outright = await world.api.post(OPERATOR, json=body, headers={"Idempotency-Key": "op-1"})
    assert outright.status_code == 201 and outright.json()["status"] == "Paid"
    assert await world.wallet() == 100
    more = await world.api.post(
        OPERATOR, json={**body, "amount": "0.01"}, headers={"Idempotency-Key": "op-2"}
    )
    assert more.status_code == 409  # the 20 it cost is all refunded
    other = await a_driver(world.system, tenant_id=world.driver.tenant_id, phone="+8613800000002")
    assert (await world.ask("k9", driver=other, amount="1", transaction_id=tx_id)).status_code == 404
    async with world.system.sessions() as session:
        assert await ledger.drift(session) == []
