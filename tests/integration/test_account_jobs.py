"""Expired logins and old SMS codes are purged; live ones stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from csms.accounts.jobs import purge_expired
from csms.accounts.tables import AuthSessionRow, SmsCodeRow
from csms.bootstrap import System
from tests.accounts import a_driver, a_tenant
from tests.fakes import FakeClock


async def count(system: System, table: type[AuthSessionRow] | type[SmsCodeRow]) -> int:
    async with system.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_purge_keeps_live_logins_and_drops_expired_ones(system: System) -> None:
    tenant_id = await a_tenant(system)
    await a_driver(system, tenant_id=tenant_id)
    now = system.clock.now()
    async with system.sessions() as session:
        session.add(
            SmsCodeRow(
                tenant_id=tenant_id,
                phone="+8613800000009",
                purpose="login",
                code_hash="0" * 64,
                expires_at=now + timedelta(minutes=5),
                created_at=now,
            )
        )
        await session.commit()

    assert await purge_expired(uow=system.uow(), clock=FakeClock(now + timedelta(hours=1))) == 0
    assert (await count(system, AuthSessionRow), await count(system, SmsCodeRow)) == (1, 1)

    assert await purge_expired(uow=system.uow(), clock=FakeClock(now + timedelta(days=31))) == 2
    assert (await count(system, AuthSessionRow), await count(system, SmsCodeRow)) == (0, 0)
