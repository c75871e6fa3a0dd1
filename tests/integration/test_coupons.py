"""Coupons: a flash campaign never oversells, a coupon pays for one session once, the per-user
limit holds under concurrent claims, and the expiry and reminder jobs run once per coupon."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import col, select

from chargepoints.tables import TransactionRow
from csms.accounts.model import Role
from csms.accounts.tables import AuthSessionRow, UserRow
from csms.accounts.tokens import AccessClaims, issue_access, token_hash
from csms.app import create_app
from csms.audit import AuditRow
from csms.billing import coupon_jobs, coupons
from csms.billing.coupon_rules import CouponKind
from csms.billing.tables import CouponRow
from csms.bootstrap import System
from csms.runtime import uvicorn_options
from tests.accounts import Driver, a_driver, a_tenant
from tests.builders import a_station
from tests.fakes import FakeClock
from web.api import coupons as coupon_api

ME = "/api/v1/me/coupons"
TEMPLATES = "/api/v1/operator/coupon-templates"
_phones = itertools.count(13_900_000_000)
_tx = itertools.count(1)
# Requests racing at once. More only queue inside httpcore, whose pool rescans its queue per
# request (quadratic): the test would time the client, not the server.
IN_FLIGHT = 50


@asynccontextmanager
async def serve(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on a socket, with the coupon routers (until app.py includes them)."""
    app = create_app(system.settings, system=system)
    paths = {getattr(route, "path", "") for route in app.routes}
    if ME not in paths:
        app.include_router(coupon_api.driver)
        app.include_router(coupon_api.operator)
    options = {**uvicorn_options(system.settings), "port": 0, "lifespan": "off", "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, **options))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def api(system: System) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(system) as client:
        yield client


async def many_drivers(system: System, tenant_id: int, n: int) -> list[Driver]:
    """``n`` logged-in drivers written straight to the database (no password hashing)."""
    now = system.clock.now()
    async with system.sessions() as session:
        users = [
            UserRow(
                tenant_id=tenant_id,
                role=Role.DRIVER.value,
                phone=f"+86{next(_phones)}",
                invitation_code=f"C{tenant_id}X{i}",
                created_at=now,
            )
            for i in range(n)
        ]
        session.add_all(users)
        await session.flush()
        logins = [
            AuthSessionRow(
                user_id=user.id or 0,
                refresh_hash=token_hash(f"r-{user.id}"),
                expires_at=now + timedelta(days=1),
                created_at=now,
                last_used_at=now,
            )
            for user in users
        ]
        session.add_all(logins)
        await session.commit()
    drivers = []
    for user, login in zip(users, logins, strict=True):
        assert user.id is not None and login.id is not None
        claims = AccessClaims(user.id, tenant_id, Role.DRIVER, login.id, 0)
        drivers.append(Driver(user.id, tenant_id, issue_access(claims, system.auth.secret_key, now), ""))
    return drivers


async def a_template(api: httpx.AsyncClient, tenant_id: int, **fields: Any) -> dict[str, Any]:
    body = {"tenant_id": tenant_id, "name": "Flash", "kind": "amount_off", "value": "5", **fields}
    created = await api.post(TEMPLATES, json=body)
    assert created.status_code == 201, created.text
    template: dict[str, Any] = created.json()
    return template


async def a_transaction(system: System, station_id: str) -> int:
    now = system.clock.now()
    async with system.sessions() as session:
        row = TransactionRow(
            station_id=station_id, station_tx_id=f"c-{next(_tx)}", started_at=now, updated_at=now
        )
        session.add(row)
        await session.commit()
        assert row.id is not None
        return row.id


async def test_a_flash_campaign_never_oversells(system: System, api: httpx.AsyncClient) -> None:
    tenant_id = await a_tenant(system)
    template = await a_template(api, tenant_id, stock=50)
    drivers = await many_drivers(system, tenant_id, 200)
    in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def claim(driver: Driver) -> httpx.Response:
        async with in_flight:
            return await api.post(f"{ME}/claim", json={"template_id": template["id"]}, headers=driver.headers)

    answers = await asyncio.gather(*(claim(driver) for driver in drivers))

    won = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 409]
    assert (len(won), len(refused)) == (50, 150)
    assert {a.json()["detail"] for a in refused} == {"Sold out"}
    assert sorted(a.json()["serial"] for a in won) == list(range(1, 51))
    async with system.sessions() as session:
        rows = (await session.execute(select(CouponRow))).scalars().all()
    assert sorted(row.serial for row in rows) == list(range(1, 51))
    assert len({row.user_id for row in rows}) == 50
    detail = (await api.get(f"{TEMPLATES}/{template['id']}")).json()
    assert (detail["issued"], detail["stock"], detail["used"]) == (50, 50, 0)


async def test_the_per_user_limit_holds_even_for_concurrent_claims(
    system: System, api: httpx.AsyncClient
) -> None:
    tenant_id = await a_tenant(system)
    one = await a_template(api, tenant_id)
    two = await a_template(api, tenant_id, per_user_limit=2)
    driver = (await many_drivers(system, tenant_id, 1))[0]

    async def claim(template: dict[str, Any]) -> httpx.Response:
        return await api.post(f"{ME}/claim", json={"template_id": template["id"]}, headers=driver.headers)

    answers = await asyncio.gather(*(claim(one) for _ in range(10)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 9
    assert "already hold 1" in next(a.json()["detail"] for a in answers if a.status_code == 409)
    assert [(await claim(two)).status_code for _ in range(3)] == [201, 201, 409]
    assert (await api.get(f"{TEMPLATES}/{one['id']}")).json()["issued"] == 1  # refusals undo the count
    assert (await api.get(f"{TEMPLATES}/{two['id']}")).json()["issued"] == 2


async def test_unknown_and_other_tenants_templates_are_not_found(
    system: System, api: httpx.AsyncClient
) -> None:
    mine, theirs = await a_tenant(system), await a_tenant(system)
    template = await a_template(api, theirs)
    driver = (await many_drivers(system, mine, 1))[0]
    for template_id in (template["id"], 999_999):
        answer = await api.post(f"{ME}/claim", json={"template_id": template_id}, headers=driver.headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
    issued = await api.post(f"{TEMPLATES}/{template['id']}/issue", json={"user_id": driver.user_id})
    assert issued.status_code == 404
    assert (await api.post(f"{ME}/claim", json={"template_id": template["id"]})).status_code == 401


async def test_operators_issue_and_drivers_see_their_coupons(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    template = await a_template(
        api, driver.tenant_id, kind="percent_off", value="20", cap="8", valid_days=7, per_user_limit=1
    )
    assert (template["value"], template["cap"], template["currency"]) == ("20", "8.00", "CNY")
    for _ in range(2):  # the per-user limit bounds claims, not what an operator gives
        issued = await api.post(f"{TEMPLATES}/{template['id']}/issue", json={"user_id": driver.user_id})
        assert issued.status_code == 201, issued.text
    coupon = issued.json()
    assert (coupon["source"], coupon["status"], coupon["name"]) == ("direct", "Available", "Flash")
    assert coupon["expires_at"] is not None

    mine = (await api.get(ME, headers=driver.headers)).json()
    assert [c["serial"] for c in mine] == [2, 1]
    assert (await api.get(ME, params={"status": "Used"}, headers=driver.headers)).json() == []
    assert (await api.get(ME, params={"status": "Nope"}, headers=driver.headers)).status_code == 422
    async with system.sessions() as session:
        actions = (await session.execute(select(AuditRow.action).order_by(col(AuditRow.id)))).scalars().all()
    assert actions.count("coupon.issue") == 2 and "coupon_template.create" in actions

    listed = (await api.get(TEMPLATES, params={"tenant_id": driver.tenant_id})).json()
    assert [t["id"] for t in listed["items"]] == [template["id"]]
    lowered = await api.patch(f"{TEMPLATES}/{template['id']}", json={"stock": 1})
    assert lowered.status_code == 409
    raised = await api.patch(f"{TEMPLATES}/{template['id']}", json={"stock": 5, "name": "Spring"})
    assert (raised.json()["stock"], raised.json()["name"]) == (5, "Spring")
    bad = await api.post(
        TEMPLATES, json={"tenant_id": driver.tenant_id, "name": "x", "kind": "percent_off", "value": "150"}
    )
    assert bad.status_code == 422


async def test_a_coupon_pays_for_one_session_once(system: System, api: httpx.AsyncClient) -> None:
    driver = await a_driver(system)
    await a_station(system, "CP-1")
    template = await a_template(api, driver.tenant_id, value="5")
    held = await coupons.issue(
        template["id"], driver.user_id, "direct", "test", uow=system.uow(), clock=system.clock
    )
    coupon_id = held.coupon.id
    assert coupon_id is not None
    first, second = await a_transaction(system, "CP-1"), await a_transaction(system, "CP-1")
    now = system.clock.now()

    async def settle(transaction_id: int) -> bool:
        async with system.sessions() as session:
            won = await coupons.redeem(session, coupon_id, transaction_id, Decimal(5), now)
            await session.commit()
            return won

    outcomes = await asyncio.gather(settle(first), settle(second))
    assert sorted(outcomes) == [False, True]
    winner = first if outcomes[0] else second
    assert await settle(winner)  # a retried settlement finds it already applied
    other = await coupons.issue(
        template["id"], driver.user_id, "direct", "test", uow=system.uow(), clock=system.clock
    )
    assert other.coupon.id is not None
    assert not await settle_with(system, other.coupon.id, winner)  # one coupon per session

    detail = (await api.get(f"{TEMPLATES}/{template['id']}")).json()
    assert (detail["issued"], detail["used"], detail["discounted"]) == (2, 1, "5.00")
    used = (await api.get(ME, params={"status": "Used"}, headers=driver.headers)).json()
    assert [(c["id"], c["transaction_id"], c["discount"]) for c in used] == [(coupon_id, winner, "5.00")]


async def settle_with(system: System, coupon_id: int, transaction_id: int) -> bool:
    async with system.sessions() as session:
        won = await coupons.redeem(session, coupon_id, transaction_id, Decimal(1), system.clock.now())
        await session.commit()
        return won


async def test_best_for_picks_the_largest_usable_discount(system: System) -> None:
    tenant_id = await a_tenant(system)
    driver = (await many_drivers(system, tenant_id, 1))[0]
    specs = [
        coupons.NewTemplate(tenant_id, "5 off", CouponKind.AMOUNT_OFF, Decimal(5)),
        coupons.NewTemplate(tenant_id, "20 %", CouponKind.PERCENT_OFF, Decimal(20), cap=Decimal(7)),
        coupons.NewTemplate(tenant_id, "elsewhere", CouponKind.AMOUNT_OFF, Decimal(9), station_ids=("CP-9",)),
    ]
    for spec in specs:
        template = await coupons.create_template(spec, "test", uow=system.uow(), clock=system.clock)
        assert template.id is not None
        await coupons.issue(
            template.id, driver.user_id, "points", "test", uow=system.uow(), clock=system.clock
        )
    now = system.clock.now()
    async with system.sessions() as session:
        cheap = await coupons.best_for(session, driver.user_id, Decimal("20.00"), Decimal(0), "CP-1", now)
        dear = await coupons.best_for(session, driver.user_id, Decimal("100.00"), Decimal(0), "CP-1", now)
        nothing = await coupons.best_for(session, driver.user_id, Decimal(0), Decimal(0), "CP-1", now)
    assert cheap is not None and dear is not None and nothing is None
    assert (cheap[0].template_id, cheap[1]) == (cheap[0].template_id, Decimal("5.00"))
    assert dear[1] == Decimal("7.00") and dear[0].template_id != cheap[0].template_id


async def test_jobs_remind_once_then_expire(system: System) -> None:
    tenant_id = await a_tenant(system)
    driver = (await many_drivers(system, tenant_id, 1))[0]
    spec = coupons.NewTemplate(tenant_id, "Week", CouponKind.AMOUNT_OFF, Decimal(5), valid_days=7)
    template = await coupons.create_template(spec, "test", uow=system.uow(), clock=system.clock)
    assert template.id is not None
    start = system.clock.now()
    await coupons.issue(
        template.id, driver.user_id, "invitation", "test", uow=system.uow(), clock=FakeClock(start)
    )
    sent: list[tuple[int, str]] = []

    async def notify(user_id: int, text: str) -> None:
        sent.append((user_id, text))

    async def run(**later: float) -> tuple[int, int]:
        clock = FakeClock(start + timedelta(**later))
        reminded = await coupon_jobs.remind(uow=system.uow(), clock=clock, notify=notify)
        return reminded, await coupon_jobs.expire(uow=system.uow(), clock=clock)

    assert await run(days=3) == (0, 0)  # four days left: too early
    assert await run(days=4, seconds=1) == (1, 0)
    assert sent == [(driver.user_id, sent[0][1])] and "Week" in sent[0][1]
    assert await run(days=5) == (0, 0)  # reminded once only
    assert await run(days=7) == (0, 1)
    assert await run(days=8) == (0, 0)
    async with system.sessions() as session:
        status = await session.scalar(select(CouponRow.status))
    assert status == "Expired"
