"""Recharging a wallet: the payment provider port, starting a recharge, and acting on callbacks.

A recharge is a ``PaymentOrderRow`` (Created) that a provider's checkout is opened for. Money
arrives only through a signed callback: ``handle_callback`` stores the provider's event and, in
the same transaction, marks the order Paid and posts its ledger entry. The event's unique
(provider, event id) makes a replay change nothing; the order's conditional status change and
the entry's key ``recharge:<order id>`` make two different "paid" events credit once. A failed
or closed event never undoes a Paid order, whatever order the events come in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from chargepoints.ports import Clock
from csms import audit
from csms.accounts.tables import TenantRow
from csms.billing import ledger, rules
from csms.billing.errors import BillingError, Conflict, NotFound
from csms.billing.model import AccountKind
from csms.billing.tables import LedgerAccountRow, PaymentEventRow, PaymentOrderRow, RechargePackageRow
from tariffs.currency import minor_unit

log = logging.getLogger(__name__)

MAX_RECHARGE = Decimal(100_000)
_SYSTEM = "payments"  # who the ledger says posted a recharge: the callback, not a person


@dataclass(frozen=True, slots=True)
class Checkout:
    """What the app needs to pay: the provider's reference, a page to open, or SDK parameters."""

    provider_ref: str
    pay_url: str | None
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class Callback:
    """A verified callback, read into our terms. ``kind`` is "paid", "failed", "closed" or the
    provider's own event type for events we only keep."""

    event_id: str
    provider_ref: str | None
    order_id: int | None
    kind: str
    paid: bool
    amount: Decimal | None
    currency: str | None
    payload: dict[str, Any]


class PaymentProvider(Protocol):
    name: str

    async def checkout(self, order: PaymentOrderRow) -> Checkout: ...

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> Callback:
        """Raises a ``signatures.CallbackRejected``: BadSignature, StaleCallback, MalformedCallback."""
        ...


class ProviderUnavailable(BillingError):
    """The provider did not open a checkout (down, refused, misconfigured)."""


class _Raced(Exception):
    """Another transaction changed the order after this one read it: run this one again."""


class Outcome(StrEnum):
    CREDITED = "credited"  # the order became Paid and the wallet was credited
    DUPLICATE = "duplicate"  # this event was handled before: nothing changed
    RECORDED = "recorded"  # kept; the order moved to Failed/Closed, or was already final
    MISMATCH = "mismatch"  # paid, but not the order's amount or currency: kept, not credited
    UNKNOWN_ORDER = "unknown_order"  # kept; no order of ours matches


@dataclass(frozen=True, slots=True)
class RechargeAsk:
    """A driver's recharge: an amount in the tenant's currency, or one of its packages."""

    user_id: int
    tenant_id: int
    provider: str
    amount: Decimal | None = None
    package_id: int | None = None


def merchant_order_no(order_id: int) -> str:
    """Our order number as providers keep it (WeChat Pay wants 6 to 32 characters)."""
    return f"CSMS{order_id:012d}"


def order_id_of(merchant_no: str | None) -> int | None:
    if merchant_no is None or not merchant_no.startswith("CSMS") or not merchant_no[4:].isdigit():
        return None
    return int(merchant_no[4:])


async def start_recharge(
    ask: RechargeAsk, provider: PaymentProvider, *, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[PaymentOrderRow, Checkout]:
    """Create the order, then open the provider's checkout for it (outside the transaction: it
    may call the provider). An order whose checkout failed is marked Failed."""
    async with sessions() as session:
        order = await _new_order(session, ask, clock.now())
        await session.commit()
        await session.refresh(order)
    try:
        checkout = await provider.checkout(order)
    except ProviderUnavailable:
        await _set_status(sessions, order, "Failed")
        raise
    async with sessions() as session:
        row = await session.get(PaymentOrderRow, order.id)
        assert row is not None
        row.provider_ref = checkout.provider_ref
        await session.commit()
        await session.refresh(row)
    return row, checkout


async def _new_order(session: AsyncSession, ask: RechargeAsk, now: datetime) -> PaymentOrderRow:
    if ask.package_id is not None:
        package = await session.get(RechargePackageRow, ask.package_id)
        if package is None or package.tenant_id != ask.tenant_id or not package.active:
            raise NotFound(f"No recharge package {ask.package_id}")
        amount, bonus, currency = package.pay, package.bonus, package.currency
    else:
        tenant = await session.get(TenantRow, ask.tenant_id)
        assert tenant is not None and ask.amount is not None
        amount, bonus, currency = ask.amount, Decimal(0), tenant.currency
        if not Decimal(0) < amount <= MAX_RECHARGE or amount % minor_unit(currency):
            raise Conflict(
                f"A recharge is more than 0, at most {MAX_RECHARGE}, in whole {minor_unit(currency)}"
            )
    order = PaymentOrderRow(
        user_id=ask.user_id,
        tenant_id=ask.tenant_id,
        provider=ask.provider,
        amount=amount,
        bonus=bonus,
        currency=currency,
        package_id=ask.package_id,
        created_at=now,
    )
    session.add(order)
    await session.flush()
    return order


async def _set_status(
    sessions: async_sessionmaker[AsyncSession], order: PaymentOrderRow, status: str
) -> None:
    async with sessions() as session:
        query = update(PaymentOrderRow).where(col(PaymentOrderRow.id) == order.id).values(status=status)
        await session.execute(query)
        await session.commit()


async def handle_callback(
    provider: str, callback: Callback, *, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> Outcome:
    """Store the event and act on it in one transaction. Two "paid" events for one order racing
    each other: the loser's transaction fails on the order's guard or the entry's key, and is
    run again, when it finds the order Paid and only keeps its event."""
    for _ in range(2):
        async with sessions() as session:
            try:
                outcome = await _handle(session, provider, callback, clock.now())
                await session.commit()
                return outcome
            except (IntegrityError, _Raced):
                await session.rollback()
                if await _seen(session, provider, callback.event_id):
                    return Outcome.DUPLICATE
    raise Conflict(f"Event {callback.event_id} kept colliding; the provider will retry it")


async def _seen(session: AsyncSession, provider: str, event_id: str) -> bool:
    query = select(PaymentEventRow.id).where(
        col(PaymentEventRow.provider) == provider, col(PaymentEventRow.event_id) == event_id
    )
    return (await session.execute(query)).first() is not None


async def _handle(session: AsyncSession, provider: str, callback: Callback, now: datetime) -> Outcome:
    if await _seen(session, provider, callback.event_id):
        return Outcome.DUPLICATE
    order = await _order_of(session, provider, callback)
    event = PaymentEventRow(
        provider=provider,
        event_id=callback.event_id,
        order_id=order.id if order else None,
        kind=callback.kind,
        payload=callback.payload,
        received_at=now,
    )
    session.add(event)
    await session.flush()  # a concurrent replay of this event stops here
    if order is None:
        log.warning("%s event %s names no order of ours", provider, callback.event_id)
        return Outcome.UNKNOWN_ORDER
    if callback.paid:
        return await _paid(session, order, callback, now)
    if callback.kind in ("failed", "closed"):
        status = "Failed" if callback.kind == "failed" else "Closed"
        await _move(session, order, status, only_from=("Created",))
    return Outcome.RECORDED


async def _order_of(session: AsyncSession, provider: str, callback: Callback) -> PaymentOrderRow | None:
    if callback.order_id is not None:
        order = await session.get(PaymentOrderRow, callback.order_id)
        return order if order is not None and order.provider == provider else None
    if callback.provider_ref is None:
        return None
    query = select(PaymentOrderRow).where(
        col(PaymentOrderRow.provider) == provider, col(PaymentOrderRow.provider_ref) == callback.provider_ref
    )
    return (await session.execute(query)).scalars().first()


async def _paid(session: AsyncSession, order: PaymentOrderRow, callback: Callback, now: datetime) -> Outcome:
    """Credit the order once. Money that arrives after a failed or closed event is still money
    received, so any order not yet Paid is credited."""
    if order.status == "Paid":
        return Outcome.RECORDED
    if callback.amount != order.amount or (callback.currency or "").upper() != order.currency:
        log.warning(
            "%s event %s pays %s %s for order %s of %s %s: not credited",
            order.provider,
            callback.event_id,
            callback.amount,
            callback.currency,
            order.id,
            order.amount,
            order.currency,
        )
        return Outcome.MISMATCH
    if not await _move(session, order, "Paid", only_from=("Created", "Failed", "Closed"), paid_at=now):
        raise _Raced(order.id)
    assert order.id is not None
    entry = rules.recharge(
        order.id, order.user_id, order.tenant_id, order.provider, order.amount, order.bonus, order.currency
    )
    await ledger.post(session, entry, actor=f"{_SYSTEM}:{order.provider}", at=now)
    return Outcome.CREDITED


async def _move(
    session: AsyncSession,
    order: PaymentOrderRow,
    status: str,
    *,
    only_from: tuple[str, ...],
    paid_at: datetime | None = None,
) -> bool:
    """Change the order's status only from one of ``only_from``: the row lock makes a second
    transaction doing the same wait, then find nothing to change."""
    values: dict[str, Any] = {"status": status} | ({"paid_at": paid_at} if paid_at else {})
    query = (
        update(PaymentOrderRow)
        .where(col(PaymentOrderRow.id) == order.id, col(PaymentOrderRow.status).in_(only_from))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(query)
    return bool(getattr(result, "rowcount", 0))


async def receive(
    provider: PaymentProvider,
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> Outcome:
    """A callback as it arrived: verified over its raw bytes, then handled. Raises
    ``signatures.CallbackRejected`` for one we must not act on."""
    callback = provider.verify(headers, raw_body, clock.now())
    return await handle_callback(provider.name, callback, sessions=sessions, clock=clock)


@dataclass(frozen=True, slots=True)
class WalletLine:
    """One currency of a driver's wallet: what may be spent, and what running sessions hold."""

    currency: str
    balance: Decimal
    held: Decimal


async def wallet_lines(session: AsyncSession, user_id: int) -> list[WalletLine]:
    """The driver's wallet and holds accounts, one line per currency (cached balances)."""
    query = select(LedgerAccountRow).where(
        col(LedgerAccountRow.owner) == f"user:{user_id}",
        col(LedgerAccountRow.kind).in_((AccountKind.WALLET.value, AccountKind.HOLDS.value)),
    )
    found: dict[str, dict[str, Decimal]] = {}
    for row in (await session.execute(query)).scalars():
        found.setdefault(row.currency, {})[row.kind] = row.balance
    return [
        WalletLine(
            currency,
            sides.get(AccountKind.WALLET.value, Decimal(0)),
            sides.get(AccountKind.HOLDS.value, Decimal(0)),
        )
        for currency, sides in sorted(found.items())
    ]


async def order_of(session: AsyncSession, user_id: int, order_id: int) -> PaymentOrderRow:
    order = await session.get(PaymentOrderRow, order_id)
    if order is None or order.user_id != user_id:
        raise NotFound(f"No recharge {order_id}")
    return order


@dataclass(frozen=True, slots=True)
class NewPackage:
    tenant_id: int
    name: str
    pay: Decimal
    bonus: Decimal
    currency: str | None = None  # default: the tenant's


async def create_package(
    session: AsyncSession, spec: NewPackage, *, actor: str, at: datetime
) -> RechargePackageRow:
    """Add a package ("pay 100, get 105") and audit it; the caller commits."""
    tenant = await session.get(TenantRow, spec.tenant_id)
    if tenant is None:
        raise NotFound(f"No tenant {spec.tenant_id}")
    currency = spec.currency or tenant.currency
    unit = minor_unit(currency)
    if not Decimal(0) < spec.pay <= MAX_RECHARGE or spec.bonus < 0 or spec.pay % unit or spec.bonus % unit:
        raise Conflict(
            f"A package pays more than 0, at most {MAX_RECHARGE}, in whole {unit}; its bonus is not negative"
        )
    row = RechargePackageRow(
        tenant_id=spec.tenant_id,
        name=spec.name,
        pay=spec.pay,
        bonus=spec.bonus,
        currency=currency,
        created_at=at,
    )
    session.add(row)
    await session.flush()
    details = {"name": spec.name, "pay": str(spec.pay), "bonus": str(spec.bonus), "currency": currency}
    audit.record(
        session,
        actor=actor,
        action="recharge_package.create",
        subject=f"recharge_package:{row.id}",
        details=details,
        at=at,
    )
    return row


async def packages(session: AsyncSession, tenant_id: int, *, active_only: bool) -> list[RechargePackageRow]:
    query = select(RechargePackageRow).where(col(RechargePackageRow.tenant_id) == tenant_id)
    if active_only:
        query = query.where(col(RechargePackageRow.active))
    return list((await session.execute(query.order_by(col(RechargePackageRow.pay)))).scalars())


async def deactivate_package(
    session: AsyncSession, package_id: int, *, actor: str, at: datetime
) -> RechargePackageRow:
    """Stop offering a package; orders already made with it are paid as they were made."""
    row = await session.get(RechargePackageRow, package_id)
    if row is None:
        raise NotFound(f"No recharge package {package_id}")
    if row.active:
        row.active = False
        audit.record(
            session,
            actor=actor,
            action="recharge_package.deactivate",
            subject=f"recharge_package:{package_id}",
            details={},
            at=at,
        )
    return row
