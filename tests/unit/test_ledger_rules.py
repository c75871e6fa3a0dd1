"""The ledger's entry builders, and its invariants over generated sequences of money events,
folded in memory: balances are sums of postings, the whole ledger sums to zero per currency,
and a key posted twice changes nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csms.billing import model, rules
from csms.billing.model import AccountRef, Entry, EntryKind, Posting

D = Decimal


def amounts(entry: Entry) -> dict[AccountRef, Decimal]:
    return {p.account: p.amount for p in entry.postings}


def test_recharge_credits_paid_plus_bonus_from_clearing_and_promotions() -> None:
    entry = rules.recharge(7, 3, 2, "stripe", D("100"), D("20"), "CNY")
    assert entry.key == "recharge:7" and entry.kind is EntryKind.RECHARGE
    assert amounts(entry) == {
        model.wallet(3, "CNY"): D("120"),
        model.clearing("stripe", "CNY"): D("-100"),
        model.promotions(2, "CNY"): D("-20"),
    }
    assert rules.balanced(entry)


def test_a_recharge_without_bonus_leaves_promotions_alone() -> None:
    entry = rules.recharge(7, 3, 2, "sandbox", D("50"), D("0"), "CNY")
    assert model.promotions(2, "CNY") not in amounts(entry)


def test_hold_and_release_move_between_wallet_and_holds() -> None:
    assert amounts(rules.hold(9, 3, D("50"), "CNY")) == {
        model.wallet(3, "CNY"): D(-50),
        model.holds(3, "CNY"): D(50),
    }
    released = rules.release(9, 3, D("50"), "CNY")
    assert released.key == "release:9"
    assert amounts(released) == {model.holds(3, "CNY"): D(-50), model.wallet(3, "CNY"): D(50)}


def test_settle_splits_the_cost_between_revenue_and_the_platform() -> None:
    entry = rules.settle(
        9, 3, 2, held=D("50"), cost=D("12.30"), discount=D("2"), platform_rate=D("0.05"), currency="CNY"
    )
    assert entry.key == "settle:9"
    assert amounts(entry) == {
        model.holds(3, "CNY"): D("-50"),
        model.wallet(3, "CNY"): D("39.70"),
        model.revenue(2, "CNY"): D("11.68"),  # 12.30 less the fee 0.615 -> 0.62 half-up
        model.platform_fees("CNY"): D("0.62"),
        model.promotions(2, "CNY"): D("-2"),
    }
    assert rules.balanced(entry)


def test_a_cost_above_the_hold_takes_the_wallet_down_further() -> None:
    entry = rules.settle(
        9, 3, 2, held=D("50"), cost=D("80"), discount=D("0"), platform_rate=D("0"), currency="JPY"
    )
    assert amounts(entry)[model.wallet(3, "JPY")] == D("-30")


def test_the_fee_is_rounded_to_the_currencys_minor_unit() -> None:
    assert rules.platform_fee(D("101"), D("0.05"), "JPY") == D("5")
    assert rules.platform_fee(D("1.111"), D("0.05"), "KWD") == D("0.056")


def test_refunds() -> None:
    back = rules.refund_wallet(4, 3, "alipay", D("30"), "CNY")
    assert back.key == "refund:4" and amounts(back) == {
        model.wallet(3, "CNY"): D(-30),
        model.clearing("alipay", "CNY"): D(30),
    }
    assert rules.refund_wallet(4, 3, "alipay", D("30"), "CNY", order_id=8).key == "refund:4:8"
    session = rules.refund_session(5, 3, 2, D("6"), "CNY")
    assert amounts(session) == {model.refunds(2, "CNY"): D(-6), model.wallet(3, "CNY"): D(6)}


def test_a_reversal_negates_every_posting() -> None:
    original = rules.recharge(7, 3, 2, "stripe", D("100"), D("20"), "CNY")
    undone = rules.reversal(11, original.postings, "reverse:11")
    assert undone.kind is EntryKind.REVERSAL and undone.key == "reverse:11"
    assert {a: -v for a, v in amounts(undone).items()} == amounts(original)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        rules.hold(1, 1, D("-1"), "CNY")


def test_balanced_is_per_currency() -> None:
    eur, usd = model.wallet(1, "EUR"), model.clearing("stripe", "USD")
    assert not rules.balanced(Entry("x", EntryKind.ADJUST, (Posting(eur, D(1)), Posting(usd, D(-1)))))
    assert rules.balanced(Entry("x", EntryKind.ADJUST, ()))


# --- properties over generated sequences -------------------------------------------------

money = st.integers(0, 100_000).map(lambda cents: Decimal(cents) / 100)
ids = st.integers(1, 4)  # few ids, so keys repeat and duplicates are exercised
currencies = st.sampled_from(["CNY", "JPY", "KWD"])
providers = st.sampled_from(["sandbox", "stripe", "wechat", "alipay"])

events = st.one_of(
    st.builds(rules.recharge, ids, ids, ids, providers, money, money, currencies),
    st.builds(rules.hold, ids, ids, money, currencies),
    st.builds(rules.release, ids, ids, money, currencies),
    st.builds(
        rules.settle,
        ids,
        ids,
        ids,
        money,
        money,
        money,
        st.sampled_from([D(0), D("0.05"), D("0.333")]),
        currencies,
    ),
    st.builds(rules.refund_wallet, ids, ids, providers, money, currencies),
    st.builds(rules.refund_session, ids, ids, ids, money, currencies),
    st.integers(0, 50),  # reverse the n-th entry posted so far (modulo their number)
)


@dataclass
class MemoryLedger:
    """The ledger's contract folded in memory: entries by key, once each."""

    entries: dict[str, Entry] = field(default_factory=dict)
    cached: dict[AccountRef, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def post(self, entry: Entry) -> bool:
        assert rules.balanced(entry)
        if entry.key in self.entries:
            return False
        self.entries[entry.key] = entry
        for posting in entry.postings:
            self.cached[posting.account] += posting.amount
        return True

    def reversal_of(self, n: int) -> Entry | None:
        candidates = [e for e in self.entries.values() if e.kind is not EntryKind.REVERSAL]
        if not candidates:
            return None
        original = candidates[n % len(candidates)]
        return rules.reversal(n, original.postings, f"reverse:{original.key}")


def sequences() -> st.SearchStrategy[list[Entry | int]]:
    return st.lists(events, max_size=40)


def built(ledger: MemoryLedger, event: Entry | int) -> Entry | None:
    return ledger.reversal_of(event) if isinstance(event, int) else event


@settings(max_examples=200, deadline=None)
@given(sequences())
def test_balances_are_sums_of_postings_and_the_ledger_sums_to_zero(sequence: list[Entry | int]) -> None:
    ledger = MemoryLedger()
    for event in sequence:
        entry = built(ledger, event)
        if entry is None:
            continue
        before = dict(ledger.cached)
        if not ledger.post(entry):
            assert ledger.cached == before  # a key already posted changes nothing
        after = dict(ledger.cached)
        assert not ledger.post(entry) and ledger.cached == after  # nor does posting it again
    totals: dict[AccountRef, Decimal] = defaultdict(Decimal)
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    for entry in ledger.entries.values():
        for posting in entry.postings:
            totals[posting.account] += posting.amount
            per_currency[posting.account.currency] += posting.amount
    assert dict(ledger.cached) == dict(totals)
    assert all(total == 0 for total in per_currency.values())


@settings(max_examples=100, deadline=None)
@given(sequences())
def test_every_built_entry_is_balanced_and_keyed_by_its_event(sequence: list[Entry | int]) -> None:
    ledger = MemoryLedger()
    for event in sequence:
        entry = built(ledger, event)
        if entry is not None:
            assert rules.balanced(entry)
            assert entry == built(ledger, event)  # deterministic: a retry builds the same entry
            ledger.post(entry)
