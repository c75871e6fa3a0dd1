"""Ledger housekeeping run by the scheduler: the cached balances checked against the postings."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chargepoints.ports import Clock
from csms.billing import ledger

log = logging.getLogger(__name__)


async def check_drift(session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Warn about each account whose cached balance differs from its postings; how many did.

    A drift means a balance moved outside ``ledger.post`` (a bug or a hand edit): the postings
    are the truth, so the warning names both figures for someone to repair the cache."""
    async with session_factory() as session:
        drifting = await ledger.drift(session)
    for account_id, cached, actual in drifting:
        log.warning(
            "Ledger account %s caches %s but its postings sum to %s (checked %s)",
            account_id,
            cached,
            actual,
            clock.now().isoformat(),
        )
    return len(drifting)
