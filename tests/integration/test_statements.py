"""Statements: a driver's wallet history with its running balance, an operator's figures that
match the entries posted, and an investor's figures from their sites only; JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from chargepoints.tables import SiteRow, TransactionRow
from csms.accounts.portal_tables import SiteInvestorRow
from csms.billing import ledger, rules
from csms.billing.model import Entry
from csms.bootstrap import System
from tests.accounts import a_driver, a_tenant
from tests.builders import a_station
from tests.conftest import LiveServer

D = Decimal
RATE = D("0.05")
JANUARY = {"from": "2026-01-01", "to": "2026-02-01"}


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def post(system: System, *dated: tuple[str, Entry]) -> None:
    async with system.sessions() as session:
        for at, entry in dated:
            await ledger.post(session, entry, actor="test", at=day(at))
        await session.commit()


async def a_transaction(system: System, station_id: str) -> int:
    async with system.sessions() as session:
        tx = TransactionRow(
            station_id=station_id, station_tx_id=f"t-{station_id}", updated_at=system.clock.now()
        )
        session.add(tx)
        await session.commit()
        assert tx.id is not None
        return tx.id


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_a_driver_statement_carries_a_running_balance(system: System, api: httpx.AsyncClient) -> None:
    me = await a_driver(system)
    user, tenant = me.user_id, me.tenant_id
    await post(
        system,
        ("2025-12-31T23:00", rules.recharge(1, user, tenant, "sandbox", D(100), D(0), "CNY")),
        ("2026-01-05T10:00", rules.recharge(2, user, tenant, "sandbox", D(50), D(10), "CNY")),
        ("2026-01-10T10:00", rules.settle(7, user, tenant, D(0), D("30.50"), D(0), RATE, "CNY")),
        ("2026-02-01T00:00", rules.recharge(3, user, tenant, "sandbox", D(5), D(0), "CNY")),
    )
    got = await api.get("/api/v1/me/statement", params=JANUARY, headers=me.headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["currency"], body["opening_balance"], body["closing_balance"]) == ("CNY", "100.00", "129.50")
    assert [(x["kind"], x["key"], x["amount"], x["balance"]) for x in body["lines"]] == [
        ("recharge", "recharge:2", "60.00", "160.00"),
        ("settle", "settle:7", "-30.50", "129.50"),
    ]
    page = await api.get("/api/v1/me/statement", params={**JANUARY, "limit": 1}, headers=me.headers)
    after = page.json()["next_after_id"]
    rest = await api.get("/api/v1/me/statement", params={**JANUARY, "after_id": after}, headers=me.headers)
    assert [x["balance"] for x in rest.json()["lines"]] == ["129.50"]

    exported = await api.get("/api/v1/me/statement.csv", params=JANUARY, headers=me.headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = rows(exported.text)
    assert table[0] == ["entry_id", "at", "kind", "key", "memo", "amount", "balance"]
    assert [(r[3], r[5], r[6]) for r in table[1:]] == [
        ("recharge:2", "60.00", "160.00"),
        ("settle:7", "-30.50", "129.50"),
    ]


async def test_the_driver_statement_needs_a_login_and_a_sane_period(
    system: System, api: httpx.AsyncClient
) -> None:
    me = await a_driver(system)
    assert (await api.get("/api/v1/me/statement", params=JANUARY)).status_code == 401
    assert (await api.get("/api/v1/me/statement.csv", params=JANUARY)).status_code == 401
    backwards = await api.get(
        "/api/v1/me/statement", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=me.headers
    )
    assert backwards.status_code == 422 and backwards.headers["content-type"] == "application/problem+json"
    too_long = await api.get(
        "/api/v1/me/statement", params={"from": "2024-01-01", "to": "2026-01-01"}, headers=me.headers
    )
    assert too_long.status_code == 422
    assert (
        await api.get("/api/v1/me/statement", params={"from": "x", "to": "y"}, headers=me.headers)
    ).status_code == 422


async def test_operator_figures_match_the_ledger(system: System, api: httpx.AsyncClient) -> None:
    me = await a_driver(system)
    user, tenant = me.user_id, me.tenant_id
    other = await a_tenant(system)
    await post(
        system,
        ("2026-01-03T08:00", rules.recharge(1, user, tenant, "stripe", D(100), D(10), "CNY")),
        ("2026-01-04T08:00", rules.settle(11, user, tenant, D(0), D(40), D(5), RATE, "CNY")),
        ("2026-01-04T09:00", rules.settle(12, user, tenant, D(0), D("10.10"), D(0), RATE, "CNY")),
        ("2026-01-05T08:00", rules.settle(13, user, other, D(0), D(99), D(0), RATE, "CNY")),
        ("2026-02-02T08:00", rules.refund_session(1, user, tenant, D(3), "CNY")),
        ("2026-02-03T08:00", rules.refund_wallet(2, user, "stripe", D(7), "CNY")),
    )
    span: dict[str, str | int] = {"tenant_id": tenant, "from": "2026-01-01", "to": "2026-03-01"}
    got = await api.get("/api/v1/operator/statements", params=span)
    assert got.status_code == 200, got.text
    jan, feb = got.json()["items"]
    assert jan == {
        "period": "2026-01",
        "currency": "CNY",
        "sessions": 2,
        "revenue": "47.59",  # 40 - 2.00 + 10.10 - 0.51
        "platform_fees": "2.51",
        "refunds": "0.00",
        "promotions": "15.00",
        "bonuses": "10.00",
        "discounts": "5.00",
    }
    assert (feb["period"], feb["sessions"], feb["refunds"], feb["revenue"]) == ("2026-02", 0, "3.00", "0.00")
    daily = (await api.get("/api/v1/operator/statements", params={**span, "group": "day"})).json()["items"]
    assert [(x["period"], x["sessions"]) for x in daily] == [
        ("2026-01-03", 0),
        ("2026-01-04", 2),
        ("2026-02-02", 0),
    ]

    exported = await api.get("/api/v1/operator/statements.csv", params=span)
    assert exported.status_code == 200, exported.text
    table = rows(exported.text)
    assert table[0][:4] == ["period", "currency", "sessions", "revenue"] and len(table) == 3
    assert table[1][:5] == ["2026-01", "CNY", "2", "47.59", "2.51"]

    assert (
        await api.get("/api/v1/operator/statements", params={**span, "tenant_id": 99999})
    ).status_code == 404
    assert (await api.get("/api/v1/operator/statements", params={**span, "group": "year"})).status_code == 422
    assert (
        await api.get("/api/v1/operator/statements", params={"from": "2026-01-01", "to": "2026-02-01"})
    ).status_code == 422


async def test_an_investor_statement_counts_their_sites_only(system: System, api: httpx.AsyncClient) -> None:
    me = await a_driver(system)
    investor = await a_driver(system, tenant_id=me.tenant_id, phone="+8613800000002", role="investor")
    now = system.clock.now()
    async with system.sessions() as session:
        mine, theirs = (
            SiteRow(name="Mine", tenant_id=me.tenant_id, created_at=now),
            SiteRow(name="Theirs", tenant_id=me.tenant_id, created_at=now),
        )
        session.add_all([mine, theirs])
        await session.flush()
        assert mine.id is not None and theirs.id is not None
        session.add(SiteInvestorRow(site_id=mine.id, user_id=investor.user_id, created_at=system.clock.now()))
        await session.commit()
    await a_station(system, "CP-MINE", site_id=mine.id)
    await a_station(system, "CP-THEIRS", site_id=theirs.id)
    at_mine, at_theirs = await a_transaction(system, "CP-MINE"), await a_transaction(system, "CP-THEIRS")
    user, tenant = me.user_id, me.tenant_id
    await post(
        system,
        ("2026-01-04T08:00", rules.settle(at_mine, user, tenant, D(0), D(20), D(2), RATE, "CNY")),
        ("2026-01-04T09:00", rules.settle(at_theirs, user, tenant, D(0), D(50), D(0), RATE, "CNY")),
        ("2026-01-05T09:00", rules.recharge(1, user, tenant, "sandbox", D(50), D(5), "CNY")),
    )
    path = f"/api/v1/operator/investors/{investor.user_id}/statement"
    got = await api.get(path, params=JANUARY)
    assert got.status_code == 200, got.text
    [jan] = got.json()["items"]
    assert (jan["sessions"], jan["revenue"], jan["platform_fees"], jan["discounts"], jan["bonuses"]) == (
        1,
        "19.00",
        "1.00",
        "2.00",
        "0.00",
    )
    table = rows((await api.get(f"{path}.csv", params=JANUARY)).text)
    assert len(table) == 2 and table[1][3] == "19.00"
    assert (
        await api.get(f"/api/v1/operator/investors/{me.user_id}/statement", params=JANUARY)
    ).status_code == 404
    assert (await api.get("/api/v1/operator/investors/0/statement", params=JANUARY)).status_code == 422
