"""Points: one sign-in a day, redeeming never overspends (even racing), a settlement awards its
points once, and an invitation rewards both sides once, on the first paid session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from csms.accounts.tables import UserRow
from csms.audit import AuditRow
from csms.billing import points, rewards
from csms.billing.tables import CouponRow, CouponTemplateRow, PointsEntryRow
from csms.bootstrap import System
from tests.accounts import Driver, a_driver
from tests.conftest import LiveServer
from tests.fakes import FakeClock

POINTS = "/api/v1/me/points"


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http, timeout=60) as client:
        yield client


async def give(system: System, user_id: int, amount: int, key: str) -> None:
    async with system.sessions() as session:
        await points.earn(session, user_id, key, amount, "sign_in", system.clock.now())
        await session.commit()


async def entries(system: System, user_id: int) -> list[tuple[str, int]]:
    async with system.sessions() as session:
        query = (
            select(PointsEntryRow)
            .where(col(PointsEntryRow.user_id) == user_id)
            .order_by(col(PointsEntryRow.id))
        )
        return [(row.key, row.points) for row in (await session.execute(query)).scalars()]


async def a_points_template(system: System, tenant_id: int, price: int, **fields: Any) -> int:
    """A coupon template sold for points (the operator API cannot set ``points_price`` yet)."""
    async with system.sessions() as session:
        row = CouponTemplateRow(
            tenant_id=tenant_id,
            name="5 off",
            kind="amount_off",
            value=Decimal(5),
            currency="CNY",
            points_price=price,
            created_at=system.clock.now(),
            **fields,
        )
        session.add(row)
        await session.commit()
        assert row.id is not None
        return row.id


async def test_signing_in_twice_a_day_earns_once(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    first = await api.post(f"{POINTS}/sign-in", headers=driver.headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"earned": 5, "balance": 5}
    again = await api.post(f"{POINTS}/sign-in", headers=driver.headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    day = system.clock.now().date().isoformat()
    assert await entries(system, driver.user_id) == [(f"sign_in:{driver.user_id}:{day}", 5)]
    shown = (await api.get(POINTS, headers=driver.headers)).json()
    assert shown["balance"] == 5 and shown["total"] == 1
    assert [item["reason"] for item in shown["items"]] == ["sign_in"]


async def test_signing_in_the_next_utc_day_earns_again(system: System) -> None:
    driver = await a_driver(system)
    clock = FakeClock()
    async with system.sessions() as session:
        assert await points.sign_in(session, driver.user_id, 5, clock.now()) == 5
        clock.advance(hours=12)  # noon to midnight: the next UTC day
        assert await points.sign_in(session, driver.user_id, 5, clock.now()) == 5
        await session.commit()
    assert await points_balance(system, driver.user_id) == 10


async def points_balance(system: System, user_id: int) -> int:
    async with system.sessions() as session:
        return await points.balance(session, user_id)


async def test_redeeming_with_too_few_points_is_refused(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    template_id = await a_points_template(system, driver.tenant_id, price=100)
    await give(system, driver.user_id, 99, "gift:1")
    refused = await api.post(f"{POINTS}/redeem", json={"template_id": template_id}, headers=driver.headers)
    assert refused.status_code == 409, refused.text
    assert "99" in refused.json()["detail"]
    await give(system, driver.user_id, 1, "gift:2")
    bought = await api.post(
        f"{POINTS}/redeem",
        json={"template_id": template_id},
        headers=driver.headers | {"Idempotency-Key": "redeem-1"},
    )
    assert bought.status_code == 201, bought.text
    assert bought.json()["points_spent"] == 100 and bought.json()["balance"] == 0
    replayed = await api.post(
        f"{POINTS}/redeem",
        json={"template_id": template_id},
        headers=driver.headers | {"Idempotency-Key": "redeem-1"},
    )
    assert replayed.status_code == 201 and replayed.json() == bought.json()
    async with system.sessions() as session:
        coupon = (await session.execute(select(CouponRow))).scalar_one()
        audited = (
            await session.execute(select(AuditRow).where(col(AuditRow.action) == "coupon.issue"))
        ).scalars()
        assert [row.subject for row in audited] == [f"coupon:{coupon.id}"]
    assert coupon.source == "points" and coupon.user_id == driver.user_id
    assert await points_balance(system, driver.user_id) == 0


async def test_a_template_not_for_points_or_of_another_tenant_is_refused(
    system: System, api: httpx.AsyncClient
) -> None:
    driver = await a_driver(system)
    other = await a_driver(system, phone="+8613800000002")
    await give(system, driver.user_id, 1000, "gift:1")
    not_for_points = await a_points_template(system, driver.tenant_id, price=1)
    async with system.sessions() as session:
        template = await session.get(CouponTemplateRow, not_for_points)
        assert template is not None
        template.points_price = None
        await session.commit()
    foreign = await a_points_template(system, other.tenant_id, price=1)
    answers = [
        await api.post(f"{POINTS}/redeem", json={"template_id": t}, headers=driver.headers)
        for t in (not_for_points, foreign, 999_999)
    ]
    assert [a.status_code for a in answers] == [409, 404, 404]
    assert await points_balance(system, driver.user_id) == 1000


async def test_concurrent_redeems_cannot_overspend(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    template_id = await a_points_template(system, driver.tenant_id, price=100)
    await give(system, driver.user_id, 150, "gift:1")  # enough for one coupon, not two

    async def redeem(n: int) -> httpx.Response:
        headers = driver.headers | {"Idempotency-Key": f"race-{n}"}
        return await api.post(f"{POINTS}/redeem", json={"template_id": template_id}, headers=headers)

    answers = await asyncio.gather(*(redeem(n) for n in range(8)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7, [a.text for a in answers]
    async with system.sessions() as session:
        assert len((await session.execute(select(CouponRow))).scalars().all()) == 1
    assert await points_balance(system, driver.user_id) == 50


async def settle(
    system: System, user_id: int, tx: int, energy_wh: int, paid: str, *, invitation: int = 100
) -> None:
    async with system.sessions() as session:
        await rewards.after_settlement(
            session,
            user_id=user_id,
            transaction_id=tx,
            energy_wh=energy_wh,
            paid=Decimal(paid),
            currency="CNY",
            now=system.clock.now(),
            per_kwh=2,
            per_unit=1,
            invitation=invitation,
        )
        await session.commit()


async def test_a_settlement_awards_its_points_once(system: System) -> None:
    driver = await a_driver(system)
    await settle(system, driver.user_id, 7, energy_wh=12_600, paid="30.75")
    await settle(system, driver.user_id, 7, energy_wh=12_600, paid="30.75")
    assert await entries(system, driver.user_id) == [("kwh:7", 25), ("spend:7", 30)]
    await settle(system, driver.user_id, 8, energy_wh=400, paid="0.50")  # nothing whole to award
    assert await points_balance(system, driver.user_id) == 55


async def test_an_invitation_rewards_both_sides_once_after_the_first_paid_session(system: System) -> None:
    inviter = await a_driver(system)
    invitee: Driver = await a_driver(system, tenant_id=inviter.tenant_id, phone="+8613800000002")
    async with system.sessions() as session:
        user = await session.get(UserRow, invitee.user_id)
        assert user is not None
        user.invited_by = inviter.user_id
        await session.commit()

    await settle(system, invitee.user_id, 1, energy_wh=3_000, paid="0")  # free: no reward yet
    assert await points_balance(system, inviter.user_id) == 0
    await settle(system, invitee.user_id, 2, energy_wh=0, paid="12")
    await settle(system, invitee.user_id, 3, energy_wh=0, paid="12")
    assert await entries(system, inviter.user_id) == [(f"inviter:{invitee.user_id}", 100)]
    assert (f"invited:{invitee.user_id}", 100) in await entries(system, invitee.user_id)
    assert await points_balance(system, invitee.user_id) == 6 + 12 + 12 + 100


async def test_the_points_history_pages_newest_first(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    for n in range(5):
        await give(system, driver.user_id, n + 1, f"gift:{n}")
    page = (await api.get(POINTS, params={"limit": 2, "offset": 1}, headers=driver.headers)).json()
    assert page["balance"] == 15 and page["total"] == 5
    assert [item["points"] for item in page["items"]] == [4, 3]
