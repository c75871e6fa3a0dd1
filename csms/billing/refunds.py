"""Refunds: a driver asks, an operator approves or rejects; an operator may also refund a session
outright.

A wallet refund goes back to the payments the money came from: the driver's paid orders, newest
first, one ledger entry per order (``refund:<refund id>:<order id>``). A session refund moves
money from the operator's refunds account into the wallet (``refund:<refund id>``). Approval
claims the refund with a conditional UPDATE (Requested -> Approved), so of two concurrent
approvals one posts and the other finds it decided. The ledger entries are committed before the
provider is asked to pay, so the money cannot be spent meanwhile; a provider that fails leaves
the refund Approved, with its entries posted, for reconciliation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from chargepoints.ports import Clock
from csms import audit
from csms.accounts.tables import TenantRow, UserRow
from csms.billing import ledger, model, rules
from csms.billing.errors import Conflict, InsufficientFunds, InvalidAmount, NotFound
from csms.billing.model import AccountKind
from csms.billing.ports import RefundSender
from csms.billing.tables import LedgerAccountRow, LedgerPostingRow, PaymentOrderRow, RefundRow
from tariffs.currency import minor_unit

REQUESTED, APPROVED, REJECTED, PAID = "Requested", "Approved", "Rejected", "Paid"
_OPEN = (REQUESTED, APPROVED, PAID)  # what counts against what may still be refunded


@dataclass(frozen=True, slots=True)
class Ask:
    """A refund asked for: of wallet money (optionally from one order) or of a session."""

    user_id: int
    amount: Decimal
    key: str
    requested_by: str
    order_id: int | None = None
    transaction_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a settled session cost its driver, read back from its ``settle:<id>`` entry."""

    user_id: int
    tenant_id: int
    currency: str
    paid: Decimal


def _owner_id(owner: str) -> int:
    return int(owner.split(":", 1)[1])


async def settlement(session: AsyncSession, transaction_id: int) -> Settlement | None:
    found = await ledger.posted(session, f"settle:{transaction_id}")
    if found is None:
        return None
    query = (
        select(col(LedgerAccountRow.kind), col(LedgerAccountRow.owner), col(LedgerAccountRow.currency))
        .add_columns(col(LedgerPostingRow.amount))
        .join(LedgerPostingRow, col(LedgerPostingRow.account_id) == col(LedgerAccountRow.id))
        .where(col(LedgerPostingRow.entry_id) == found.id)
    )
    user_id = tenant_id = None
    paid, currency = Decimal(0), ""
    for kind, owner, posted_in, amount in (await session.execute(query)).all():
        currency = posted_in
        if kind in (AccountKind.WALLET, AccountKind.HOLDS):
            user_id, paid = _owner_id(owner), paid - amount
        elif kind in (AccountKind.REVENUE, AccountKind.PROMOTIONS):
            tenant_id = _owner_id(owner)
    if user_id is None:
        return None
    return Settlement(user_id, tenant_id or 0, currency, paid)


def _total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, Decimal(0))  # in Python: SQLite keeps money as text


async def _claimed(session: AsyncSession, *where: object) -> Decimal:
    query = select(col(RefundRow.amount)).where(col(RefundRow.status).in_(_OPEN), *where)  # type: ignore[arg-type]
    return _total((await session.execute(query)).scalars())


async def _pending(session: AsyncSession, *where: object) -> Decimal:
    query = select(col(RefundRow.amount)).where(col(RefundRow.status) == REQUESTED, *where)  # type: ignore[arg-type]
    return _total((await session.execute(query)).scalars())


async def _currency(session: AsyncSession, user_id: int) -> str:
    query = select(col(TenantRow.currency)).join(UserRow, col(UserRow.tenant_id) == col(TenantRow.id))
    found = (await session.execute(query.where(col(UserRow.id) == user_id))).scalars().first()
    if found is None:
        raise NotFound(f"User {user_id} not found")
    return found


def _check_amount(amount: Decimal, currency: str) -> None:
    if amount <= 0 or amount % minor_unit(currency) != 0:
        raise InvalidAmount(f"A refund is a positive amount in whole {minor_unit(currency)} {currency}")


async def _paid_orders(session: AsyncSession, user_id: int, currency: str) -> list[PaymentOrderRow]:
    """The user's paid orders, newest first, locked (on PostgreSQL) while a refund takes from them."""
    query = (
        select(PaymentOrderRow)
        .where(
            col(PaymentOrderRow.user_id) == user_id,
            col(PaymentOrderRow.currency) == currency,
            col(PaymentOrderRow.status) == PAID,
        )
        .order_by(col(PaymentOrderRow.created_at).desc(), col(PaymentOrderRow.id).desc())
        .with_for_update()
    )
    return [o for o in (await session.execute(query)).scalars() if o.amount > o.refunded]


async def _wallet_room(session: AsyncSession, ask: Ask, currency: str) -> Decimal:
    """What a wallet refund may take: no more than the wallet holds (its holds are already out of
    it) nor than the orders paid and not refunded, less refunds still waiting for a decision."""
    wallet = await ledger.cached_balance(session, model.wallet(ask.user_id, currency))
    mine = col(RefundRow.user_id) == ask.user_id
    waiting = await _pending(session, mine, col(RefundRow.transaction_id).is_(None))
    if ask.order_id is None:
        orders = await _paid_orders(session, ask.user_id, currency)
        refundable = _total(o.amount - o.refunded for o in orders) - waiting
    else:
        order = await session.get(PaymentOrderRow, ask.order_id)
        if order is None or order.user_id != ask.user_id:
            raise NotFound(f"Order {ask.order_id} not found")
        if order.status != PAID:
            raise Conflict(f"Order {ask.order_id} was not paid")
        refundable = (
            order.amount - order.refunded - await _pending(session, col(RefundRow.order_id) == order.id)
        )
    return min(wallet - waiting, refundable)


async def _session_room(session: AsyncSession, ask: Ask) -> tuple[Decimal, str]:
    assert ask.transaction_id is not None
    settled = await settlement(session, ask.transaction_id)
    if settled is None or settled.user_id != ask.user_id:
        raise NotFound(f"No settled session {ask.transaction_id} of yours")
    claimed = await _claimed(session, col(RefundRow.transaction_id) == ask.transaction_id)
    return settled.paid - claimed, settled.currency


async def by_key(session: AsyncSession, key: str) -> RefundRow | None:
    return (await session.execute(select(RefundRow).where(col(RefundRow.key) == key))).scalars().first()


async def request(sessions: async_sessionmaker[AsyncSession], ask: Ask, *, clock: Clock) -> RefundRow:
    """Record a driver's refund request (Requested); asking again with the same key finds it."""
    async with sessions() as session:
        existing = await by_key(session, ask.key)
        if existing is not None:
            return existing
        if ask.transaction_id is not None:
            room, currency = await _session_room(session, ask)
        else:
            currency = await _currency(session, ask.user_id)
            room = await _wallet_room(session, ask, currency)
        _check_amount(ask.amount, currency)
        if ask.amount > room:
            raise InsufficientFunds(f"At most {max(room, Decimal(0))} {currency} can be refunded")
        row = _row(ask, currency, clock.now())
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:  # a concurrent twin with the same key won
            await session.rollback()
            twin = await by_key(session, ask.key)
            if twin is None:
                raise
            return twin
        return row


def _row(ask: Ask, currency: str, at: datetime) -> RefundRow:
    return RefundRow(
        key=ask.key,
        user_id=ask.user_id,
        order_id=ask.order_id,
        transaction_id=ask.transaction_id,
        amount=ask.amount,
        currency=currency,
        reason=ask.reason,
        requested_by=ask.requested_by,
        created_at=at,
    )


async def _claim(session: AsyncSession, refund_id: int, to: str, actor: str, at: datetime) -> bool:
    """Decide a Requested refund; False when someone else decided it first."""
    statement = (
        update(RefundRow)
        .where(col(RefundRow.id) == refund_id, col(RefundRow.status) == REQUESTED)
        .values(status=to, decided_by=actor, decided_at=at)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def _reread(sessions: async_sessionmaker[AsyncSession], refund_id: int) -> RefundRow:
    async with sessions() as session:
        row = await session.get(RefundRow, refund_id)
        if row is None:
            raise NotFound(f"Refund {refund_id} not found")
        return row


async def approve(
    sessions: async_sessionmaker[AsyncSession],
    refund_id: int,
    *,
    actor: str,
    clock: Clock,
    sender: RefundSender,
) -> RefundRow:
    """Approve and pay a requested refund. Approving a decided refund changes nothing (a rejected
    one is a Conflict); of concurrent approvals, one posts and pays."""
    row = await _reread(sessions, refund_id)
    if row.status == REJECTED:
        raise Conflict(f"Refund {refund_id} was rejected")
    if row.status != REQUESTED:
        return row
    at = clock.now()
    async with sessions() as session:
        if not await _claim(session, refund_id, PAID if row.transaction_id else APPROVED, actor, at):
            await session.rollback()
            return await approve(sessions, refund_id, actor=actor, clock=clock, sender=sender)
        parts = await _post(session, row, actor, at)
        _audit(session, row, "refund.approve", actor, at)
        await session.commit()
    for order, amount in parts:
        await sender.refund(order, amount)
    if parts:
        async with sessions() as session:
            await session.execute(update(RefundRow).where(col(RefundRow.id) == refund_id).values(status=PAID))
            await session.commit()
    return await _reread(sessions, refund_id)


async def _post(
    session: AsyncSession, row: RefundRow, actor: str, at: datetime
) -> list[tuple[PaymentOrderRow, Decimal]]:
    """Post the refund's entries; the orders and amounts the provider is to pay back."""
    assert row.id is not None
    if row.transaction_id is not None:
        settled = await settlement(session, row.transaction_id)
        assert settled is not None  # checked when it was asked for; settlements are never removed
        entry = rules.refund_session(row.id, row.user_id, settled.tenant_id, row.amount, row.currency)
        await ledger.post(session, entry, actor=actor, at=at)
        return []
    if await ledger.cached_balance(session, model.wallet(row.user_id, row.currency)) < row.amount:
        raise InsufficientFunds("The wallet no longer holds this much")
    orders = await _paid_orders(session, row.user_id, row.currency)
    if row.order_id is not None:
        orders = [o for o in orders if o.id == row.order_id]
    parts, left = [], row.amount
    for order in orders:
        take = min(left, order.amount - order.refunded)
        entry = rules.refund_wallet(
            row.id, row.user_id, order.provider, take, row.currency, order_id=order.id
        )
        await ledger.post(session, entry, actor=actor, at=at)
        order.refunded += take
        parts.append((order, take))
        left -= take
        if left == 0:
            return parts
    raise InsufficientFunds("The paid orders no longer hold this much")


def _audit(session: AsyncSession, row: RefundRow, action: str, actor: str, at: datetime) -> None:
    details = {
        "amount": str(row.amount),
        "currency": row.currency,
        "user_id": row.user_id,
        "order_id": row.order_id,
        "transaction_id": row.transaction_id,
    }
    audit.record(session, actor=actor, action=action, subject=f"refund:{row.id}", details=details, at=at)


async def reject(
    sessions: async_sessionmaker[AsyncSession], refund_id: int, *, actor: str, clock: Clock
) -> RefundRow:
    """Reject a requested refund; rejecting it again changes nothing, an approved one is a Conflict."""
    row = await _reread(sessions, refund_id)
    if row.status == REQUESTED:
        at = clock.now()
        async with sessions() as session:
            if await _claim(session, refund_id, REJECTED, actor, at):
                _audit(session, row, "refund.reject", actor, at)
            await session.commit()
        row = await _reread(sessions, refund_id)
    if row.status != REJECTED:
        raise Conflict(f"Refund {refund_id} was already {row.status.lower()}")
    return row


async def refund_session(
    sessions: async_sessionmaker[AsyncSession], ask: Ask, *, actor: str, clock: Clock
) -> RefundRow:
    """An operator's refund of a settled session into the driver's wallet: paid at once, audited.
    ``ask.user_id`` is ignored: the session's settlement names the driver."""
    assert ask.transaction_id is not None
    at = clock.now()
    async with sessions() as session:
        existing = await by_key(session, ask.key)
        if existing is not None:
            return existing
        settled = await settlement(session, ask.transaction_id)
        if settled is None:
            raise NotFound(f"No settled session {ask.transaction_id}")
        ask = replace(ask, user_id=settled.user_id)
        room, currency = await _session_room(session, ask)
        _check_amount(ask.amount, currency)
        if ask.amount > room:
            raise InsufficientFunds(f"At most {max(room, Decimal(0))} {currency} can be refunded")
        row = _row(ask, currency, at)
        row.status, row.decided_by, row.decided_at = PAID, actor, at
        session.add(row)
        await session.flush()
        await _post(session, row, actor, at)
        _audit(session, row, "refund.session", actor, at)
        await session.commit()
        return row


async def listed(
    session: AsyncSession, *, status: str | None, user_id: int | None, limit: int, offset: int
) -> tuple[list[RefundRow], int]:
    """Refunds newest first, optionally of one status or one driver, with their total count."""
    where = [col(RefundRow.status) == status] if status else []
    if user_id is not None:
        where.append(col(RefundRow.user_id) == user_id)
    query = select(RefundRow).where(*where).order_by(col(RefundRow.id).desc()).limit(limit).offset(offset)
    total = await session.scalar(select(func.count()).select_from(RefundRow).where(*where))
    return list((await session.execute(query)).scalars()), int(total or 0)
