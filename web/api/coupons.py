"""Coupons: drivers list theirs and claim from flash campaigns; operators define templates,
issue coupons to users and follow a campaign (the operator API has no login yet, so it sees
every tenant's). Amounts travel as strings, so no float ever touches money."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from csms.billing import coupons
from csms.billing.coupon_rules import CouponKind
from csms.billing.errors import BillingError, NotFound
from csms.billing.tables import CouponTemplateRow
from tariffs.currency import billed, plain
from web.api.operator import Page
from web.deps import (
    BodyId,
    ClockDep,
    CurrentDriver,
    DbId,
    IdempotencyKey,
    PageDep,
    SessionDep,
    UowDep,
    actor,
    text,
)

driver = APIRouter(prefix="/api/v1/me/coupons", tags=["coupons"])
operator = APIRouter(prefix="/api/v1/operator/coupon-templates", tags=["coupons"])

Amount = Annotated[
    str,
    Field(
        pattern=r"^\d{1,9}(\.\d{1,6})?$", description="A decimal as a string, not negative", examples=["5.00"]
    ),
]
Status = Literal["Available", "Used", "Expired"]
Station = Annotated[str, text(48)]


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: BodyId
    name: Annotated[str, text(100)]
    kind: CouponKind
    value: Amount = Field(default="0", description="The amount off, or the percent off (20 for 20 %)")
    cap: Amount | None = Field(default=None, description="The most a percent_off coupon takes off")
    min_spend: Amount = "0"
    station_ids: list[Station] = Field(
        default_factory=list, max_length=500, description="Empty: every station"
    )
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = Field(default=None, description="Coupons expire then at the latest")
    valid_days: int | None = Field(
        default=None, ge=1, le=3650, description="Coupons expire this long after issue"
    )
    per_user_limit: int = Field(default=1, ge=1, le=1000, description="How many one driver may claim")
    stock: int | None = Field(default=None, ge=0, le=10_000_000, description="None: unlimited")
    points_price: int | None = Field(default=None, ge=1, le=10_000_000, description="Points per coupon")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind is CouponKind.PERCENT_OFF and not 0 < Decimal(self.value) <= 100:
            raise ValueError("a percent_off value is a percent in (0, 100]")
        if self.kind is CouponKind.AMOUNT_OFF and Decimal(self.value) <= 0:
            raise ValueError("an amount_off value must be positive")
        if self.cap is not None and self.kind is not CouponKind.PERCENT_OFF:
            raise ValueError("only a percent_off coupon has a cap")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self

    def spec(self) -> coupons.NewTemplate:
        return coupons.NewTemplate(
            tenant_id=self.tenant_id,
            name=self.name,
            kind=self.kind,
            value=Decimal(self.value),
            cap=Decimal(self.cap) if self.cap is not None else None,
            min_spend=Decimal(self.min_spend),
            station_ids=tuple(self.station_ids),
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            valid_days=self.valid_days,
            per_user_limit=self.per_user_limit,
            stock=self.stock,
            points_price=self.points_price,
        )


class TemplateChange(BaseModel):
    """Only the fields sent change; ``stock: null`` makes the stock unlimited."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(100)] | None = None
    valid_to: AwareDatetime | None = None
    per_user_limit: int | None = Field(default=None, ge=1, le=1000)
    stock: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _no_null_name(self) -> Self:
        for name in ("name", "per_user_limit"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TemplateOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    kind: str
    value: str
    cap: str | None
    min_spend: str
    currency: str
    station_ids: list[str]
    valid_from: datetime | None
    valid_to: datetime | None
    valid_days: int | None
    per_user_limit: int
    stock: int | None
    points_price: int | None
    issued: int
    created_at: datetime


class TemplateDetail(TemplateOut):
    used: int
    expired: int
    discounted: str = Field(description="What the used coupons took off, in total")


class ClaimIn(BaseModel):
    template_id: BodyId


class IssueIn(BaseModel):
    user_id: BodyId


class CouponOut(BaseModel):
    id: int
    template_id: int
    serial: int
    name: str
    kind: str
    value: str
    cap: str | None
    min_spend: str
    currency: str
    station_ids: list[str]
    source: str
    status: str = Field(description="Available, Used or Expired")
    issued_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    transaction_id: int | None
    discount: str | None


def _money(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else str(billed(amount, currency))


def _value(template: CouponTemplateRow) -> str:
    """A percent reads as a number (20), an amount in its currency (5.00)."""
    if template.kind == CouponKind.PERCENT_OFF:
        return plain(template.value)
    return str(billed(template.value, template.currency))


def _template(row: CouponTemplateRow) -> TemplateOut:
    return TemplateOut.model_validate(
        {
            **row.model_dump(),
            "value": _value(row),
            "cap": _money(row.cap, row.currency),
            "min_spend": _money(row.min_spend, row.currency),
        }
    )


def _coupon(held: coupons.Held, now: datetime) -> CouponOut:
    coupon, template = held.coupon, held.template
    shown = _template(template)
    assert coupon.id is not None
    return CouponOut(
        **shown.model_dump(include={"name", "kind", "value", "cap", "min_spend", "currency", "station_ids"}),
        id=coupon.id,
        template_id=coupon.template_id,
        serial=coupon.serial,
        source=coupon.source,
        status=coupons.shown_status(coupon, now),
        issued_at=coupon.issued_at,
        expires_at=coupon.expires_at,
        used_at=coupon.used_at,
        transaction_id=coupon.transaction_id,
        discount=_money(coupon.discount, template.currency),
    )


def _http(exc: BillingError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, NotFound) else 409, str(exc))


@driver.get("")
async def my_coupons(
    principal: CurrentDriver,
    session: SessionDep,
    clock: ClockDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
) -> list[CouponOut]:
    """The driver's coupons, newest first; ``status`` filters (a lapsed coupon is Expired)."""
    now = clock.now()
    found = await coupons.my_coupons(session, principal.user_id, status_, now)
    return [_coupon(held, now) for held in found]


@driver.post("/claim", status_code=status.HTTP_201_CREATED)
async def claim(
    body: ClaimIn, principal: CurrentDriver, _idempotent: IdempotencyKey, uow: UowDep, clock: ClockDep
) -> CouponOut:
    """Take a coupon from a campaign: 409 when sold out or the driver's limit is reached."""
    try:
        held = await coupons.claim(body.template_id, principal.user_id, uow=uow, clock=clock)
    except BillingError as exc:
        raise _http(exc) from None
    return _coupon(held, clock.now())


@operator.post("", status_code=status.HTTP_201_CREATED)
async def create_template(body: TemplateIn, request: Request, uow: UowDep, clock: ClockDep) -> TemplateOut:
    """A template in its tenant's currency; with a stock it is a flash campaign."""
    try:
        row = await coupons.create_template(body.spec(), actor(request), uow=uow, clock=clock)
    except BillingError as exc:
        raise _http(exc) from None
    return _template(row)


@operator.get("", response_model=Page[TemplateOut])
async def list_templates(uow: UowDep, page: PageDep, tenant_id: int | None = None) -> Page[TemplateOut]:
    rows, total = await coupons.list_templates(
        uow=uow, tenant_id=tenant_id, limit=page.limit, offset=page.offset
    )
    return Page(items=[_template(row) for row in rows], total=total, limit=page.limit, offset=page.offset)


@operator.get("/{template_id}")
async def get_template(template_id: DbId, uow: UowDep) -> TemplateDetail:
    """The template with its campaign's numbers: issued, used, expired, and what they took off."""
    try:
        stats = await coupons.template_stats(template_id, uow=uow)
    except BillingError as exc:
        raise _http(exc) from None
    template = stats.template
    return TemplateDetail(
        **_template(template).model_dump(),
        used=stats.used,
        expired=stats.expired,
        discounted=str(billed(stats.discounted, template.currency)),
    )


@operator.patch("/{template_id}")
async def change_template(
    template_id: DbId, body: TemplateChange, request: Request, uow: UowDep, clock: ClockDep
) -> TemplateOut:
    """Rename, extend or end a campaign, or change its stock (never below what was issued)."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise HTTPException(422, "Nothing to change: give name, valid_to, stock or per_user_limit")
    try:
        row = await coupons.update_template(template_id, changes, actor(request), uow=uow, clock=clock)
    except BillingError as exc:
        raise _http(exc) from None
    return _template(row)


@operator.post("/{template_id}/issue", status_code=status.HTTP_201_CREATED)
async def issue(
    template_id: DbId,
    body: IssueIn,
    request: Request,
    _idempotent: IdempotencyKey,
    uow: UowDep,
    clock: ClockDep,
) -> CouponOut:
    """Give a user of the template's tenant a coupon (stock applies, the per-user limit not)."""
    try:
        held = await coupons.issue(template_id, body.user_id, "direct", actor(request), uow=uow, clock=clock)
    except BillingError as exc:
        raise _http(exc) from None
    return _coupon(held, clock.now())
