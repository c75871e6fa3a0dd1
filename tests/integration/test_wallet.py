"""Charging against the wallet: a minimum balance to start, money held while charging, one
settlement per session split between the operator and the platform, and a session stopped
when the balance runs out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from chargepoints import admin
from chargepoints.driver_sessions import Driver as DriverRef
from chargepoints.tables import IdTokenRow, StationRow, TransactionRow
from csms.accounts.tables import UserRow
from csms.audit import AuditRow
from csms.billing import coupons, ledger, model, points, rules
from csms.billing.coupon_rules import CouponKind
from csms.billing.tables import LedgerEntryRow, LedgerPostingRow, WalletHoldRow
from csms.bootstrap import System
from csms.settings import Settings
from emulator import Station, StationSpec
from tariffs import services as tariff_services
from tests.accounts import a_driver
from tests.builders import a_station, boot16
from tests.conftest import LiveServer
from tests.wire import WireStation

T = TypeVar("T")
EUR = "EUR"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PER_KWH = {
    "bands": [{"name": "flat", "days": EVERY_DAY, "start": "00:00", "end": "24:00", "energy_fee": "1.00"}]
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"wallet_min_balance": Decimal(10), "cost_update_interval": 0})


async def until(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    for _ in range(200):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def priced_site(system: System, station_id: str) -> int:
    """A tenant billing in EUR at 1.00 per kWh, owning the station's site; returns the tenant id."""
    uow, clock = system.uow(), system.clock
    tenant = await tariff_services.create_tenant(f"T-{station_id}", EUR, "test", uow=uow, clock=clock)
    assert tenant.id is not None
    site_id = await admin.put_site(f"S-{station_id}", uow=system.uow(), clock=clock, tenant_id=tenant.id)
    await a_station(system, station_id, site_id=site_id)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    view = await tariff_services.create_tariff(
        tenant.id, "flat", PER_KWH, since, "test", uow=uow, clock=clock
    )
    assert view.tariff.id is not None
    target = tariff_services.Target(site_id=site_id)
    await tariff_services.assign(view.tariff.id, target, "test", uow=uow, clock=clock)
    return tenant.id


async def app_token(system: System, user_id: int) -> str:
    async with system.sessions() as session:
        query = select(IdTokenRow.token).where(col(IdTokenRow.user_id) == user_id)
        return str((await session.execute(query)).scalars().one())


async def credit(system: System, user_id: int, tenant_id: int, amount: Decimal) -> None:
    """Money in the wallet as a paid recharge leaves it (the payment itself is tested elsewhere)."""
    async with system.sessions() as session:
        entry = rules.recharge(user_id, user_id, tenant_id, "sandbox", amount, Decimal(0), EUR)
        await ledger.post(session, entry, actor="test", at=system.clock.now())
        await session.commit()


async def balance(system: System, account: model.AccountRef) -> Decimal:
    async with system.sessions() as session:
        return await ledger.balance(session, account)


async def test_a_session_is_held_then_settled_once_and_split(server: LiveServer) -> None:
    system = server.system
    tenant_id = await priced_site(system, "CP-W")
    driver = await a_driver(system, tenant_id=tenant_id)
    inviter = await a_driver(system, tenant_id=tenant_id, phone="+8613800000002")
    async with system.sessions() as session:
        user = await session.get(UserRow, driver.user_id)
        assert user is not None
        user.invited_by = inviter.user_id
        await session.commit()
    spec = coupons.NewTemplate(tenant_id, "Two off", CouponKind.AMOUNT_OFF, Decimal(2))
    template = await coupons.create_template(spec, "test", uow=system.uow(), clock=system.clock)
    assert template.id is not None
    await coupons.issue(template.id, driver.user_id, "direct", "test", uow=system.uow(), clock=system.clock)
    token = await app_token(system, driver.user_id)
    await credit(system, driver.user_id, tenant_id, Decimal(100))
    wallet, holds = model.wallet(driver.user_id, EUR), model.holds(driver.user_id, EUR)
    start = datetime.now(UTC) - timedelta(hours=1)
    async with await WireStation.connect(server.ws, "CP-W") as station:
        await station.ok("BootNotification", boot16())
        started = {"connectorId": 1, "idTag": token, "meterStart": 0, "timestamp": start.isoformat()}
        tx_id = int((await station.ok("StartTransaction", started))["transactionId"])

        async def held() -> bool:
            return await balance(system, holds) == Decimal(50)

        await until(held, "the hold")
        assert await balance(system, wallet) == Decimal(50)
        stop = {"transactionId": tx_id, "meterStop": 12_000, "timestamp": datetime.now(UTC).isoformat()}
        for _ in range(3):  # a station that never heard our answer sends its stop again
            await station.ok("StopTransaction", stop)

    async def settled() -> WalletHoldRow | None:
        async with system.sessions() as session:
            hold = await session.get(WalletHoldRow, tx_id)
        return hold if hold is not None and hold.status == "Settled" else None

    await until(settled, "the settlement")
    assert await system.wallets.sweep() == 0  # nothing left for the sweep: settled once
    assert await balance(system, wallet) == Decimal("90.00")  # 12 kWh at 1.00, less the coupon's 2.00
    assert await balance(system, holds) == 0
    assert await balance(system, model.revenue(tenant_id, EUR)) == Decimal("11.40")
    assert await balance(system, model.platform_fees(EUR)) == Decimal("0.60")
    assert await balance(system, model.promotions(tenant_id, EUR)) == Decimal("-2.00")
    async with system.sessions() as session:
        earned = await points.balance(session, driver.user_id)
        rewarded = await points.balance(session, inviter.user_id)
    assert (earned, rewarded) == (12 + 10 + 100, 100)  # per kWh, per euro paid, and the invitation
    async with system.sessions() as session:
        keys = list((await session.execute(select(LedgerEntryRow.key))).scalars())
        total = await session.scalar(select(func.sum(LedgerPostingRow.amount)))
        assert await ledger.drift(session) == []
    assert keys.count(f"settle:{tx_id}") == 1 and keys.count(f"hold:{tx_id}") == 1
    assert Decimal(str(total)) == 0


async def test_an_empty_wallet_cannot_start_from_the_app(server: LiveServer) -> None:
    system = server.system
    tenant_id = await priced_site(system, "CP-E")
    driver = await a_driver(system, tenant_id=tenant_id)
    plugged = {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}
    async with (
        await WireStation.connect(server.ws, "CP-E") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        await station.ok("StatusNotification", plugged)
        answer = await api.post(
            "/api/v1/sessions", json={"station_id": "CP-E", "evse_id": 1}, headers=driver.headers
        )
    assert answer.status_code == 402, answer.text
    assert answer.json()["outcome"] == "payment_required" and "Top up" in answer.json()["message"]


async def test_a_session_the_wallet_cannot_pay_for_is_stopped(server: LiveServer) -> None:
    system = server.system
    tenant_id = await priced_site(system, "EMU-W")
    driver = await a_driver(system, tenant_id=tenant_id)
    token = await app_token(system, driver.user_id)
    await credit(system, driver.user_id, tenant_id, Decimal(15))
    emulated = Station(StationSpec("EMU-W", "1.6", evse_count=1, meter_interval_s=3600), server.ws)
    assert await emulated.connect() == "Accepted"
    await emulated.start_transaction(1, token)
    await emulated.send_meter_values(1, seconds=1800)  # 11 kWh at 22 kW: 11.00 of 15.00 left

    async def ended() -> TransactionRow | None:
        async with system.sessions() as session:
            tx = (await session.execute(select(TransactionRow))).scalars().one()
        return tx if tx.state == "Ended" else None

    await emulated.send_meter_values(1, seconds=1800)  # 22.00: more than the wallet holds
    tx = await until(ended, "the stop")
    async with system.sessions() as session:
        query = select(AuditRow).where(col(AuditRow.subject) == f"transaction:{tx.id}")
        stopped = (await session.execute(query)).scalars().one()
    assert stopped.actor == "wallet" and stopped.details["reason"] == "wallet balance exhausted"
    await emulated.close()


async def test_a_post_paid_account_charges_with_an_empty_wallet_and_owes_it(server: LiveServer) -> None:
    system = server.system
    tenant_id = await priced_site(system, "CP-F")
    driver = await a_driver(system, tenant_id=tenant_id)
    async with system.sessions() as session:
        user = await session.get(UserRow, driver.user_id)
        assert user is not None
        user.postpaid = True
        await session.commit()
    token = await app_token(system, driver.user_id)
    plugged = {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}
    start = datetime.now(UTC) - timedelta(hours=1)
    async with await WireStation.connect(server.ws, "CP-F") as station:
        await station.ok("BootNotification", boot16())
        await station.ok("StatusNotification", plugged)
        refusal = await system.wallets.refusal(
            DriverRef(driver.user_id, tenant_id, token, frozenset({token})), "CP-F"
        )
        assert refusal is None  # a fleet account needs no balance
        started = {"connectorId": 1, "idTag": token, "meterStart": 0, "timestamp": start.isoformat()}
        tx_id = int((await station.ok("StartTransaction", started))["transactionId"])
        stop = {"transactionId": tx_id, "meterStop": 5_000, "timestamp": datetime.now(UTC).isoformat()}
        await station.ok("StopTransaction", stop)

    async def owed() -> Decimal | None:
        left = await balance(system, model.wallet(driver.user_id, EUR))
        return left if left < 0 else None

    assert await until(owed, "the debt") == Decimal("-5.00")
    async with system.sessions() as session:
        assert await session.get(WalletHoldRow, tx_id) is None  # nothing was held


async def test_a_site_with_its_own_share_splits_its_sessions_by_it(server: LiveServer) -> None:
    system = server.system
    tenant_id = await priced_site(system, "CP-S")
    driver = await a_driver(system, tenant_id=tenant_id)
    token = await app_token(system, driver.user_id)
    await credit(system, driver.user_id, tenant_id, Decimal(100))
    async with system.sessions() as session:
        query = select(StationRow.site_id).where(col(StationRow.id) == "CP-S")
        site_id = (await session.execute(query)).scalar_one()
    share = f"/api/v1/operator/sites/{site_id}/revenue-share"
    async with httpx.AsyncClient(base_url=server.http) as api:
        server_wide = {"site_id": site_id, "platform_fee_rate": "0.05", "own_rate": False}
        assert (await api.get(share)).json() == server_wide
        assert (await api.put(share, json={"platform_fee_rate": "1.5"})).status_code == 422
        elsewhere = await api.put(
            "/api/v1/operator/sites/9999/revenue-share", json={"platform_fee_rate": "0.1"}
        )
        assert elsewhere.status_code == 404
        made = await api.put(share, json={"platform_fee_rate": "0.1"})
        assert made.json() == {"site_id": site_id, "platform_fee_rate": "0.1", "own_rate": True}
    start = datetime.now(UTC) - timedelta(hours=1)
    async with await WireStation.connect(server.ws, "CP-S") as station:
        await station.ok("BootNotification", boot16())
        started = {"connectorId": 1, "idTag": token, "meterStart": 0, "timestamp": start.isoformat()}
        tx_id = int((await station.ok("StartTransaction", started))["transactionId"])
        stop = {"transactionId": tx_id, "meterStop": 12_000, "timestamp": datetime.now(UTC).isoformat()}
        await station.ok("StopTransaction", stop)

    async def fee() -> Decimal | None:
        taken = await balance(system, model.platform_fees(EUR))
        return taken if taken else None

    assert await until(fee, "the settlement") == Decimal("1.20")  # 10 % of 12.00
    assert await balance(system, model.revenue(tenant_id, EUR)) == Decimal("10.80")
