"""Refunds: drivers ask for their money back, operators approve or reject, and may refund a
session outright (the operator API has no login yet, so it sees every tenant's refunds).
Amounts travel as strings, so no float ever touches money."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from csms.billing import refunds
from csms.billing.errors import BillingError, InvalidAmount, NotFound
from csms.billing.ports import RefundSender
from csms.billing.tables import RefundRow
from tariffs.currency import billed
from web.api.operator import Page
from web.deps import BodyId, ClockDep, CurrentDriver, DbId, IdempotencyKey, PageDep, actor, text

driver = APIRouter(prefix="/api/v1/me/refunds", tags=["refunds"])
operator = APIRouter(prefix="/api/v1/operator/refunds", tags=["refunds"])

Amount = Annotated[
    str,
    Field(pattern=r"^\d{1,9}(\.\d{1,6})?$", description="A positive decimal as a string", examples=["20.00"]),
]
Status = Literal["Requested", "Approved", "Rejected", "Paid"]


class RefundIn(BaseModel):
    amount: Amount
    order_id: BodyId | None = Field(default=None, description="Refund this recharge; else the newest ones")
    transaction_id: BodyId | None = Field(default=None, description="Refund part of this session instead")
    reason: Annotated[str, text(255)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.order_id is not None and self.transaction_id is not None:
            raise ValueError("name an order or a session, not both")
        return self


class SessionRefundIn(BaseModel):
    transaction_id: BodyId
    amount: Amount
    reason: Annotated[str, text(255)] | None = None


class RefundOut(BaseModel):
    id: int
    status: Status
    user_id: int
    amount: str
    currency: str
    order_id: int | None
    transaction_id: int | None
    reason: str | None
    requested_by: str
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None


def _out(row: RefundRow) -> RefundOut:
    assert row.id is not None
    return RefundOut.model_validate(
        {**row.model_dump(exclude={"key"}), "amount": str(billed(row.amount, row.currency))}
    )


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


def _sender(request: Request) -> RefundSender:
    sender: RefundSender | None = getattr(request.app.state.system, "refund_sender", None)
    if sender is None:
        raise HTTPException(503, "Refunds to payment providers are not configured")
    return sender


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
SenderDep = Annotated[RefundSender, Depends(_sender)]


def _key(request: Request, caller: str) -> str:
    """The refund's own key: the client's Idempotency-Key when it sent one, so a retry long
    after the stored answer expired still finds the refund instead of asking twice."""
    given = request.headers.get("Idempotency-Key")
    return f"{caller}:{given}" if given else f"{caller}:{uuid.uuid4()}"


def _http(exc: BillingError) -> HTTPException:
    if isinstance(exc, NotFound):
        return HTTPException(404, str(exc))
    return HTTPException(422 if isinstance(exc, InvalidAmount) else 409, str(exc))


@driver.post("", status_code=status.HTTP_201_CREATED)
async def ask(
    body: RefundIn,
    principal: CurrentDriver,
    _idempotent: IdempotencyKey,
    request: Request,
    sessions: SessionsDep,
    clock: ClockDep,
) -> RefundOut:
    """Ask for a refund of wallet money (back to the payments it came from) or of a session.
    409 when it is more than may be refunded; an operator decides."""
    caller = f"user:{principal.user_id}"
    spec = refunds.Ask(
        user_id=principal.user_id,
        amount=Decimal(body.amount),
        key=_key(request, caller),
        requested_by=caller,
        order_id=body.order_id,
        transaction_id=body.transaction_id,
        reason=body.reason,
    )
    try:
        return _out(await refunds.request(sessions, spec, clock=clock))
    except BillingError as exc:
        raise _http(exc) from None


@driver.get("")
async def my_refunds(principal: CurrentDriver, sessions: SessionsDep, page: PageDep) -> Page[RefundOut]:
    """The driver's refunds, newest first."""
    async with sessions() as session:
        rows, total = await refunds.listed(
            session, status=None, user_id=principal.user_id, limit=page.limit, offset=page.offset
        )
    return Page(items=[_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@operator.get("")
async def list_refunds(
    sessions: SessionsDep, page: PageDep, state: Annotated[Status | None, Query(alias="status")] = None
) -> Page[RefundOut]:
    """Refunds newest first; ``status=Requested`` is the queue waiting for a decision."""
    async with sessions() as session:
        rows, total = await refunds.listed(
            session, status=state, user_id=None, limit=page.limit, offset=page.offset
        )
    return Page(items=[_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@operator.post("/{refund_id}/approve")
async def approve(
    refund_id: DbId, request: Request, sessions: SessionsDep, clock: ClockDep, sender: SenderDep
) -> RefundOut:
    """Approve and pay; approving again changes nothing. 409 for a rejected refund or one the
    wallet no longer covers. A provider that fails leaves the refund Approved, entries posted."""
    try:
        row = await refunds.approve(sessions, refund_id, actor=actor(request), clock=clock, sender=sender)
    except BillingError as exc:
        raise _http(exc) from None
    return _out(row)


@operator.post("/{refund_id}/reject")
async def reject(refund_id: DbId, request: Request, sessions: SessionsDep, clock: ClockDep) -> RefundOut:
    """Reject a requested refund; rejecting again changes nothing, 409 once approved."""
    try:
        return _out(await refunds.reject(sessions, refund_id, actor=actor(request), clock=clock))
    except BillingError as exc:
        raise _http(exc) from None


@operator.post("", status_code=status.HTTP_201_CREATED)
async def refund_session(
    body: SessionRefundIn,
    _idempotent: IdempotencyKey,
    request: Request,
    sessions: SessionsDep,
    clock: ClockDep,
) -> RefundOut:
    """Refund part of a settled session into the driver's wallet at once (audited)."""
    who = actor(request)
    spec = refunds.Ask(
        user_id=0,
        amount=Decimal(body.amount),
        key=_key(request, "operator"),
        requested_by=who,
        transaction_id=body.transaction_id,
        reason=body.reason,
    )
    try:
        return _out(await refunds.refund_session(sessions, spec, actor=who, clock=clock))
    except BillingError as exc:
        raise _http(exc) from None
