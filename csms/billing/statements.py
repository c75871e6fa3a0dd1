"""Statements read from the ledger: a driver's wallet history with its running balance, and the
figures of an operator (or of one investor's sites) per day or month and currency.

Everything is computed from postings, the ledger's truth, never from cached balances. Amounts are
summed in Python: SQLite stores money as text, which SQL arithmetic would turn into floats. The
operator figures are folded entry by entry in batches, so a long period runs in constant memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import String, and_, cast, literal, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints.repository import UnitOfWork
from chargepoints.tables import StationRow, TransactionRow
from csms.accounts.model import Role
from csms.accounts.portal_tables import SiteInvestorRow
from csms.accounts.tables import TenantRow, UserRow
from csms.billing import ledger
from csms.billing.errors import NotFound
from csms.billing.model import AccountKind, AccountRef, EntryKind
from csms.billing.tables import LedgerAccountRow, LedgerEntryRow, LedgerPostingRow, RefundRow

Group = Literal["day", "month"]
BATCH = 500


@dataclass(frozen=True, slots=True)
class Span:
    """UTC dates [since, until)."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until, time(), UTC)


@dataclass(frozen=True, slots=True)
class WalletLine:
    entry_id: int
    at: datetime
    kind: str
    key: str
    memo: str | None
    amount: Decimal
    balance: Decimal  # the wallet's balance once this entry was posted


@dataclass
class Figures:
    """One period's takings in one currency, as positive amounts (refunds and promotions are
    what the operator paid out)."""

    period: str
    currency: str
    sessions: int = 0
    revenue: Decimal = Decimal(0)  # settlements, net of the platform's fee
    platform_fees: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    bonuses: Decimal = Decimal(0)
    discounts: Decimal = Decimal(0)

    @property
    def promotions(self) -> Decimal:
        return self.bonuses + self.discounts


@dataclass
class _Entry:
    id: int
    kind: str
    at: datetime
    postings: list[tuple[str, str, str, Decimal]] = field(
        default_factory=list
    )  # kind, owner, currency, amount


def bucket(at: datetime, group: Group) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d" if group == "day" else "%Y-%m")


def _in_span(span: Span) -> Any:
    return and_(col(LedgerEntryRow.created_at) >= span.start, col(LedgerEntryRow.created_at) < span.end)


async def _sum(session: AsyncSession, account_id: int, where: Any) -> Decimal:
    query = (
        select(col(LedgerPostingRow.amount))
        .join(LedgerEntryRow, col(LedgerEntryRow.id) == col(LedgerPostingRow.entry_id))
        .where(col(LedgerPostingRow.account_id) == account_id, where)
    )
    return sum((await session.execute(query)).scalars(), Decimal(0))


async def tenant_currency(session: AsyncSession, tenant_id: int) -> str:
    tenant = await session.get(TenantRow, tenant_id)
    if tenant is None:
        raise NotFound(f"Tenant {tenant_id} not found")
    return tenant.currency


async def wallet_balances(session: AsyncSession, account: AccountRef, span: Span) -> tuple[Decimal, Decimal]:
    """The wallet's balance when the span opens and when it closes."""
    account_id = await ledger.account_id(session, account)
    if account_id is None:
        return Decimal(0), Decimal(0)
    opening = await _sum(session, account_id, col(LedgerEntryRow.created_at) < span.start)
    return opening, opening + await _sum(session, account_id, _in_span(span))


async def wallet_lines(
    session: AsyncSession, account: AccountRef, span: Span, *, after_id: int, limit: int
) -> list[WalletLine]:
    """The wallet's postings in the span, oldest first, after entry ``after_id``; each line
    carries the balance it left, so any page stands on its own."""
    account_id = await ledger.account_id(session, account)
    if account_id is None:
        return []
    before = or_(
        col(LedgerEntryRow.created_at) < span.start,
        and_(_in_span(span), col(LedgerEntryRow.id) <= after_id),
    )
    balance = await _sum(session, account_id, before)
    query = (
        select(LedgerEntryRow, col(LedgerPostingRow.amount))
        .join(LedgerPostingRow, col(LedgerPostingRow.entry_id) == col(LedgerEntryRow.id))
        .where(
            col(LedgerPostingRow.account_id) == account_id, _in_span(span), col(LedgerEntryRow.id) > after_id
        )
        .order_by(col(LedgerEntryRow.id), col(LedgerPostingRow.id))
        .limit(limit)
    )
    lines = []
    for row, amount in (await session.execute(query)).all():
        balance += amount
        assert row.id is not None
        lines.append(WalletLine(row.id, row.created_at, row.kind, row.key, row.memo, amount, balance))
    return lines


def fold(figures: dict[tuple[str, str], Figures], entry: _Entry, owner: str | None, group: Group) -> None:
    """Add one entry's effect on the ``owner``'s accounts (any tenant's for None) and the
    platform's fee on its session. The rules build every entry in one currency."""
    if not entry.postings:
        return
    currency = entry.postings[0][2]
    mine: dict[str, Decimal] = defaultdict(Decimal)
    for kind, posted_owner, _, amount in entry.postings:
        ours = posted_owner == owner if owner else posted_owner.startswith("tenant:")
        if ours or kind == AccountKind.PLATFORM_FEES:
            mine[kind] += amount
    period = bucket(entry.at, group)
    line = figures.setdefault((period, currency), Figures(period, currency))
    if entry.kind == EntryKind.SETTLE:
        line.sessions += 1
        line.revenue += mine[AccountKind.REVENUE]
        line.platform_fees += mine[AccountKind.PLATFORM_FEES]
        line.discounts -= mine[AccountKind.PROMOTIONS]
    elif entry.kind == EntryKind.RECHARGE:
        line.bonuses -= mine[AccountKind.PROMOTIONS]
    elif entry.kind == EntryKind.REFUND:
        line.refunds -= mine[AccountKind.REFUNDS]


async def _batch(session: AsyncSession, entries: Any, span: Span, after: int) -> list[_Entry]:
    """The next chosen entries after id ``after``, each with its postings, oldest first."""
    query = (
        select(col(LedgerEntryRow.id))
        .where(col(LedgerEntryRow.id).in_(entries), col(LedgerEntryRow.id) > after, _in_span(span))
        .order_by(col(LedgerEntryRow.id))
        .limit(BATCH)
    )
    ids = list((await session.execute(query)).scalars())
    postings = (
        select(LedgerEntryRow, LedgerAccountRow, col(LedgerPostingRow.amount))
        .join(LedgerPostingRow, col(LedgerPostingRow.entry_id) == col(LedgerEntryRow.id))
        .join(LedgerAccountRow, col(LedgerAccountRow.id) == col(LedgerPostingRow.account_id))
        .where(col(LedgerEntryRow.id).in_(ids))
    )
    found: dict[int, _Entry] = {}
    for row, account, amount in (await session.execute(postings)).all():
        assert row.id is not None
        entry = found.setdefault(row.id, _Entry(row.id, row.kind, row.created_at))
        entry.postings.append((account.kind, account.owner, account.currency, amount))
    return [found[i] for i in ids if i in found]


async def _figures(
    uow: UnitOfWork, entries: Any, owner: str | None, span: Span, group: Group
) -> list[Figures]:
    """Fold the postings of the chosen entries (ids from the ``entries`` subquery) in batches,
    a unit of work each, so a long period never holds SQLite's one connection throughout."""
    figures: dict[tuple[str, str], Figures] = {}
    after = 0
    while True:
        async with uow:
            batch = await _batch(uow.session, entries, span, after)
        for entry in batch:
            fold(figures, entry, owner, group)
        if len(batch) < BATCH:
            return sorted(figures.values(), key=lambda f: (f.period, f.currency))
        after = batch[-1].id


def _entries_on(owner: str, kinds: Iterable[EntryKind]) -> Any:
    return (
        select(col(LedgerPostingRow.entry_id))
        .join(LedgerAccountRow, col(LedgerAccountRow.id) == col(LedgerPostingRow.account_id))
        .join(LedgerEntryRow, col(LedgerEntryRow.id) == col(LedgerPostingRow.entry_id))
        .where(col(LedgerAccountRow.owner) == owner, col(LedgerEntryRow.kind).in_([k.value for k in kinds]))
    )


async def operator_statement(tenant_id: int, span: Span, group: Group, *, uow: UnitOfWork) -> list[Figures]:
    """The tenant's settlements, refunds and promotions per period and currency."""
    async with uow:
        await tenant_currency(uow.session, tenant_id)
    owner = f"tenant:{tenant_id}"
    kinds = (EntryKind.SETTLE, EntryKind.REFUND, EntryKind.RECHARGE)
    return await _figures(uow, _entries_on(owner, kinds), owner, span, group)


def _keyed(prefix: str, ids: Any) -> Any:
    """``prefix || id`` for each id of the subquery: the ledger keys those rows' events post."""
    return literal(prefix, String) + cast(ids, String)


async def investor_statement(user_id: int, span: Span, group: Group, *, uow: UnitOfWork) -> list[Figures]:
    """The same figures, for the sessions at the investor's sites only: their settlements and
    the session refunds given back on them."""
    async with uow:
        user = await uow.session.get(UserRow, user_id)
        if user is None or user.role != Role.INVESTOR.value:
            raise NotFound(f"Investor {user_id} not found")
    at_sites = (
        select(col(TransactionRow.id))
        .join(StationRow, col(StationRow.id) == col(TransactionRow.station_id))
        .join(SiteInvestorRow, col(SiteInvestorRow.site_id) == col(StationRow.site_id))
        .where(col(SiteInvestorRow.user_id) == user_id)
    )
    refunds = select(col(RefundRow.id)).where(col(RefundRow.transaction_id).in_(at_sites))
    chosen = select(col(LedgerEntryRow.id)).where(
        or_(
            and_(
                col(LedgerEntryRow.kind) == EntryKind.SETTLE.value,
                col(LedgerEntryRow.key).in_(
                    select(_keyed("settle:", col(TransactionRow.id))).where(
                        col(TransactionRow.id).in_(at_sites)
                    )
                ),
            ),
            and_(
                col(LedgerEntryRow.kind) == EntryKind.REFUND.value,
                col(LedgerEntryRow.key).in_(
                    select(_keyed("refund:", col(RefundRow.id))).where(col(RefundRow.id).in_(refunds))
                ),
            ),
        )
    )
    return await _figures(uow, chosen, None, span, group)
