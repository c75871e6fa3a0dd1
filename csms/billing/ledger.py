"""The double-entry ledger: posting entries once, balances, history, reversals and the drift check.

Postings are only ever added. Each account caches its balance, moved in the posting's own
transaction; the postings stay the truth and ``drift`` compares the two. On PostgreSQL the cache
moves by ``balance = balance + :amount`` (row-locked, so concurrent postings add up). On SQLite
money is stored as text, which SQL arithmetic would turn into a float, so the new balance is
computed in Python; that is safe there because the engine has a single connection, so
transactions never interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from csms.billing import rules
from csms.billing.errors import Conflict, NotFound, UnbalancedEntry
from csms.billing.model import AccountKind, AccountRef, Entry, Posting
from csms.billing.tables import LedgerAccountRow, LedgerEntryRow, LedgerPostingRow


def _sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def posted(session: AsyncSession, key: str) -> LedgerEntryRow | None:
    """The entry already posted under ``key``, if any."""
    query = select(LedgerEntryRow).where(col(LedgerEntryRow.key) == key)
    return (await session.execute(query)).scalars().first()


async def post(
    session: AsyncSession, entry: Entry, *, actor: str, at: datetime
) -> tuple[LedgerEntryRow, bool]:
    """Add the entry in the caller's transaction (the caller commits).

    Idempotent by ``entry.key``: (existing row, False) when the key is already posted, else
    (new row, True). Raises UnbalancedEntry for an entry that does not sum to zero. A concurrent
    twin of the key surfaces as IntegrityError at flush or commit; use ``post_once`` or roll back
    and read ``posted``."""
    return await _add(session, entry, actor=actor, at=at, reverses_id=None)


async def post_once(
    make_session: Callable[[], AsyncSession], entry: Entry, *, actor: str, at: datetime
) -> tuple[LedgerEntryRow, bool]:
    """Post and commit in a session of its own; a concurrent twin that won finds its row."""
    async with make_session() as session:
        try:
            found = await post(session, entry, actor=actor, at=at)
            await session.commit()
            return found
        except IntegrityError:
            await session.rollback()
            winner = await posted(session, entry.key)
            if winner is None:
                raise
            return winner, False


async def _add(
    session: AsyncSession, entry: Entry, *, actor: str, at: datetime, reverses_id: int | None
) -> tuple[LedgerEntryRow, bool]:
    if not rules.balanced(entry):
        raise UnbalancedEntry(f"Entry {entry.key} does not sum to zero per currency")
    existing = await posted(session, entry.key)
    if existing is not None:
        return existing, False
    row = LedgerEntryRow(
        key=entry.key,
        kind=entry.kind.value,
        memo=entry.memo,
        reverses_id=reverses_id,
        created_by=actor,
        created_at=at,
    )
    session.add(row)
    await session.flush()  # the key's unique index stops a twin here, before any balance moves
    assert row.id is not None
    moves: dict[int, Decimal] = defaultdict(Decimal)
    for posting in sorted(
        entry.postings, key=lambda p: (p.account.kind, p.account.owner, p.account.currency)
    ):
        account_id = await _open(session, posting.account, at)
        session.add(
            LedgerPostingRow(
                entry_id=row.id,
                account_id=account_id,
                amount=posting.amount,
                currency=posting.account.currency,
            )
        )
        moves[account_id] += posting.amount
    for account_id in sorted(moves):  # one lock order, so concurrent entries cannot deadlock
        await _move(session, account_id, moves[account_id])
    await session.flush()
    return row, True


async def account_id(session: AsyncSession, account: AccountRef) -> int | None:
    """The account's id, or None when no posting has touched it yet."""
    query = select(col(LedgerAccountRow.id)).where(
        col(LedgerAccountRow.kind) == account.kind.value,
        col(LedgerAccountRow.owner) == account.owner,
        col(LedgerAccountRow.currency) == account.currency,
    )
    return (await session.execute(query)).scalars().first()


async def _open(session: AsyncSession, account: AccountRef, at: datetime) -> int:
    """The account's id, creating it first if needed; a concurrent creator is not an error."""
    found = await account_id(session, account)
    if found is not None:
        return found
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "kind": account.kind.value,
        "owner": account.owner,
        "currency": account.currency,
        "balance": Decimal(0),
        "created_at": at,
    }
    await session.execute(insert(LedgerAccountRow).values(**values).on_conflict_do_nothing())
    created = await account_id(session, account)
    assert created is not None
    return created


async def _move(session: AsyncSession, account_id: int, amount: Decimal) -> None:
    """Move the cached balance (see the module docstring for why SQLite differs)."""
    where = col(LedgerAccountRow.id) == account_id
    if _sqlite(session):
        current = (await session.execute(select(col(LedgerAccountRow.balance)).where(where))).scalar_one()
        value: object = current + amount
    else:
        value = col(LedgerAccountRow.balance) + amount
    statement = update(LedgerAccountRow).where(where).values(balance=value)
    await session.execute(statement.execution_options(synchronize_session=False))


async def balance(session: AsyncSession, account: AccountRef) -> Decimal:
    """The sum of the account's postings: the truth."""
    found = await account_id(session, account)
    if found is None:
        return Decimal(0)
    where = col(LedgerPostingRow.account_id) == found
    if _sqlite(session):  # SQL SUM over text would be a float
        rows = await session.execute(select(col(LedgerPostingRow.amount)).where(where))
        return sum(rows.scalars(), Decimal(0))
    total = (await session.execute(select(func.sum(col(LedgerPostingRow.amount))).where(where))).scalar()
    return Decimal(total or 0)


async def cached_balance(session: AsyncSession, account: AccountRef) -> Decimal:
    """The cached balance: one row read, kept in step with the postings."""
    query = select(col(LedgerAccountRow.balance)).where(
        col(LedgerAccountRow.kind) == account.kind.value,
        col(LedgerAccountRow.owner) == account.owner,
        col(LedgerAccountRow.currency) == account.currency,
    )
    found = (await session.execute(query)).scalars().first()
    return Decimal(0) if found is None else found


async def entries(
    session: AsyncSession, account: AccountRef, *, limit: int, before_id: int | None = None
) -> list[tuple[LedgerEntryRow, Decimal]]:
    """The account's history, newest first: each entry with what it posted to this account.
    Page on by passing the last entry's id as ``before_id``."""
    found = await account_id(session, account)
    if found is None:
        return []
    query = (
        select(LedgerEntryRow, col(LedgerPostingRow.amount))
        .join(LedgerPostingRow, col(LedgerPostingRow.entry_id) == col(LedgerEntryRow.id))
        .where(col(LedgerPostingRow.account_id) == found)
        .order_by(col(LedgerEntryRow.id).desc(), col(LedgerPostingRow.id).desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(col(LedgerEntryRow.id) < before_id)
    return [(row, amount) for row, amount in (await session.execute(query)).all()]


async def reverse(
    session: AsyncSession, entry_id: int, *, key: str, actor: str, at: datetime
) -> tuple[LedgerEntryRow, bool]:
    """Undo an entry with its opposite, at most once: reversing it again returns the reversal."""
    original = await session.get(LedgerEntryRow, entry_id)
    if original is None:
        raise NotFound(f"Ledger entry {entry_id} not found")
    done = await session.execute(select(LedgerEntryRow).where(col(LedgerEntryRow.reverses_id) == entry_id))
    reversal = done.scalars().first()
    if reversal is not None:
        return reversal, False
    if original.reverses_id is not None:
        raise Conflict(f"Ledger entry {entry_id} is a reversal; post a new entry instead")
    query = (
        select(
            col(LedgerPostingRow.amount),
            col(LedgerAccountRow.kind),
            col(LedgerAccountRow.owner),
            col(LedgerAccountRow.currency),
        )
        .join(LedgerAccountRow, col(LedgerAccountRow.id) == col(LedgerPostingRow.account_id))
        .where(col(LedgerPostingRow.entry_id) == entry_id)
        .order_by(col(LedgerPostingRow.id))
    )
    postings = [
        Posting(AccountRef(AccountKind(kind), owner, currency), amount)
        for amount, kind, owner, currency in (await session.execute(query)).all()
    ]
    return await _add(
        session, rules.reversal(entry_id, postings, key), actor=actor, at=at, reverses_id=entry_id
    )


async def drift(session: AsyncSession) -> list[tuple[int, Decimal, Decimal]]:
    """Accounts whose cached balance differs from their postings: (id, cached, from postings)."""
    accounts = (await session.execute(select(col(LedgerAccountRow.id), col(LedgerAccountRow.balance)))).all()
    if _sqlite(session):
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for account_id, amount in await session.execute(
            select(col(LedgerPostingRow.account_id), col(LedgerPostingRow.amount))
        ):
            totals[account_id] += amount
    else:
        grouped = select(col(LedgerPostingRow.account_id), func.sum(col(LedgerPostingRow.amount))).group_by(
            col(LedgerPostingRow.account_id)
        )
        totals = defaultdict(Decimal, {a: Decimal(t) for a, t in await session.execute(grouped)})
    return [(a, cached, totals[a]) for a, cached in accounts if a is not None and cached != totals[a]]
