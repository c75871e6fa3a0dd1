"""What a tenant owns: its sites, the stations at them, and what happened at those stations.

A station belongs to the tenant of its site; a station without a site belongs to no tenant and
only administrators, whose scope is None (every tenant), see it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from chargepoints.tables import SiteRow, StationRow


def tenant_station_ids(tenant_id: int) -> SelectOfScalar[str]:
    """The ids of the tenant's stations, as a subquery to filter with."""
    return (
        select(StationRow.id)
        .join(SiteRow, col(SiteRow.id) == col(StationRow.site_id))
        .where(col(SiteRow.tenant_id) == tenant_id)
    )


def station_filter(station_column: Any, tenant_id: int | None) -> list[ColumnElement[bool]]:
    """Conditions keeping rows whose station column names one of the tenant's stations."""
    return [] if tenant_id is None else [col(station_column).in_(tenant_station_ids(tenant_id))]


async def station_in_scope(session: AsyncSession, station_id: str, tenant_id: int | None) -> bool:
    query = select(StationRow.id).where(
        col(StationRow.id) == station_id, *station_filter(StationRow.id, tenant_id)
    )
    return (await session.execute(query)).first() is not None


async def site_in_scope(session: AsyncSession, site_id: int, tenant_id: int | None) -> bool:
    query = select(SiteRow.id).where(col(SiteRow.id) == site_id)
    if tenant_id is not None:
        query = query.where(col(SiteRow.tenant_id) == tenant_id)
    return (await session.execute(query)).first() is not None


async def sites(session: AsyncSession, tenant_id: int | None) -> list[SiteRow]:
    """The sites in scope, by name."""
    query = select(SiteRow).order_by(col(SiteRow.name))
    if tenant_id is not None:
        query = query.where(col(SiteRow.tenant_id) == tenant_id)
    return list((await session.execute(query)).scalars())


async def station_ids(session: AsyncSession, tenant_id: int | None) -> list[str]:
    """The ids of the stations in scope, sorted."""
    query = (
        select(StationRow.id).where(*station_filter(StationRow.id, tenant_id)).order_by(col(StationRow.id))
    )
    return list((await session.execute(query)).scalars())
