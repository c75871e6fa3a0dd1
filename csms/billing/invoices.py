"""Post-paid (fleet) accounts: their sessions settle into a negative wallet, the debt, which a
monthly invoice bills and an operator marks paid.

An invoice is unique per user, month and currency, so the monthly job may run again (or on two
nodes) and issue nothing twice. Paying posts ``invoice:<id>`` (wallet +total, the "invoice"
clearing account -total) in the same transaction as the conditional status change, so a repeated
or concurrent "paid" posts once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import String, cast, literal, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.tables import CdrRow
from csms import audit
from csms.accounts.tables import UserRow
from csms.billing import ledger, model
from csms.billing.errors import NotFound
from csms.billing.model import AccountKind, Entry, EntryKind, Posting
from csms.billing.tables import InvoiceRow, LedgerAccountRow, LedgerEntryRow, LedgerPostingRow

ACTOR = "invoices"
PROVIDER = "invoice"  # the clearing account a paid invoice's money arrives through
ISSUED, PAID = "Issued", "Paid"


def month(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a "YYYY-MM" month in UTC; ValueError for anything else."""
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    return start, start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def payment(invoice_id: int, user_id: int, total: Decimal, currency: str) -> Entry:
    """The entry that clears an invoice's debt from the wallet."""
    return Entry(
        f"invoice:{invoice_id}",
        EntryKind.RECHARGE,
        (
            Posting(model.wallet(user_id, currency), total),
            Posting(model.clearing(PROVIDER, currency), -total),
        ),
        f"invoice {invoice_id} paid",
    )


async def set_postpaid(user_id: int, postpaid: bool, actor: str, *, uow: UnitOfWork, clock: Clock) -> UserRow:
    """Make an account post-paid or pre-paid again; audited when it changes."""
    async with uow:
        user = await uow.session.get(UserRow, user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found")
        if user.postpaid != postpaid:
            user.postpaid = postpaid
            details = {"postpaid": postpaid}
            at = clock.now()
            audit.record(
                uow.session,
                actor=actor,
                action="user.postpaid",
                subject=f"user:{user_id}",
                details=details,
                at=at,
            )
            await uow.commit()
    return user


async def _sessions_of_month(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[tuple[int, int, str], tuple[set[int], int, Decimal]]:
    """What each post-paid user's settlements of sessions ended in the month took from them:
    (user, tenant, currency) -> (entry ids, energy, total). The total is what the wallet and its
    hold paid together, so a session settled before the account turned post-paid counts fully."""
    owner = literal("user:", String) + cast(col(UserRow.id), String)
    query = (
        select(UserRow, LedgerAccountRow, LedgerPostingRow, CdrRow)
        .join(LedgerAccountRow, col(LedgerAccountRow.owner) == owner)
        .join(LedgerPostingRow, col(LedgerPostingRow.account_id) == col(LedgerAccountRow.id))
        .join(LedgerEntryRow, col(LedgerEntryRow.id) == col(LedgerPostingRow.entry_id))
        .join(
            CdrRow,
            col(LedgerEntryRow.key) == literal("settle:", String) + cast(col(CdrRow.transaction_id), String),
        )
        .where(
            col(UserRow.postpaid),
            col(LedgerAccountRow.kind).in_([AccountKind.WALLET.value, AccountKind.HOLDS.value]),
            col(LedgerEntryRow.kind) == EntryKind.SETTLE.value,
            col(CdrRow.ended_at) >= start,
            col(CdrRow.ended_at) < end,
        )
    )
    found: dict[tuple[int, int, str], tuple[set[int], int, Decimal]] = defaultdict(
        lambda: (set(), 0, Decimal(0))
    )
    for user, account, posting, cdr in (await session.execute(query)).all():
        assert user.id is not None
        key = (user.id, user.tenant_id, account.currency)
        entries, energy, total = found[key]
        energy += 0 if posting.entry_id in entries else cdr.energy_wh
        entries.add(posting.entry_id)
        found[key] = (entries, energy, total - posting.amount)
    return found


async def issue_invoices(period: str, *, uow: UnitOfWork, clock: Clock) -> int:
    """The monthly job: one invoice per post-paid user and currency for the sessions that ended
    in ``period`` ("YYYY-MM"); returns how many it issued (0 when run again)."""
    start, end = month(period)
    now = clock.now()
    issued = 0
    async with uow:
        found = await _sessions_of_month(uow.session, start, end)
        insert = pg_insert if uow.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        for (user_id, tenant_id, currency), (entries, energy, total) in sorted(found.items()):
            values = {
                "user_id": user_id,
                "tenant_id": tenant_id,
                "period": period,
                "currency": currency,
                "sessions": len(entries),
                "energy_wh": energy,
                "total": total,
                "status": ISSUED,
                "created_at": now,
            }
            result = await uow.session.execute(insert(InvoiceRow).values(**values).on_conflict_do_nothing())
            issued += int(getattr(result, "rowcount", 0) or 0)
        await uow.commit()
    return issued


async def mark_paid(invoice_id: int, actor: str, *, uow: UnitOfWork, clock: Clock) -> InvoiceRow:
    """Record that the invoice was paid: the wallet's debt is cleared once, however often asked."""
    now = clock.now()
    async with uow:
        invoice = await uow.session.get(InvoiceRow, invoice_id)
        if invoice is None:
            raise NotFound(f"Invoice {invoice_id} not found")
        claim = (
            update(InvoiceRow)
            .where(col(InvoiceRow.id) == invoice_id, col(InvoiceRow.status) == ISSUED)
            .values(status=PAID, paid_at=now)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(await uow.session.execute(claim), "rowcount", 0) or 0) == 1:
            entry = payment(invoice_id, invoice.user_id, invoice.total, invoice.currency)
            await ledger.post(uow.session, entry, actor=actor, at=now)
            details = {"total": str(invoice.total), "currency": invoice.currency}
            audit.record(
                uow.session,
                actor=actor,
                action="invoice.paid",
                subject=f"invoice:{invoice_id}",
                details=details,
                at=now,
            )
            await uow.commit()
        await uow.session.refresh(invoice)
    return invoice


async def listed(
    session: AsyncSession,
    *,
    user_id: int | None,
    period: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[InvoiceRow], int]:
    """Invoices newest first, filtered, with the count of all that match."""
    query = select(InvoiceRow)
    if user_id is not None:
        query = query.where(col(InvoiceRow.user_id) == user_id)
    if period is not None:
        query = query.where(col(InvoiceRow.period) == period)
    if status is not None:
        query = query.where(col(InvoiceRow.status) == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(col(InvoiceRow.id).desc()).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)
