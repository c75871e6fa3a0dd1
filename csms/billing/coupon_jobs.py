"""Coupon housekeeping, run by the scheduler: expire what ran out, remind before it does."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from csms.billing.coupon_rules import AVAILABLE
from csms.billing.coupons import EXPIRED
from csms.billing.tables import CouponRow, CouponTemplateRow

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(days=3)
REMINDERS_PER_RUN = 500  # the rest wait for the next run rather than hold a long transaction

Notify = Callable[[int, str], Awaitable[None]]
"""Tells a user (by id) something, e.g. by SMS; the composition root wires it."""


async def expire(*, uow: UnitOfWork, clock: Clock) -> int:
    """Mark Available coupons past their expiry Expired; how many."""
    async with uow:
        result = await uow.session.execute(
            update(CouponRow)
            .where(col(CouponRow.status) == AVAILABLE, col(CouponRow.expires_at) <= clock.now())
            .values(status=EXPIRED)
        )
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def remind(*, uow: UnitOfWork, clock: Clock, notify: Notify) -> int:
    """One reminder per coupon expiring within three days; how many were sent.

    ``reminded_at`` is set and committed before sending, each by a conditional UPDATE, so two
    nodes running the job never both send one: a reminder is sent at most once (a failed
    send is logged, not retried)."""
    now = clock.now()
    async with uow:
        query = (
            select(CouponRow.id, CouponRow.user_id, CouponRow.expires_at, CouponTemplateRow.name)
            .join(CouponTemplateRow, col(CouponTemplateRow.id) == col(CouponRow.template_id))
            .where(
                col(CouponRow.status) == AVAILABLE,
                col(CouponRow.reminded_at).is_(None),
                col(CouponRow.expires_at) > now,
                col(CouponRow.expires_at) <= now + REMIND_BEFORE,
            )
            .order_by(col(CouponRow.expires_at))
            .limit(REMINDERS_PER_RUN)
        )
        due = list(await uow.session.execute(query))
        mine = []
        for coupon_id, user_id, expires_at, name in due:
            taken = await uow.session.execute(
                update(CouponRow)
                .where(col(CouponRow.id) == coupon_id, col(CouponRow.reminded_at).is_(None))
                .values(reminded_at=now)
            )
            if getattr(taken, "rowcount", 0) == 1:
                mine.append((user_id, f"Your coupon “{name}” expires on {expires_at:%Y-%m-%d %H:%M} UTC."))
        await uow.commit()
    sent = 0
    for user_id, text in mine:
        try:
            await notify(user_id, text)
            sent += 1
        except Exception:  # one unreachable phone must not stop the others' reminders
            log.exception("coupon reminder to user %s failed", user_id)
    return sent
