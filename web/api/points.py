"""Points and VIP levels: drivers see their points, sign in daily, spend points on coupons and
see their VIP level; operators define a tenant's levels (every change audited). Amounts travel
as decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from csms.billing import points, vip
from csms.billing.errors import BillingError, NotFound
from csms.billing.tables import PointsEntryRow, VipLevelRow
from tariffs.currency import billed
from web.deps import (
    DB_INT_MAX,
    BodyId,
    ClockDep,
    CurrentDriver,
    DbId,
    IdempotencyKey,
    PageDep,
    SessionDep,
    SettingsDep,
    actor,
    text,
)

driver = APIRouter(prefix="/api/v1/me", tags=["points"])
operator = APIRouter(prefix="/api/v1/operator/vip-levels", tags=["points"])


class EntryOut(BaseModel):
    id: int
    points: int = Field(description="+ earned, - spent")
    reason: str = Field(examples=["kwh", "spend", "sign_in", "invitation", "redeem"])
    key: str
    at: datetime


class PointsOut(BaseModel):
    balance: int
    items: list[EntryOut] = Field(description="Newest first")
    total: int
    limit: int
    offset: int


class SignedIn(BaseModel):
    earned: int
    balance: int


class RedeemIn(BaseModel):
    template_id: BodyId


class RedeemedOut(BaseModel):
    coupon_id: int = Field(description="Listed with the driver's coupons")
    template_id: int
    name: str
    points_spent: int
    balance: int = Field(description="Points left")
    expires_at: datetime | None


class LevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: BodyId
    name: Annotated[str, text(50)] = Field(examples=["Gold"])
    min_spend: Decimal = Field(ge=0, le=10**9, max_digits=15, decimal_places=3, description="Over 90 days")
    service_fee_discount: Decimal = Field(
        gt=0, le=1, max_digits=7, decimal_places=6, description="A fraction: 0.2 takes 20 % off"
    )


class LevelOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    min_spend: Decimal
    service_fee_discount: Decimal
    created_at: datetime


class VipOut(BaseModel):
    currency: str
    spend_90d: Decimal = Field(description="What settled sessions cost over the last 90 days")
    level: LevelOut | None
    next_level: LevelOut | None
    missing: Decimal | None = Field(description="What is left to spend to reach the next level")


def _level(row: VipLevelRow, currency: str) -> LevelOut:
    return LevelOut.model_validate(
        {
            **row.model_dump(),
            "min_spend": billed(row.min_spend, currency),
            "service_fee_discount": row.service_fee_discount.normalize(),
        }
    )


def _entry(row: PointsEntryRow) -> EntryOut:
    assert row.id is not None
    return EntryOut(id=row.id, points=row.points, reason=row.reason, key=row.key, at=row.created_at)


def _http(exc: BillingError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, NotFound) else 409, str(exc))


@driver.get("/points")
async def my_points(principal: CurrentDriver, session: SessionDep, page: PageDep) -> PointsOut:
    """The balance and the entries behind it, newest first."""
    found = await points.history(session, principal.user_id, limit=page.limit, offset=page.offset)
    items = [_entry(row) for row in found.entries]
    return PointsOut(
        balance=found.balance, items=items, total=found.total, limit=page.limit, offset=page.offset
    )


@driver.post("/points/sign-in", status_code=status.HTTP_201_CREATED)
async def sign_in(
    principal: CurrentDriver, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> SignedIn:
    """Once a (UTC) day: 409 the second time."""
    try:
        earned = await points.sign_in(session, principal.user_id, settings.sign_in_points, clock.now())
    except BillingError as exc:
        raise _http(exc) from None
    await session.commit()
    return SignedIn(earned=earned, balance=await points.balance(session, principal.user_id))


@driver.post("/points/redeem", status_code=status.HTTP_201_CREATED)
async def redeem(
    body: RedeemIn,
    principal: CurrentDriver,
    _idempotent: IdempotencyKey,
    session: SessionDep,
    clock: ClockDep,
) -> RedeemedOut:
    """Spend points on a coupon of a template priced in points: 409 when they are too few."""
    now = clock.now()
    try:
        held = await points.redeem(session, principal.user_id, body.template_id, now)
    except BillingError as exc:
        raise _http(exc) from None
    await session.commit()
    coupon, template = held.coupon, held.template
    assert coupon.id is not None
    return RedeemedOut(
        coupon_id=coupon.id,
        template_id=coupon.template_id,
        name=template.name,
        points_spent=template.points_price or 0,
        balance=await points.balance(session, principal.user_id),
        expires_at=coupon.expires_at,
    )


@driver.get("/vip")
async def my_vip(principal: CurrentDriver, session: SessionDep, clock: ClockDep) -> VipOut:
    """The driver's level from their last 90 days' spend, and what the next one needs."""
    try:
        found = await vip.standing(session, principal.user_id, principal.tenant_id, clock.now())
    except BillingError as exc:
        raise _http(exc) from None
    currency = found.currency
    return VipOut(
        currency=currency,
        spend_90d=billed(found.spend, currency),
        level=_level(found.level, currency) if found.level else None,
        next_level=_level(found.next_level, currency) if found.next_level else None,
        missing=billed(found.missing, currency) if found.missing is not None else None,
    )


@operator.post("", status_code=status.HTTP_201_CREATED)
async def create_level(body: LevelIn, request: Request, session: SessionDep, clock: ClockDep) -> LevelOut:
    """A level of the tenant: its drivers who spent ``min_spend`` over 90 days get the discount."""
    try:
        row = await vip.create_level(
            session,
            body.tenant_id,
            body.name,
            body.min_spend,
            body.service_fee_discount,
            actor=actor(request),
            at=clock.now(),
        )
        currency = await vip.tenant_currency(session, row.tenant_id)
        await session.commit()
    except BillingError as exc:
        raise _http(exc) from None
    except IntegrityError:  # the same name, created concurrently
        raise HTTPException(409, f"The tenant already has a level named {body.name!r}") from None
    return _level(row, currency)


@operator.get("")
async def list_levels(
    session: SessionDep, tenant_id: Annotated[int, Query(ge=1, le=DB_INT_MAX)]
) -> list[LevelOut]:
    """The tenant's levels, lowest first."""
    try:
        currency = await vip.tenant_currency(session, tenant_id)
    except BillingError as exc:
        raise _http(exc) from None
    return [_level(row, currency) for row in await vip.levels(session, tenant_id)]


@operator.delete("/{level_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_level(level_id: DbId, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    try:
        await vip.delete_level(session, level_id, actor=actor(request), at=clock.now())
    except BillingError as exc:
        raise _http(exc) from None
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
