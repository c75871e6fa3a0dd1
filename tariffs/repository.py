"""Persistence of tenants' tariffs, their immutable versions and where they apply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Integer, String, column, false, func, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from csms import audit
from csms.accounts.tables import TenantRow
from tariffs.codec import tariff_from_json
from tariffs.model import Tariff
from tariffs.tables import TariffAssignmentRow, TariffRow, TariffVersionRow

# The charging domain's tables, named rather than imported: tariffs never import chargepoints.
_stations = table("stations", column("id", String), column("site_id", Integer))
_sites = table("sites", column("id", Integer), column("time_zone", String))

_CACHE_SIZE = 4096
_decoded: WeakKeyDictionary[Engine, dict[int, DecodedVersion]] = WeakKeyDictionary()
"""Versions never change once written, so decoding one is worth keeping; per engine (database)."""


@dataclass(frozen=True, slots=True)
class DecodedVersion:
    tariff_id: int
    tariff: Tariff


@dataclass(frozen=True, slots=True)
class Candidate:
    """An assignment that may apply to a station, with its tariff's version in force (if any)."""

    assignment: TariffAssignmentRow
    version_id: int | None


class TariffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def delete(self, row: object) -> None:
        await self.session.delete(row)

    async def flush(self) -> None:
        await self.session.flush()

    def audit(self, at: datetime, actor: str, action: str, subject: str, **details: Any) -> None:
        """Record an operator's change in the audit log, in this transaction."""
        audit.record(self.session, actor=actor, action=action, subject=subject, details=details, at=at)

    async def tenant(self, tenant_id: int) -> TenantRow | None:
        return await self.session.get(TenantRow, tenant_id)

    async def tenant_named(self, name: str) -> TenantRow | None:
        query = select(TenantRow).where(col(TenantRow.name) == name)
        return (await self.session.execute(query)).scalars().first()

    async def tenants(self, *, limit: int, offset: int) -> tuple[list[TenantRow], int]:
        total = await self.session.scalar(select(func.count()).select_from(TenantRow))
        query = select(TenantRow).order_by(col(TenantRow.id)).limit(limit).offset(offset)
        return list((await self.session.execute(query)).scalars()), int(total or 0)

    async def tariff(self, tariff_id: int) -> TariffRow | None:
        return await self.session.get(TariffRow, tariff_id)

    async def tariff_named(self, tenant_id: int, name: str) -> TariffRow | None:
        query = select(TariffRow).where(col(TariffRow.tenant_id) == tenant_id, col(TariffRow.name) == name)
        return (await self.session.execute(query)).scalars().first()

    async def tariffs(self, *, tenant_id: int | None, limit: int, offset: int) -> tuple[list[TariffRow], int]:
        query = select(TariffRow)
        if tenant_id is not None:
            query = query.where(col(TariffRow.tenant_id) == tenant_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        page = query.order_by(col(TariffRow.id)).limit(limit).offset(offset)
        return list((await self.session.execute(page)).scalars()), int(total or 0)

    async def versions(self, tariff_id: int) -> list[TariffVersionRow]:
        query = select(TariffVersionRow).where(col(TariffVersionRow.tariff_id) == tariff_id)
        return list((await self.session.execute(query.order_by(col(TariffVersionRow.version)))).scalars())

    async def latest_version(self, tariff_id: int) -> TariffVersionRow | None:
        query = select(TariffVersionRow).where(col(TariffVersionRow.tariff_id) == tariff_id)
        query = query.order_by(col(TariffVersionRow.version).desc()).limit(1)
        return (await self.session.execute(query)).scalars().first()

    async def version_numbered(self, tariff_id: int, number: int) -> TariffVersionRow | None:
        query = select(TariffVersionRow).where(
            col(TariffVersionRow.tariff_id) == tariff_id, col(TariffVersionRow.version) == number
        )
        return (await self.session.execute(query)).scalars().first()

    async def version_in_force(self, tariff_id: int, at: datetime) -> TariffVersionRow | None:
        """The version with the greatest `valid_from` not after `at` (the later one on a tie)."""
        query = select(TariffVersionRow).where(
            col(TariffVersionRow.tariff_id) == tariff_id, col(TariffVersionRow.valid_from) <= at
        )
        query = query.order_by(col(TariffVersionRow.valid_from).desc(), col(TariffVersionRow.version).desc())
        return (await self.session.execute(query.limit(1))).scalars().first()

    async def decoded(self, version_id: int) -> DecodedVersion | None:
        cache = _decoded.setdefault(self._engine(), {})
        found = cache.get(version_id)
        if found is not None:
            return found
        query = (
            select(TariffVersionRow.tariff_id, TariffVersionRow.definition, TariffRow.currency)
            .join(TariffRow, col(TariffRow.id) == col(TariffVersionRow.tariff_id))
            .where(col(TariffVersionRow.id) == version_id)
        )
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        found = cache[version_id] = DecodedVersion(row[0], tariff_from_json(row[2], row[1]))
        return found

    async def assignments(self, tariff_id: int) -> list[TariffAssignmentRow]:
        query = select(TariffAssignmentRow).where(col(TariffAssignmentRow.tariff_id) == tariff_id)
        return list((await self.session.execute(query.order_by(col(TariffAssignmentRow.id)))).scalars())

    async def assignment(self, target: str) -> TariffAssignmentRow | None:
        query = select(TariffAssignmentRow).where(col(TariffAssignmentRow.target) == target)
        return (await self.session.execute(query)).scalars().first()

    async def candidates(
        self, station_id: str, evse_id: int | None, site_id: int | None, at: datetime
    ) -> list[Candidate]:
        """Assignments of unarchived tariffs to this EVSE, this station or this site, each with
        the id of its tariff's version in force at `at`: one query, as it runs per session start."""
        in_force = (
            select(TariffVersionRow.id)
            .where(
                col(TariffVersionRow.tariff_id) == col(TariffAssignmentRow.tariff_id),
                col(TariffVersionRow.valid_from) <= at,
            )
            .order_by(col(TariffVersionRow.valid_from).desc(), col(TariffVersionRow.version).desc())
            .limit(1)
            .scalar_subquery()
        )
        station = col(TariffAssignmentRow.station_id) == station_id
        evse = col(TariffAssignmentRow.evse_id)
        target = station & (evse.is_(None) if evse_id is None else (evse.is_(None) | (evse == evse_id)))
        if site_id is not None:
            target = target | (col(TariffAssignmentRow.site_id) == site_id)
        query = (
            select(TariffAssignmentRow, in_force)
            .join(TariffRow, col(TariffRow.id) == col(TariffAssignmentRow.tariff_id))
            .where(target, col(TariffRow.archived) == false())
        )
        return [Candidate(row, version_id) for row, version_id in (await self.session.execute(query)).all()]

    async def station_exists(self, station_id: str) -> bool:
        query = select(_stations.c.id).where(_stations.c.id == station_id)
        return (await self.session.execute(query)).first() is not None

    async def station_site(self, station_id: str) -> tuple[int | None, str] | None:
        """The station's site id and time zone ("UTC" without a site); None for no such station."""
        query = (
            select(_stations.c.site_id, _sites.c.time_zone)
            .select_from(_stations.outerjoin(_sites, _sites.c.id == _stations.c.site_id))
            .where(_stations.c.id == station_id)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1] or "UTC")

    async def site_zone(self, site_id: int) -> str | None:
        query = select(_sites.c.time_zone).where(_sites.c.id == site_id)
        zone = (await self.session.execute(query)).scalar()
        return None if zone is None else str(zone)

    def _engine(self) -> Engine:
        bind = self.session.get_bind()
        return bind if isinstance(bind, Engine) else bind.engine
