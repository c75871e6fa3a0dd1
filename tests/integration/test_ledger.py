"""The ledger on a real database: entries posted once, balances cached in step with the postings,
reversals, history, concurrent twins of a key, and the drift check."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from csms.billing import ledger, model, rules
from csms.billing.errors import Conflict, NotFound, UnbalancedEntry
from csms.billing.jobs import check_drift
from csms.billing.model import AccountRef, Entry, EntryKind, Posting
from csms.billing.tables import LedgerAccountRow, LedgerEntryRow, LedgerPostingRow
from csms.bootstrap import System

D = Decimal
ACTOR = "test"


async def post(system: System, entry: Entry) -> tuple[LedgerEntryRow, bool]:
    async with system.sessions() as session:
        found = await ledger.post(session, entry, actor=ACTOR, at=system.clock.now())
        await session.commit()
        return found


async def balances(system: System, account: AccountRef) -> tuple[Decimal, Decimal]:
    async with system.sessions() as session:
        return await ledger.balance(session, account), await ledger.cached_balance(session, account)


async def all_postings(system: System) -> list[tuple[str, Decimal]]:
    async with system.sessions() as session:
        rows = await session.execute(select(col(LedgerPostingRow.currency), col(LedgerPostingRow.amount)))
        return [(currency, amount) for currency, amount in rows.all()]


async def test_an_entry_posts_once_and_moves_both_balances(system: System) -> None:
    entry = rules.recharge(1, 7, 2, "sandbox", D("100"), D("20"), "CNY")
    row, new = await post(system, entry)
    again, twice = await post(system, entry)
    assert (new, twice, again.id) == (True, False, row.id)
    assert await balances(system, model.wallet(7, "CNY")) == (D(120), D(120))
    assert await balances(system, model.clearing("sandbox", "CNY")) == (D(-100), D(-100))
    assert await balances(system, model.promotions(2, "CNY")) == (D(-20), D(-20))
    assert await balances(system, model.wallet(8, "CNY")) == (D(0), D(0))


async def test_an_unbalanced_entry_is_refused(system: System) -> None:
    entry = Entry("bad", EntryKind.ADJUST, (Posting(model.wallet(1, "CNY"), D(5)),))
    async with system.sessions() as session:
        with pytest.raises(UnbalancedEntry):
            await ledger.post(session, entry, actor=ACTOR, at=system.clock.now())


async def test_a_reversal_undoes_an_entry_once(system: System) -> None:
    row, _ = await post(system, rules.hold(5, 7, D("50"), "EUR"))
    assert row.id is not None
    async with system.sessions() as session:
        undone, new = await ledger.reverse(session, row.id, key="undo:1", actor=ACTOR, at=system.clock.now())
        await session.commit()
    async with system.sessions() as session:
        again, twice = await ledger.reverse(session, row.id, key="undo:2", actor=ACTOR, at=system.clock.now())
        with pytest.raises(Conflict):
            await ledger.reverse(session, undone.id or 0, key="undo:3", actor=ACTOR, at=system.clock.now())
        with pytest.raises(NotFound):
            await ledger.reverse(session, 999_999, key="undo:4", actor=ACTOR, at=system.clock.now())
    assert (new, twice, again.id, undone.reverses_id) == (True, False, undone.id, row.id)
    assert await balances(system, model.wallet(7, "EUR")) == (D(0), D(0))
    assert await balances(system, model.holds(7, "EUR")) == (D(0), D(0))


async def test_history_pages_newest_first(system: System) -> None:
    for order in range(1, 6):
        await post(system, rules.recharge(order, 7, 2, "stripe", D(order), D(0), "CNY"))
    async with system.sessions() as session:
        first = await ledger.entries(session, model.wallet(7, "CNY"), limit=3, before_id=None)
        rest = await ledger.entries(session, model.wallet(7, "CNY"), limit=3, before_id=first[-1][0].id)
    assert [(row.key, amount) for row, amount in first] == [
        ("recharge:5", D(5)),
        ("recharge:4", D(4)),
        ("recharge:3", D(3)),
    ]
    assert [row.key for row, _ in rest] == ["recharge:2", "recharge:1"]


async def test_the_same_key_posted_concurrently_makes_one_entry(system: System) -> None:
    entry = rules.recharge(1, 7, 2, "wechat", D("30"), D("5"), "CNY")
    results = await asyncio.gather(
        *(ledger.post_once(system.sessions, entry, actor=ACTOR, at=system.clock.now()) for _ in range(8))
    )
    assert sum(new for _, new in results) == 1
    assert len({row.id for row, _ in results}) == 1
    assert await balances(system, model.wallet(7, "CNY")) == (D(35), D(35))
    async with system.sessions() as session:
        assert await ledger.drift(session) == []


def random_events(seed: int, count: int) -> list[Entry | int]:
    """A fixed pseudo-random mix of every kind of entry, with repeated keys."""
    rng = random.Random(seed)

    def money() -> Decimal:
        return D(rng.randint(0, 20_000)) / 100

    def some() -> int:
        return rng.randint(1, 4)

    def currency() -> str:
        return rng.choice(["CNY", "JPY", "KWD"])

    makers: list[Callable[[], Entry | int]] = [
        lambda: rules.recharge(
            some(), some(), some(), rng.choice(["sandbox", "stripe"]), money(), money(), currency()
        ),
        lambda: rules.hold(some(), some(), money(), currency()),
        lambda: rules.release(some(), some(), money(), currency()),
        lambda: rules.settle(some(), some(), some(), money(), money(), money(), D("0.05"), currency()),
        lambda: rules.refund_wallet(some(), some(), "alipay", money(), currency()),
        lambda: rules.refund_session(some(), some(), some(), money(), currency()),
        lambda: rng.randint(0, 100),  # reverse an earlier entry
    ]
    return [rng.choice(makers)() for _ in range(count)]


async def test_a_random_sequence_keeps_the_ledger_whole(system: System) -> None:
    expected: dict[AccountRef, Decimal] = defaultdict(Decimal)
    seen: dict[str, Entry] = {}
    async with system.sessions() as session:
        for step, event in enumerate(random_events(seed=18, count=120)):
            at = system.clock.now()
            if isinstance(event, int):
                rows = (
                    (await session.execute(select(LedgerEntryRow).order_by(col(LedgerEntryRow.id))))
                    .scalars()
                    .all()
                )
                target = rows[event % len(rows)] if rows else None
                if target is None or target.id is None or target.reverses_id is not None:
                    continue
                row, new = await ledger.reverse(session, target.id, key=f"undo:{step}", actor=ACTOR, at=at)
                if new:
                    for posting in seen[target.key].postings:
                        expected[posting.account] -= posting.amount
                    seen[row.key] = rules.reversal(target.id, seen[target.key].postings, row.key)
            else:
                _, new = await ledger.post(session, event, actor=ACTOR, at=at)
                assert new == (event.key not in seen)
                if new:
                    seen[event.key] = event
                    for posting in event.postings:
                        expected[posting.account] += posting.amount
            if step % 10 == 0:
                await session.commit()
        await session.commit()
    async with system.sessions() as session:
        assert await ledger.drift(session) == []
        for account, amount in expected.items():
            assert await ledger.balance(session, account) == amount
            assert await ledger.cached_balance(session, account) == amount
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in await all_postings(system):
        per_currency[currency] += amount
    assert per_currency and all(total == 0 for total in per_currency.values())


async def test_the_drift_check_warns_about_a_tampered_balance(
    system: System, caplog: pytest.LogCaptureFixture
) -> None:
    await post(system, rules.recharge(1, 7, 2, "sandbox", D("10"), D(0), "CNY"))
    assert await check_drift(system.sessions, system.clock) == 0
    async with system.sessions() as session:
        await session.execute(
            update(LedgerAccountRow).where(col(LedgerAccountRow.kind) == "wallet").values(balance=D("11"))
        )
        await session.commit()
    with caplog.at_level(logging.WARNING, logger="csms.billing.jobs"):
        assert await check_drift(system.sessions, system.clock) == 1
    assert "caches 11" in caplog.text
