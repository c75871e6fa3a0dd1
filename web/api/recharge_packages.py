"""Operator API for recharge packages ("pay 100, get 105"): the bonus is the operator's, posted
from its promotions account when a package's order is paid. Every change is audited."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from csms.billing import payments
from csms.billing.errors import Conflict, NotFound
from csms.billing.tables import RechargePackageRow
from tariffs.currency import billed
from web.deps import DB_INT_MAX, BodyId, ClockDep, DbId, SessionDep, actor, text

router = APIRouter(prefix="/api/v1/operator/recharge-packages", tags=["recharge packages"])


class PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: BodyId
    name: Annotated[str, text(100)] = Field(examples=["Pay 100, get 105"])
    pay: Decimal = Field(gt=0, le=payments.MAX_RECHARGE, max_digits=15, decimal_places=3)
    bonus: Decimal = Field(
        default=Decimal(0), ge=0, le=payments.MAX_RECHARGE, max_digits=15, decimal_places=3
    )
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", description="Default: the tenant's")


class PackageOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    pay: Decimal
    bonus: Decimal
    currency: str
    active: bool
    created_at: datetime


def _out(row: RechargePackageRow) -> PackageOut:
    return PackageOut.model_validate(
        {**row.model_dump(), "pay": billed(row.pay, row.currency), "bonus": billed(row.bonus, row.currency)}
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_package(
    body: PackageIn, request: Request, session: SessionDep, clock: ClockDep
) -> PackageOut:
    spec = payments.NewPackage(body.tenant_id, body.name, body.pay, body.bonus, body.currency)
    try:
        row = await payments.create_package(session, spec, actor=actor(request), at=clock.now())
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(422, str(exc)) from None
    await session.commit()
    return _out(row)


@router.get("")
async def list_packages(
    session: SessionDep,
    tenant_id: Annotated[int, Query(ge=1, le=DB_INT_MAX)],
    active_only: bool = False,
) -> list[PackageOut]:
    return [_out(row) for row in await payments.packages(session, tenant_id, active_only=active_only)]


@router.post("/{package_id}/deactivate")
async def deactivate_package(
    package_id: DbId, request: Request, session: SessionDep, clock: ClockDep
) -> PackageOut:
    try:
        row = await payments.deactivate_package(session, package_id, actor=actor(request), at=clock.now())
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    await session.commit()
    return _out(row)
