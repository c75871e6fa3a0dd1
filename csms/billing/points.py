"""Points: drivers earn them by charging, paying, signing in daily and inviting friends, and
spend them on coupons. Each entry is keyed by why it happened ("kwh:<tx>", "sign_in:<user>:<day>"),
so nothing is earned twice; the balance is the sum of the user's entries.

Earning is one ``INSERT ... ON CONFLICT (key) DO NOTHING`` (both backends speak it), so a twin
of the key changes nothing and never aborts the caller's transaction. Redeeming locks the user's
row first (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL: it does not block rows that merely
refer to the user; SQLite's single writer already serialises), so two redeems of one driver take
turns and the second sees the first's deduction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from csms import audit
from csms.accounts.tables import UserRow
from csms.billing import coupons
from csms.billing.errors import Conflict, InsufficientFunds, NotFound
from csms.billing.tables import CouponTemplateRow, PointsEntryRow

ACTOR = "points"


@dataclass(frozen=True, slots=True)
class History:
    balance: int
    entries: list[PointsEntryRow]  # newest first
    total: int  # how many entries the user has


async def earn(
    session: AsyncSession, user_id: int, key: str, points: int, reason: str, now: datetime
) -> bool:
    """Add the entry in the caller's transaction (the caller commits); False when ``key`` was
    already there, in which case nothing changes."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"user_id": user_id, "key": key, "points": points, "reason": reason, "created_at": now}
    statement = (
        insert(PointsEntryRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(PointsEntryRow.id))
    )
    return (await session.execute(statement)).scalar() is not None


async def balance(session: AsyncSession, user_id: int) -> int:
    total = await session.scalar(
        select(func.sum(col(PointsEntryRow.points))).where(col(PointsEntryRow.user_id) == user_id)
    )
    return int(total or 0)


async def history(session: AsyncSession, user_id: int, *, limit: int, offset: int) -> History:
    mine = col(PointsEntryRow.user_id) == user_id
    count = await session.scalar(select(func.count()).select_from(PointsEntryRow).where(mine))
    page = (
        select(PointsEntryRow).where(mine).order_by(col(PointsEntryRow.id).desc()).limit(limit).offset(offset)
    )
    rows = list((await session.execute(page)).scalars())
    return History(await balance(session, user_id), rows, int(count or 0))


async def sign_in(session: AsyncSession, user_id: int, points: int, now: datetime) -> int:
    """The day's sign-in points (a UTC day); Conflict the second time that day. The caller commits."""
    key = f"sign_in:{user_id}:{now.date().isoformat()}"
    if not await earn(session, user_id, key, points, "sign_in", now):
        raise Conflict("You have already signed in today")
    return points


async def redeem(session: AsyncSession, user_id: int, template_id: int, now: datetime) -> coupons.Held:
    """Spend points on a coupon of a template priced in points, in the caller's transaction
    (it commits). InsufficientFunds when the balance is short; NotFound for another tenant's
    or no template; Conflict for one not sold for points; the coupon's own refusals (sold out,
    campaign over) as ``coupons`` raises them."""
    user = (
        await session.execute(
            select(UserRow).where(col(UserRow.id) == user_id).with_for_update(key_share=True)
        )
    ).scalar()
    if user is None:
        raise NotFound(f"User {user_id} not found")
    template = await session.get(CouponTemplateRow, template_id)
    if template is None or template.tenant_id != user.tenant_id:
        raise NotFound(f"Coupon template {template_id} not found")
    price = template.points_price
    if price is None:
        raise Conflict("This coupon cannot be bought with points")
    have = await balance(session, user_id)
    if have < price:
        raise InsufficientFunds(f"This coupon costs {price} points; you have {have}")
    # coupons has no public in-session grant yet; its private one is exactly issue()'s body.
    held = await coupons.grant(session, template_id, user, "points", now, limit=False)
    await earn(session, user_id, f"redeem:{held.coupon.id}", -price, "redeem", now)
    audit.record(
        session,
        actor=ACTOR,
        action="coupon.issue",
        subject=f"coupon:{held.coupon.id}",
        details={"template_id": template_id, "user_id": user_id, "source": "points", "points": price},
        at=now,
    )
    return held
