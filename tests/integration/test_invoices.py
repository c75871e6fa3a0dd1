"""Post-paid accounts: switching is audited, the monthly job issues one invoice per user, month
and currency however often it runs, and paying clears the debt once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlmodel import col, select

from chargepoints.tables import CdrRow, TransactionRow
from csms.audit import AuditRow
from csms.billing import invoices, ledger, model, rules
from csms.billing.tables import LedgerEntryRow
from csms.bootstrap import System
from tests.accounts import a_driver
from tests.builders import a_station
from tests.conftest import LiveServer

D = Decimal
OPERATOR = "/api/v1/operator"


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def a_settled_session(
    system: System, user_id: int, tenant_id: int, ended: str, cost: str, wh: int
) -> None:
    """A session that ended at ``ended`` with its CDR, settled without a hold (post-paid)."""
    at = datetime.fromisoformat(ended).replace(tzinfo=UTC)
    async with system.sessions() as session:
        tx = TransactionRow(station_id="CP-1", station_tx_id=f"t-{ended}-{user_id}", updated_at=at)
        session.add(tx)
        await session.flush()
        assert tx.id is not None
        session.add(
            CdrRow(
                transaction_id=tx.id,
                station_id="CP-1",
                driver_id=user_id,
                currency="CNY",
                started_at=at,
                ended_at=at,
                energy_wh=wh,
                charging_s=60,
                idle_s=0,
                total_s=60,
                subtotal=D(cost),
                tax=D(0),
                total=D(cost),
                created_at=at,
            )
        )
        entry = rules.settle(tx.id, user_id, tenant_id, D(0), D(cost), D(0), D("0.05"), "CNY")
        await ledger.post(session, entry, actor="test", at=at)
        await session.commit()


async def wallet(system: System, user_id: int) -> Decimal:
    async with system.sessions() as session:
        return await ledger.balance(session, model.wallet(user_id, "CNY"))


async def test_a_month_is_invoiced_once_and_paid_once(system: System, api: httpx.AsyncClient) -> None:
    fleet = await a_driver(system)
    walk_in = await a_driver(system, tenant_id=fleet.tenant_id, phone="+8613800000002")
    switched = await api.put(f"{OPERATOR}/users/{fleet.user_id}/postpaid", json={"postpaid": True})
    assert switched.status_code == 200 and switched.json() == {"user_id": fleet.user_id, "postpaid": True}
    await a_station(system, "CP-1")
    await a_settled_session(system, fleet.user_id, fleet.tenant_id, "2026-01-15T10:00", "25.00", 10_000)
    await a_settled_session(system, fleet.user_id, fleet.tenant_id, "2026-01-31T23:59", "5.50", 2_000)
    await a_settled_session(system, fleet.user_id, fleet.tenant_id, "2026-02-01T00:00", "7.00", 3_000)
    await a_settled_session(system, walk_in.user_id, walk_in.tenant_id, "2026-01-20T10:00", "9.00", 1_000)

    assert await invoices.issue_invoices("2026-01", uow=system.uow(), clock=system.clock) == 1
    assert await invoices.issue_invoices("2026-01", uow=system.uow(), clock=system.clock) == 0
    listed = (await api.get(f"{OPERATOR}/invoices", params={"period": "2026-01", "status": "Issued"})).json()
    [invoice] = listed["items"]
    assert (invoice["user_id"], invoice["total"], invoice["sessions"], invoice["energy_wh"]) == (
        fleet.user_id,
        "30.50",
        2,
        12_000,
    )
    mine = (await api.get("/api/v1/me/invoices", headers=fleet.headers)).json()
    assert [x["id"] for x in mine["items"]] == [invoice["id"]]
    assert (await api.get("/api/v1/me/invoices", headers=walk_in.headers)).json()["items"] == []
    assert await wallet(system, fleet.user_id) == D("-37.50")

    first = await api.post(f"{OPERATOR}/invoices/{invoice['id']}/paid")
    again = await api.post(f"{OPERATOR}/invoices/{invoice['id']}/paid")
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["status"] == again.json()["status"] == "Paid"
    assert await wallet(system, fleet.user_id) == D("-7.00")  # only February's session is still owed
    async with system.sessions() as session:
        keys = (
            (
                await session.execute(
                    select(col(LedgerEntryRow.key)).where(col(LedgerEntryRow.key).startswith("invoice:"))
                )
            )
            .scalars()
            .all()
        )
        assert keys == [f"invoice:{invoice['id']}"]
        actions = (
            (await session.execute(select(col(AuditRow.action)).order_by(col(AuditRow.id)))).scalars().all()
        )
        assert [a for a in actions if a in ("user.postpaid", "invoice.paid")] == [
            "user.postpaid",
            "invoice.paid",
        ]
        assert await ledger.drift(session) == []
    paid = (await api.get(f"{OPERATOR}/invoices", params={"status": "Paid"})).json()
    assert [x["id"] for x in paid["items"]] == [invoice["id"]]


async def test_invoice_errors(system: System, api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/me/invoices")).status_code == 401
    assert (await api.post(f"{OPERATOR}/invoices/99999/paid")).status_code == 404
    assert (await api.put(f"{OPERATOR}/users/99999/postpaid", json={"postpaid": True})).status_code == 404
    assert (await api.put(f"{OPERATOR}/users/1/postpaid", json={"postpaid": "maybe"})).status_code == 422
    bad = await api.get(f"{OPERATOR}/invoices", params={"period": "2026-13"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    with pytest.raises(ValueError):
        await invoices.issue_invoices("2026/01", uow=system.uow(), clock=system.clock)
