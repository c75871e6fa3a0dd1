"""Post-paid (fleet) accounts and their monthly invoices: operators switch an account to
post-paid, list invoices and mark them paid; drivers see theirs. Amounts travel as strings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from csms.billing import invoices
from csms.billing.errors import NotFound
from csms.billing.tables import InvoiceRow
from tariffs.currency import billed
from web.api.operator import Page
from web.deps import ClockDep, CurrentDriver, DbId, IdempotencyKey, PageDep, SessionDep, UowDep, actor

driver = APIRouter(prefix="/api/v1/me/invoices", tags=["invoices"])
operator = APIRouter(prefix="/api/v1/operator", tags=["invoices"])

Status = Literal["Issued", "Paid"]
Period = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM, UTC")]


class PostpaidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    postpaid: bool


class PostpaidOut(BaseModel):
    user_id: int
    postpaid: bool


class InvoiceOut(BaseModel):
    id: int
    user_id: int
    tenant_id: int
    period: str = Field(examples=["2026-11"])
    currency: str
    sessions: int
    energy_wh: int
    total: str
    status: Status
    created_at: datetime
    paid_at: datetime | None


def _out(row: InvoiceRow) -> InvoiceOut:
    return InvoiceOut.model_validate({**row.model_dump(), "total": str(billed(row.total, row.currency))})


@operator.put("/users/{user_id}/postpaid")
async def set_postpaid(
    user_id: DbId, body: PostpaidIn, request: Request, uow: UowDep, clock: ClockDep
) -> PostpaidOut:
    """Post-paid accounts charge without a balance and are invoiced monthly (audited)."""
    try:
        user = await invoices.set_postpaid(user_id, body.postpaid, actor(request), uow=uow, clock=clock)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return PostpaidOut(user_id=user_id, postpaid=user.postpaid)


@operator.get("/invoices")
async def list_invoices(
    session: SessionDep,
    page: PageDep,
    period: Period | None = None,
    state: Annotated[Status | None, Query(alias="status")] = None,
) -> Page[InvoiceOut]:
    """Invoices newest first; ``status=Issued`` are those waiting for payment."""
    rows, total = await invoices.listed(
        session, user_id=None, period=period, status=state, limit=page.limit, offset=page.offset
    )
    return Page(items=[_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@operator.post("/invoices/{invoice_id}/paid")
async def mark_paid(
    invoice_id: DbId, _idempotent: IdempotencyKey, request: Request, uow: UowDep, clock: ClockDep
) -> InvoiceOut:
    """Record the payment: the wallet's debt is cleared once; marking it again changes nothing."""
    try:
        return _out(await invoices.mark_paid(invoice_id, actor(request), uow=uow, clock=clock))
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@driver.get("")
async def my_invoices(who: CurrentDriver, session: SessionDep, page: PageDep) -> Page[InvoiceOut]:
    """The driver's invoices, newest first."""
    rows, total = await invoices.listed(
        session, user_id=who.user_id, period=None, status=None, limit=page.limit, offset=page.offset
    )
    return Page(items=[_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset)
