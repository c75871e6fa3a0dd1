"""VIP levels: operators define them (audited), a driver's level follows what their settlements
took over the last 90 days, and the level takes its fraction off a CDR's stored service fee."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlmodel import col, select

from chargepoints.tables import CdrRow, TransactionRow
from csms.audit import AuditRow
from csms.billing import ledger, rules, vip
from csms.bootstrap import System
from tests.accounts import Driver, a_driver
from tests.builders import a_station
from tests.conftest import LiveServer

LEVELS = "/api/v1/operator/vip-levels"
VIP = "/api/v1/me/vip"
RATE = Decimal("0.05")


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http, timeout=60) as client:
        yield client


async def levels(api: httpx.AsyncClient, tenant_id: int) -> None:
    for name, min_spend, fraction in (("Silver", "100", "0.1"), ("Gold", "500", "0.2")):
        body = {
            "tenant_id": tenant_id,
            "name": name,
            "min_spend": min_spend,
            "service_fee_discount": fraction,
        }
        created = await api.post(LEVELS, json=body)
        assert created.status_code == 201, created.text


async def settled(
    system: System,
    driver: Driver,
    tx: int,
    cost: str,
    at: datetime,
    *,
    discount: str = "0",
    currency: str = "CNY",
) -> None:
    """A session settled at ``at``: 50 held, ``cost`` less ``discount`` taken from the driver."""
    entry = rules.settle(
        tx, driver.user_id, driver.tenant_id, Decimal(50), Decimal(cost), Decimal(discount), RATE, currency
    )
    async with system.sessions() as session:
        await ledger.post(session, entry, actor="test", at=at)
        await session.commit()


async def standing(system: System, driver: Driver, now: datetime) -> vip.Standing:
    async with system.sessions() as session:
        return await vip.standing(session, driver.user_id, driver.tenant_id, now)


async def test_operators_define_levels_audited(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    await levels(api, driver.tenant_id)
    twin = {"tenant_id": driver.tenant_id, "name": "Gold", "min_spend": "900", "service_fee_discount": "0.3"}
    assert (await api.post(LEVELS, json=twin)).status_code == 409
    too_much = {**twin, "name": "Diamond", "service_fee_discount": "1.5"}
    assert (await api.post(LEVELS, json=too_much)).status_code == 422
    assert (await api.post(LEVELS, json={**twin, "name": "X", "tenant_id": 999_999})).status_code == 404
    shown = (await api.get(LEVELS, params={"tenant_id": driver.tenant_id})).json()
    assert [(x["name"], x["min_spend"], x["service_fee_discount"]) for x in shown] == [
        ("Silver", "100.00", "0.1"),
        ("Gold", "500.00", "0.2"),
    ]
    assert (await api.delete(f"{LEVELS}/{shown[0]['id']}")).status_code == 204
    assert (await api.delete(f"{LEVELS}/{shown[0]['id']}")).status_code == 404
    assert [x["name"] for x in (await api.get(LEVELS, params={"tenant_id": driver.tenant_id})).json()] == [
        "Gold"
    ]
    async with system.sessions() as session:
        audited = await session.execute(
            select(AuditRow.action).where(col(AuditRow.action).startswith("vip_level."))
        )
        assert sorted(audited.scalars()) == ["vip_level.create", "vip_level.create", "vip_level.delete"]


async def test_the_level_follows_the_last_90_days_of_spend(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    other = await a_driver(system, tenant_id=driver.tenant_id, phone="+8613800000002")
    await levels(api, driver.tenant_id)
    now = system.clock.now()
    await settled(system, driver, 1, "1000", now - timedelta(days=100))  # too old to count
    await settled(system, driver, 2, "80", now - timedelta(days=10))
    await settled(system, driver, 3, "40", now - timedelta(days=1), discount="10")  # the coupon paid 10
    await settled(system, driver, 4, "900", now, currency="USD")  # another currency
    await settled(system, other, 5, "900", now)  # another driver

    shown = (await api.get(VIP, headers=driver.headers)).json()
    assert shown["currency"] == "CNY" and shown["spend_90d"] == "110.00"
    assert shown["level"]["name"] == "Silver" and shown["next_level"]["name"] == "Gold"
    assert shown["missing"] == "390.00"

    later = await standing(system, driver, now + timedelta(days=81))  # 91 days after the 80
    assert later.spend == Decimal(30) and later.level is None and later.missing == Decimal(70)
    gone = await standing(system, driver, now + timedelta(days=95))
    assert gone.spend == 0
    top = await standing(system, other, now)
    assert (
        top.level is not None and top.level.name == "Gold" and top.next_level is None and top.missing is None
    )


async def a_cdr(system: System, lines: list[dict[str, str | None]]) -> int:
    await a_station(system, "CP-1")
    now = system.clock.now()
    async with system.sessions() as session:
        tx = TransactionRow(station_id="CP-1", station_tx_id="v-1", started_at=now, updated_at=now)
        session.add(tx)
        await session.flush()
        assert tx.id is not None
        cdr = CdrRow(
            transaction_id=tx.id,
            station_id="CP-1",
            currency="CNY",
            started_at=now - timedelta(hours=1),
            ended_at=now,
            energy_wh=12_000,
            charging_s=3600,
            idle_s=0,
            total_s=3600,
            lines=lines,
            subtotal=Decimal("10.17"),
            tax=Decimal(0),
            total=Decimal("10.17"),
            created_at=now,
        )
        session.add(cdr)
        await session.commit()
        return tx.id


def a_line(kind: str, quantity: str, unit_price: str, amount: str) -> dict[str, str | None]:
    return {"kind": kind, "band": "peak", "quantity": quantity, "unit_price": unit_price, "amount": amount}


async def test_the_level_takes_its_fraction_off_the_stored_service_fee(
    system: System, api: httpx.AsyncClient
) -> None:
    gold = await a_driver(system)
    plain = await a_driver(system, tenant_id=gold.tenant_id, phone="+8613800000002")
    await levels(api, gold.tenant_id)
    now = system.clock.now()
    await settled(system, gold, 1, "600", now - timedelta(days=3))
    tx = await a_cdr(
        system,
        [
            a_line("energy", "12", "0.72", "8.64"),
            a_line("service", "12", "0.1", "1.2"),
            a_line("service", "0.3333", "1", "0.3333"),
        ],
    )
    async with system.sessions() as session:
        cdr = (await session.execute(select(CdrRow).where(col(CdrRow.transaction_id) == tx))).scalar_one()
        off = await vip.service_discount(session, gold.user_id, gold.tenant_id, cdr.lines, "CNY", now)
        none = await vip.service_discount(session, plain.user_id, plain.tenant_id, cdr.lines, "CNY", now)
    assert off == Decimal("0.31")  # 20 % of 1.5333, rounded once
    assert none == 0
