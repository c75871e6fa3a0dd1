"""Statements: a driver's wallet history with its running balance, and an operator's (or one
investor's sites') takings per day or month, as JSON or a streamed CSV file. Periods are UTC
dates [from, to); amounts travel as strings, never floats."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from chargepoints.repository import UnitOfWork
from csms.billing import model, statements
from csms.billing.errors import NotFound
from csms.billing.statements import Figures, Group, Span, WalletLine
from tariffs.currency import billed
from web.deps import DB_INT_MAX, CurrentDriver, DbId, Principal, UowDep

driver = APIRouter(prefix="/api/v1/me", tags=["statements"])
operator = APIRouter(prefix="/api/v1/operator", tags=["statements"])

MAX_DAYS = 366
PAGE = 500


def _span(
    since: Annotated[date, Query(alias="from", description="First UTC day")],
    until: Annotated[date, Query(alias="to", description="The UTC day after the last")],
) -> Span:
    if until <= since:
        raise HTTPException(422, "'to' must be after 'from'")
    if (until - since).days > MAX_DAYS:
        raise HTTPException(422, f"A statement spans at most {MAX_DAYS} days")
    return Span(since, until)


SpanDep = Annotated[Span, Depends(_span)]
GroupQuery = Annotated[Group, Query(description="Totals per UTC day or month")]


class LineOut(BaseModel):
    entry_id: int
    at: datetime
    kind: str = Field(examples=["settle"])
    key: str = Field(examples=["settle:42"])
    memo: str | None
    amount: str = Field(description="What the entry did to the wallet: + in, - out")
    balance: str = Field(description="The wallet's balance after it")


class WalletStatementOut(BaseModel):
    currency: str
    opening_balance: str
    closing_balance: str
    lines: list[LineOut]
    next_after_id: int | None = Field(description="Pass as after_id for the next page of lines")


class FiguresOut(BaseModel):
    period: str = Field(examples=["2026-11"])
    currency: str
    sessions: int
    revenue: str = Field(description="Settlements, net of the platform's fee")
    platform_fees: str
    refunds: str
    promotions: str = Field(description="Recharge bonuses plus coupon discounts")
    bonuses: str
    discounts: str


class StatementOut(BaseModel):
    group: Group
    items: list[FiguresOut]


def _line(line: WalletLine, currency: str) -> LineOut:
    return LineOut(
        entry_id=line.entry_id,
        at=line.at,
        kind=line.kind,
        key=line.key,
        memo=line.memo,
        amount=str(billed(line.amount, currency)),
        balance=str(billed(line.balance, currency)),
    )


def _figures(line: Figures) -> FiguresOut:
    amounts = ("revenue", "platform_fees", "refunds", "promotions", "bonuses", "discounts")
    money = {name: str(billed(getattr(line, name), line.currency)) for name in amounts}
    return FiguresOut(period=line.period, currency=line.currency, sessions=line.sessions, **money)


async def _currency(uow: UnitOfWork, who: Principal, currency: str | None) -> str:
    if currency is not None:
        return currency
    async with uow:
        return await statements.tenant_currency(uow.session, who.tenant_id)


def _csv(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _download(body: AsyncIterator[str], name: str) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body, media_type="text/csv", headers=headers)


CurrencyQuery = Annotated[str | None, Query(pattern="^[A-Z]{3}$", description="Default: the operator's")]


@driver.get("/statement")
async def my_statement(
    who: CurrentDriver,
    uow: UowDep,
    span: SpanDep,
    currency: CurrencyQuery = None,
    after_id: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> WalletStatementOut:
    """The wallet's postings in the period, oldest first, each with the balance it left."""
    currency = await _currency(uow, who, currency)
    account = model.wallet(who.user_id, currency)
    async with uow:
        opening, closing = await statements.wallet_balances(uow.session, account, span)
        lines = await statements.wallet_lines(uow.session, account, span, after_id=after_id, limit=limit)
    return WalletStatementOut(
        currency=currency,
        opening_balance=str(billed(opening, currency)),
        closing_balance=str(billed(closing, currency)),
        lines=[_line(x, currency) for x in lines],
        next_after_id=lines[-1].entry_id if len(lines) == limit else None,
    )


WALLET_COLUMNS = ("entry_id", "at", "kind", "key", "memo", "amount", "balance")


@driver.get("/statement.csv", response_class=StreamingResponse)
async def my_statement_csv(
    who: CurrentDriver, uow: UowDep, span: SpanDep, currency: CurrencyQuery = None
) -> StreamingResponse:
    """The same lines as one CSV file, read in pages so any period streams in constant memory."""
    currency = await _currency(uow, who, currency)
    return _download(_wallet_csv(uow, model.wallet(who.user_id, currency), span), "statement.csv")


async def _wallet_csv(uow: UnitOfWork, account: model.AccountRef, span: Span) -> AsyncIterator[str]:
    yield _csv([WALLET_COLUMNS])
    after = 0
    while True:
        async with uow:
            lines = await statements.wallet_lines(uow.session, account, span, after_id=after, limit=PAGE)
        rows = (_line(x, account.currency).model_dump(mode="json") for x in lines)
        yield _csv([[row[c] if row[c] is not None else "" for c in WALLET_COLUMNS] for row in rows])
        if len(lines) < PAGE:
            return
        after = lines[-1].entry_id


FIGURE_COLUMNS = tuple(FiguresOut.model_fields)


async def _statement_csv(found: list[Figures]) -> AsyncIterator[str]:
    yield _csv([FIGURE_COLUMNS])
    rows = (_figures(x).model_dump() for x in found)
    yield _csv([[row[c] for c in FIGURE_COLUMNS] for row in rows])


async def _tenant(tenant_id: int, span: Span, group: Group, uow: UnitOfWork) -> list[Figures]:
    try:
        return await statements.operator_statement(tenant_id, span, group, uow=uow)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


async def _investor(user_id: int, span: Span, group: Group, uow: UnitOfWork) -> list[Figures]:
    try:
        return await statements.investor_statement(user_id, span, group, uow=uow)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


TenantQuery = Annotated[int, Query(ge=1, le=DB_INT_MAX)]


@operator.get("/statements")
async def tenant_statement(
    tenant_id: TenantQuery, span: SpanDep, uow: UowDep, group: GroupQuery = "month"
) -> StatementOut:
    """The tenant's settlements, platform fees, refunds, promotions and sessions per period."""
    return StatementOut(group=group, items=[_figures(x) for x in await _tenant(tenant_id, span, group, uow)])


@operator.get("/statements.csv", response_class=StreamingResponse)
async def tenant_statement_csv(
    tenant_id: TenantQuery, span: SpanDep, uow: UowDep, group: GroupQuery = "month"
) -> StreamingResponse:
    found = await _tenant(tenant_id, span, group, uow)
    return _download(_statement_csv(found), f"statement-tenant-{tenant_id}.csv")


@operator.get("/investors/{user_id}/statement")
async def investor_statement(
    user_id: DbId, span: SpanDep, uow: UowDep, group: GroupQuery = "month"
) -> StatementOut:
    """The same figures for the sessions at the investor's sites only."""
    return StatementOut(group=group, items=[_figures(x) for x in await _investor(user_id, span, group, uow)])


@operator.get("/investors/{user_id}/statement.csv", response_class=StreamingResponse)
async def investor_statement_csv(
    user_id: DbId, span: SpanDep, uow: UowDep, group: GroupQuery = "month"
) -> StreamingResponse:
    found = await _investor(user_id, span, group, uow)
    return _download(_statement_csv(found), f"statement-investor-{user_id}.csv")
