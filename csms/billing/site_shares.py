"""A site's own split of its sessions' money: the platform's share, when an investor's site has
a deal of its own. Changes are audited; settlements read the rate in force when they post."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.tables import SiteRow
from csms import audit
from csms.billing.errors import NotFound


async def set_platform_rate(
    site_id: int, rate: Decimal | None, actor: str, *, uow: UnitOfWork, clock: Clock
) -> SiteRow:
    """Set the site's platform fee rate (a fraction); None returns it to the server-wide rate."""
    async with uow:
        site = await _site(uow.session, site_id)
        before = site.platform_fee_rate
        site.platform_fee_rate = rate
        details = {"from": None if before is None else str(before), "to": None if rate is None else str(rate)}
        audit.record(
            uow.session,
            actor=actor,
            action="site.platform_fee_rate",
            subject=f"site:{site_id}",
            details=details,
            at=clock.now(),
        )
        await uow.commit()
    return site


async def site(session: AsyncSession, site_id: int) -> SiteRow:
    return await _site(session, site_id)


async def _site(session: AsyncSession, site_id: int) -> SiteRow:
    found = await session.get(SiteRow, site_id)
    if found is None:
        raise NotFound(f"Site {site_id} not found")
    return found
