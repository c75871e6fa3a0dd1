"""Housekeeping of the accounts tables, run by the scheduler."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col

from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from csms.accounts.tables import AuthSessionRow, SmsCodeRow

SMS_CODES_KEPT = timedelta(days=1)
"""Longer than any rate-limit window that counts the sends."""


async def purge_expired(*, uow: UnitOfWork, clock: Clock) -> int:
    """Drop logins past their refresh lifetime (their spent tokens go with them) and old SMS codes."""
    now = clock.now()
    async with uow:
        sessions = await uow.session.execute(
            delete(AuthSessionRow).where(col(AuthSessionRow.expires_at) < now)
        )
        codes = await uow.session.execute(
            delete(SmsCodeRow).where(col(SmsCodeRow.created_at) < now - SMS_CODES_KEPT)
        )
        await uow.commit()
    return sum(int(getattr(result, "rowcount", 0) or 0) for result in (sessions, codes))
