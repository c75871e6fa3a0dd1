"""Coupons: templates an operator defines, coupons handed to drivers (issued or claimed from a
flash campaign), and their one use on a session's settlement.

Overselling is impossible by construction: a coupon is granted only after ONE conditional
``UPDATE coupon_templates SET issued = issued + 1 WHERE ... (stock IS NULL OR issued < stock)
RETURNING issued`` matched, and its ``serial`` is that new ``issued``, which the unique
(template_id, serial) also guards.

The per-user limit is exact on both backends without a lock of its own: that UPDATE comes
first, so once it matched this transaction holds the template row (PostgreSQL's row lock) or the
database (SQLite's single writer) until it ends. Every other grant of the same template waits
behind it, so the count of the user's coupons read afterwards (a fresh snapshot under READ
COMMITTED) cannot miss a concurrent grant. A refused claim rolls the increment back with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, NoReturn

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from csms import audit
from csms.accounts.tables import TenantRow, UserRow
from csms.billing import coupon_rules
from csms.billing.coupon_rules import AVAILABLE
from csms.billing.errors import Conflict, NotFound
from csms.billing.tables import CouponRow, CouponTemplateRow

USED, EXPIRED = "Used", "Expired"
Source = Literal["direct", "invitation", "points"]  # how a coupon is given; claims are "campaign"


class SoldOut(Conflict):
    """The campaign's stock is gone."""


class LimitReached(Conflict):
    """The driver already holds as many coupons of this template as it allows."""


@dataclass(frozen=True, slots=True)
class NewTemplate:
    tenant_id: int
    name: str
    kind: coupon_rules.CouponKind
    value: Decimal
    cap: Decimal | None = None
    min_spend: Decimal = Decimal(0)
    station_ids: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    valid_days: int | None = None
    per_user_limit: int = 1
    stock: int | None = None
    points_price: int | None = None  # drivers may redeem this many points for one


@dataclass(frozen=True, slots=True)
class TemplateStats:
    template: CouponTemplateRow
    used: int
    expired: int
    discounted: Decimal  # the sum of what used coupons took off


@dataclass(frozen=True, slots=True)
class Held:
    coupon: CouponRow
    template: CouponTemplateRow


async def create_template(
    spec: NewTemplate, actor: str, *, uow: UnitOfWork, clock: Clock
) -> CouponTemplateRow:
    """A template in its tenant's currency."""
    now = clock.now()
    async with uow:
        tenant = await uow.session.get(TenantRow, spec.tenant_id)
        if tenant is None:
            raise NotFound(f"Tenant {spec.tenant_id} not found")
        fields = {**asdict(spec), "kind": spec.kind.value, "station_ids": list(spec.station_ids)}
        row = CouponTemplateRow(**fields, currency=tenant.currency, created_at=now)
        uow.session.add(row)
        await uow.session.flush()
        audit.record(
            uow.session,
            actor=actor,
            action="coupon_template.create",
            subject=f"coupon_template:{row.id}",
            details={"name": spec.name, "kind": row.kind, "value": str(spec.value), "stock": spec.stock},
            at=now,
        )
        await uow.commit()
    return row


async def update_template(
    template_id: int, changes: dict[str, Any], actor: str, *, uow: UnitOfWork, clock: Clock
) -> CouponTemplateRow:
    """Rename, extend or end a campaign, or change its stock (never below what was issued:
    the check and the change are one conditional UPDATE, racing no claim)."""
    allowed = {"name", "valid_to", "stock", "per_user_limit"}
    if not changes.keys() <= allowed:
        raise Conflict(f"Only {sorted(allowed)} may change")
    now = clock.now()
    async with uow:
        query = update(CouponTemplateRow).where(col(CouponTemplateRow.id) == template_id)
        if changes.get("stock") is not None:
            query = query.where(col(CouponTemplateRow.issued) <= changes["stock"])
        result = await uow.session.execute(query.values(**changes))
        if _rowcount(result) == 0:
            await _template(uow.session, template_id)
            raise Conflict("The stock cannot go below the coupons already issued")
        audit.record(
            uow.session,
            actor=actor,
            action="coupon_template.update",
            subject=f"coupon_template:{template_id}",
            details={name: str(value) for name, value in changes.items()},
            at=now,
        )
        await uow.commit()
        return await _template(uow.session, template_id)


async def list_templates(
    *, uow: UnitOfWork, tenant_id: int | None, limit: int, offset: int
) -> tuple[list[CouponTemplateRow], int]:
    async with uow:
        query = select(CouponTemplateRow)
        if tenant_id is not None:
            query = query.where(CouponTemplateRow.tenant_id == tenant_id)
        total = await uow.session.scalar(select(func.count()).select_from(query.subquery()))
        page = query.order_by(col(CouponTemplateRow.id).desc()).limit(limit).offset(offset)
        return list((await uow.session.execute(page)).scalars()), int(total or 0)


async def template_stats(template_id: int, *, uow: UnitOfWork) -> TemplateStats:
    """The template with how many of its coupons were used or expired, and what they took off."""
    async with uow:
        template = await _template(uow.session, template_id)
        mine = CouponRow.template_id == template_id
        by_status = select(col(CouponRow.status), func.count()).where(mine).group_by(col(CouponRow.status))
        counts = {status: int(n) for status, n in await uow.session.execute(by_status)}
        # Summed here, not in SQL: SQLite keeps money as text and would sum it as floats.
        discounts = await uow.session.scalars(
            select(col(CouponRow.discount)).where(mine, CouponRow.status == USED)
        )
        discounted = sum((d for d in discounts if d is not None), Decimal(0))
    return TemplateStats(template, counts.get(USED, 0), counts.get(EXPIRED, 0), discounted)


async def issue(
    template_id: int, user_id: int, source: Source, actor: str, *, uow: UnitOfWork, clock: Clock
) -> Held:
    """Give a user a coupon (an operator's gift, an invitation reward, points spent). Stock
    applies; the per-user limit does not: it bounds what drivers claim themselves."""
    now = clock.now()
    async with uow:
        user = await uow.session.get(UserRow, user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found")
        coupon = await grant(uow.session, template_id, user, source, now, limit=False)
        audit.record(
            uow.session,
            actor=actor,
            action="coupon.issue",
            subject=f"coupon:{coupon.coupon.id}",
            details={"template_id": template_id, "user_id": user_id, "source": source},
            at=now,
        )
        await uow.commit()
    return coupon


async def claim(template_id: int, user_id: int, *, uow: UnitOfWork, clock: Clock) -> Held:
    """A driver takes a coupon from a campaign of their own tenant. SoldOut, LimitReached,
    Conflict for an ended campaign, NotFound for another tenant's or no template."""
    async with uow:
        user = await uow.session.get(UserRow, user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found")
        coupon = await grant(uow.session, template_id, user, "campaign", clock.now(), limit=True)
        await uow.commit()
    return coupon


async def grant(
    session: AsyncSession, template_id: int, user: UserRow, source: str, now: datetime, *, limit: bool
) -> Held:
    """Hand out one coupon of the template inside the caller's transaction (the caller commits):
    stock by one conditional UPDATE, the per-user limit when `limit`."""
    t = CouponTemplateRow
    taken = await session.execute(
        update(t)
        .where(
            col(t.id) == template_id,
            col(t.tenant_id) == user.tenant_id,
            or_(col(t.stock).is_(None), col(t.issued) < col(t.stock)),
            or_(col(t.valid_to).is_(None), col(t.valid_to) > now),
        )
        .values(issued=col(t.issued) + 1)
        .returning(col(t.issued), col(t.per_user_limit), col(t.valid_days), col(t.valid_to))
    )
    row = taken.first()
    if row is None:
        await _refusal(session, template_id, user.tenant_id, now)
    assert user.id is not None
    serial, per_user_limit, valid_days, valid_to = row
    if limit:
        held = await session.scalar(
            select(func.count())
            .select_from(CouponRow)
            .where(CouponRow.template_id == template_id, CouponRow.user_id == user.id)
        )
        if int(held or 0) >= per_user_limit:
            raise LimitReached(f"You already hold {per_user_limit} coupon(s) of this campaign")
    coupon = CouponRow(
        template_id=template_id,
        serial=serial,
        user_id=user.id,
        source=source,
        issued_at=now,
        expires_at=_expiry(now, valid_days, valid_to),
    )
    session.add(coupon)
    await session.flush()
    return Held(coupon, await _template(session, template_id))


async def _refusal(session: AsyncSession, template_id: int, tenant_id: int, now: datetime) -> NoReturn:
    """Why the conditional UPDATE matched nothing: raise the error that says so."""
    template = await session.get(CouponTemplateRow, template_id)
    if template is None or template.tenant_id != tenant_id:
        raise NotFound(f"Coupon template {template_id} not found")
    if template.valid_to is not None and template.valid_to <= now:
        raise Conflict("This campaign has ended")
    raise SoldOut("Sold out")


def _expiry(now: datetime, valid_days: int | None, valid_to: datetime | None) -> datetime | None:
    """The earlier of the template's end and ``valid_days`` after issue, if either is set."""
    ends = [at for at in (valid_to, now + timedelta(days=valid_days) if valid_days else None) if at]
    return min(ends) if ends else None


async def my_coupons(session: AsyncSession, user_id: int, status: str | None, now: datetime) -> list[Held]:
    """The driver's coupons, newest first. An Available coupon past its expiry counts as
    Expired before the job marks it so."""
    query = (
        select(CouponRow, CouponTemplateRow)
        .join(CouponTemplateRow, col(CouponTemplateRow.id) == col(CouponRow.template_id))
        .where(CouponRow.user_id == user_id)
        .order_by(col(CouponRow.id).desc())
    )
    live = or_(col(CouponRow.expires_at).is_(None), col(CouponRow.expires_at) > now)
    if status == AVAILABLE:
        query = query.where(CouponRow.status == AVAILABLE, live)
    elif status == EXPIRED:
        query = query.where(
            or_(col(CouponRow.status) == EXPIRED, and_(col(CouponRow.status) == AVAILABLE, ~live))
        )
    elif status is not None:
        query = query.where(CouponRow.status == status)
    return [Held(coupon, template) for coupon, template in await session.execute(query)]


def shown_status(coupon: CouponRow, now: datetime) -> str:
    expired = coupon.status == AVAILABLE and not coupon_rules.usable(coupon, now)
    return EXPIRED if expired else coupon.status


async def best_for(
    session: AsyncSession, user_id: int, cost: Decimal, service_fee: Decimal, station_id: str, now: datetime
) -> tuple[CouponRow, Decimal] | None:
    """The driver's coupon taking the most off this session, and how much; for the settlement,
    in its transaction, followed by ``redeem``."""
    held = [(h.coupon, h.template) for h in await my_coupons(session, user_id, AVAILABLE, now)]
    chosen = coupon_rules.best(held, cost, service_fee, station_id, now)
    if chosen is None:
        return None
    template = next(t for c, t in held if c is chosen)
    return chosen, coupon_rules.discount(template, cost, service_fee, station_id, now)


async def redeem(
    session: AsyncSession, coupon_id: int, transaction_id: int, discount: Decimal, now: datetime
) -> bool:
    """Use the coupon on the session, in the caller's transaction (it commits). True when it
    is now this session's: one conditional UPDATE decides between racing settlements, and a
    repeat for the same session finds it already applied. A session already paid by another
    coupon is refused by the NOT EXISTS (and, racing, by the unique transaction_id)."""
    other = aliased(CouponRow)
    result = await session.execute(
        update(CouponRow)
        .where(
            col(CouponRow.id) == coupon_id,
            col(CouponRow.status) == AVAILABLE,
            or_(col(CouponRow.expires_at).is_(None), col(CouponRow.expires_at) > now),
            ~exists().where(col(other.transaction_id) == transaction_id),
        )
        .values(status=USED, transaction_id=transaction_id, discount=discount, used_at=now)
    )
    if _rowcount(result) == 1:
        return True
    applied = await session.scalar(
        select(CouponRow.id).where(CouponRow.id == coupon_id, CouponRow.transaction_id == transaction_id)
    )
    return applied is not None


async def _template(session: AsyncSession, template_id: int) -> CouponTemplateRow:
    template = await session.get(CouponTemplateRow, template_id, populate_existing=True)
    if template is None:
        raise NotFound(f"Coupon template {template_id} not found")
    return template


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
