"""Driver API for the wallet: balances, history, and recharging through a payment provider.
Amounts travel as decimal strings; a recharge is credited only when the provider's signed
callback arrives, so the app polls the recharge (or the wallet) after paying."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from csms.billing import ledger, model, payments
from csms.billing.errors import Conflict, NotFound
from csms.billing.payments import ProviderUnavailable, RechargeAsk
from csms.billing.providers import Providers
from csms.billing.tables import PaymentOrderRow
from tariffs.currency import billed
from web.deps import DB_INT_MAX, BodyId, ClockDep, CurrentDriver, DbId, IdempotencyKey, SessionDep

router = APIRouter(prefix="/api/v1/me/wallet", tags=["wallet"])


def _providers(request: Request) -> Providers:
    providers: Providers = request.app.state.system.payment_providers
    return providers


ProvidersDep = Annotated[Providers, Depends(_providers)]


class WalletLineOut(BaseModel):
    currency: str
    balance: Decimal = Field(description="What may be spent")
    held: Decimal = Field(description="Set aside while sessions charge")


class WalletOut(BaseModel):
    currencies: list[WalletLineOut]


class HistoryLineOut(BaseModel):
    entry_id: int
    kind: str = Field(examples=["recharge"])
    memo: str | None
    amount: Decimal = Field(description="What the entry did to the wallet: + in, - out")
    at: datetime


class HistoryOut(BaseModel):
    items: list[HistoryLineOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next (older) page")


class RechargeIn(BaseModel):
    """An amount in the operator's currency, or one of its packages."""

    model_config = ConfigDict(extra="forbid")

    amount: Decimal | None = Field(
        default=None, gt=0, le=payments.MAX_RECHARGE, max_digits=15, decimal_places=3
    )
    package_id: BodyId | None = None
    provider: str | None = Field(default=None, max_length=20, description="Default: the deployment's")

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.amount is None) == (self.package_id is None):
            raise ValueError("give either amount or package_id")
        return self


class CheckoutOut(BaseModel):
    provider_ref: str
    pay_url: str | None
    params: dict[str, str]


class RechargeOut(BaseModel):
    order_id: int
    provider: str
    status: str = Field(examples=["Created"])
    amount: Decimal
    bonus: Decimal
    currency: str
    created_at: datetime
    paid_at: datetime | None


class StartedOut(RechargeOut):
    checkout: CheckoutOut


def _recharge(order: PaymentOrderRow) -> dict[str, object]:
    return {
        "order_id": order.id,
        "provider": order.provider,
        "status": order.status,
        "amount": billed(order.amount, order.currency),
        "bonus": billed(order.bonus, order.currency),
        "currency": order.currency,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
    }


@router.get("")
async def get_wallet(driver: CurrentDriver, session: SessionDep) -> WalletOut:
    lines = await payments.wallet_lines(session, driver.user_id)
    return WalletOut(
        currencies=[
            WalletLineOut(
                currency=x.currency, balance=billed(x.balance, x.currency), held=billed(x.held, x.currency)
            )
            for x in lines
        ]
    )


@router.get("/history")
async def wallet_history(
    driver: CurrentDriver,
    session: SessionDep,
    currency: Annotated[str, Query(pattern="^[A-Z]{3}$")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=DB_INT_MAX)] = None,
) -> HistoryOut:
    """The wallet's entries in one currency, newest first; page on with ``before_id``."""
    found = await ledger.entries(
        session, model.wallet(driver.user_id, currency), limit=limit, before_id=before_id
    )
    items = [
        HistoryLineOut(
            entry_id=row.id or 0,
            kind=row.kind,
            memo=row.memo,
            amount=billed(amount, currency),
            at=row.created_at,
        )
        for row, amount in found
    ]
    return HistoryOut(items=items, next_before_id=items[-1].entry_id if len(items) == limit else None)


@router.post("/recharges", status_code=status.HTTP_201_CREATED)
async def start_recharge(
    body: RechargeIn,
    driver: CurrentDriver,
    _idempotent: IdempotencyKey,
    request: Request,
    providers: ProvidersDep,
    clock: ClockDep,
) -> StartedOut:
    """Open a checkout; the wallet is credited when the provider confirms the payment."""
    try:
        provider = providers.get(body.provider)
        ask = RechargeAsk(driver.user_id, driver.tenant_id, provider.name, body.amount, body.package_id)
        order, checkout = await payments.start_recharge(
            ask, provider, sessions=request.app.state.sessions, clock=clock
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(422, str(exc)) from None
    except ProviderUnavailable as exc:
        raise HTTPException(502, str(exc)) from None
    out = CheckoutOut(provider_ref=checkout.provider_ref, pay_url=checkout.pay_url, params=checkout.params)
    return StartedOut.model_validate({**_recharge(order), "checkout": out})


@router.get("/recharges/{order_id}")
async def get_recharge(order_id: DbId, driver: CurrentDriver, session: SessionDep) -> RechargeOut:
    """One of the driver's recharges; another driver's does not exist for them."""
    try:
        order = await payments.order_of(session, driver.user_id, order_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return RechargeOut.model_validate(_recharge(order))
