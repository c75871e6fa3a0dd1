"""Scheduled jobs against a real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from chargepoints import jobs
from chargepoints.tables import MessageLogRow
from csms.bootstrap import System
from tests.fakes import FakeClock


async def test_message_log_retention_drops_only_old_frames(system: System) -> None:
    clock = FakeClock()
    async with system.sessions() as session:
        for age_days in (40, 31, 29, 1):
            session.add(
                MessageLogRow(
                    station_id="CP-1", direction="in", frame="[]", at=clock.now() - timedelta(days=age_days)
                )
            )
        await session.commit()
    removed = await jobs.purge_message_log(uow=system.uow(), clock=clock, retention_days=30)
    async with system.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(MessageLogRow))
    assert (removed, left) == (2, 2)
