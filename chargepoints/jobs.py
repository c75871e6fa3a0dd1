"""Periodic work of the charging domain, run by ``csms.scheduler``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from chargepoints.load_tables import SiteLoadSampleRow
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.tables import MessageLogRow


async def purge_message_log(*, uow: UnitOfWork, clock: Clock, retention_days: int) -> int:
    """Drop OCPP frames older than the retention period; they are for troubleshooting only."""
    cutoff = clock.now() - timedelta(days=retention_days)
    async with uow:
        result = await uow.session.execute(delete(MessageLogRow).where(col(MessageLogRow.at) < cutoff))
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_load_history(*, uow: UnitOfWork, clock: Clock, retention_days: int) -> int:
    """Drop sites' load samples older than the retention period."""
    cutoff = clock.now() - timedelta(days=retention_days)
    async with uow:
        stale = delete(SiteLoadSampleRow).where(col(SiteLoadSampleRow.at) < cutoff)
        result = await uow.session.execute(stale)
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)
