"""A site's grid connection as operators set it and building meters feed it, and what load
management made of it over time.

Setting or removing the limit is audited; a building meter's feed is not (it may arrive every
few seconds) but each value shows in the site's history. Every change is published as
`SiteLoadChanged`, and load management shares the site out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints import events
from chargepoints.errors import ChargingError
from chargepoints.load_tables import AllocationRow, SiteLoadRow, SiteLoadSampleRow
from chargepoints.ports import Clock, EventPublisher
from chargepoints.repository import UnitOfWork
from chargepoints.tables import SiteRow
from csms import audit


class SiteNotFound(ChargingError):
    pass


class NoSiteLimit(ChargingError):
    """The site has no load limit to feed."""


@dataclass(frozen=True, slots=True)
class LoadSettings:
    max_import: Decimal
    unit: str = "A"  # "A" per phase, or "W"
    min_current_a: Decimal = Decimal(6)
    enabled: bool = True


async def configure(
    site_id: int,
    wanted: LoadSettings,
    actor: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    publisher: EventPublisher,
) -> SiteLoadRow:
    now = clock.now()
    async with uow:
        await _site(uow.session, site_id)
        row = await uow.session.get(SiteLoadRow, site_id)
        if row is None:
            row = SiteLoadRow(site_id=site_id, max_import=wanted.max_import, updated_at=now)
            uow.session.add(row)
        if row.unit != wanted.unit:
            row.dynamic_limit = row.dynamic_until = None  # a feed in the old unit means nothing now
        row.unit, row.max_import, row.min_current_a = wanted.unit, wanted.max_import, wanted.min_current_a
        row.enabled, row.updated_at = wanted.enabled, now
        details = {
            "max_import": str(wanted.max_import),
            "unit": wanted.unit,
            "min_current_a": str(wanted.min_current_a),
            "enabled": wanted.enabled,
        }
        audit.record(
            uow.session,
            actor=actor,
            action="site.load.set",
            subject=f"site:{site_id}",
            details=details,
            at=now,
        )
        uow.events.append(events.SiteLoadChanged("", site_id))
        await uow.commit(publisher)
    return row


async def remove(
    site_id: int, actor: str, *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> None:
    """Stop managing the site. Profiles already sent stay until their sessions end."""
    now = clock.now()
    async with uow:
        row = await uow.session.get(SiteLoadRow, site_id)
        if row is None:
            raise NoSiteLimit(f"Site {site_id} has no load limit")
        await uow.session.delete(row)
        audit.record(
            uow.session, actor=actor, action="site.load.remove", subject=f"site:{site_id}", details={}, at=now
        )
        uow.events.append(events.SiteLoadChanged("", site_id))
        await uow.commit(publisher)


async def feed(
    site_id: int,
    limit: Decimal,
    valid_for: timedelta,
    *,
    uow: UnitOfWork,
    clock: Clock,
    publisher: EventPublisher,
) -> SiteLoadRow:
    """Take the limit a building meter allows now, in the site's unit, for `valid_for`."""
    now = clock.now()
    async with uow:
        row = await uow.session.get(SiteLoadRow, site_id)
        if row is None:
            raise NoSiteLimit(f"Site {site_id} has no load limit; set one before feeding it")
        row.dynamic_limit, row.dynamic_until, row.updated_at = limit, now + valid_for, now
        uow.events.append(events.SiteLoadChanged("", site_id))
        await uow.commit(publisher)
    return row


def effective_limit(row: SiteLoadRow, now: datetime) -> Decimal:
    """The fixed maximum, or the meter-fed limit while it is fresh and lower."""
    if row.dynamic_limit is not None and row.dynamic_until is not None and now < row.dynamic_until:
        return min(row.max_import, row.dynamic_limit)
    return row.max_import


async def settings_of(session: AsyncSession, site_id: int) -> SiteLoadRow | None:
    await _site(session, site_id)
    return await session.get(SiteLoadRow, site_id)


async def allocations(session: AsyncSession, site_id: int) -> list[AllocationRow]:
    query = select(AllocationRow).where(col(AllocationRow.site_id) == site_id)
    return list((await session.execute(query.order_by(col(AllocationRow.transaction_id)))).scalars())


async def history(
    session: AsyncSession, site_id: int, since: datetime, until: datetime, limit: int
) -> list[SiteLoadSampleRow]:
    """The site's samples in [since, until), oldest first, at most `limit` of the latest."""
    await _site(session, site_id)
    query = (
        select(SiteLoadSampleRow)
        .where(
            col(SiteLoadSampleRow.site_id) == site_id,
            col(SiteLoadSampleRow.at) >= since,
            col(SiteLoadSampleRow.at) < until,
        )
        .order_by(col(SiteLoadSampleRow.at).desc())
        .limit(limit)
    )
    return list(reversed(list((await session.execute(query)).scalars())))


async def _site(session: AsyncSession, site_id: int) -> SiteRow:
    site = await session.get(SiteRow, site_id)
    if site is None:
        raise SiteNotFound(f"Site {site_id} not found")
    return site
