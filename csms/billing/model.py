"""The ledger's vocabulary: accounts, postings and entries. Standard library only.

Sign convention: a posting's amount is + for a credit and - for a debit; every entry's postings
sum to zero per currency, and an account's balance is the sum of its postings. A wallet's balance
is what its driver has: a recharge of 100 posts wallet +100 and the provider's clearing -100.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class AccountKind(StrEnum):
    WALLET = "wallet"  # owner "user:<id>": what a driver may spend
    HOLDS = "holds"  # owner "user:<id>": set aside while a session charges
    REVENUE = "revenue"  # owner "tenant:<id>": the operator's takings
    PLATFORM_FEES = "platform_fees"  # owner "platform"
    PROMOTIONS = "promotions"  # owner "tenant:<id>": bonuses and coupons the operator pays for
    REFUNDS = "refunds"  # owner "tenant:<id>": money given back from revenue
    CLEARING = "clearing"  # owner "provider:<name>": money on its way from/to a payment provider


class EntryKind(StrEnum):
    RECHARGE = "recharge"
    HOLD = "hold"
    RELEASE = "release"
    SETTLE = "settle"
    REFUND = "refund"
    REVERSAL = "reversal"
    ADJUST = "adjust"


@dataclass(frozen=True, slots=True)
class AccountRef:
    """Names an account; the ledger creates it the first time a posting touches it."""

    kind: AccountKind
    owner: str
    currency: str


@dataclass(frozen=True, slots=True)
class Posting:
    account: AccountRef
    amount: Decimal  # + credit, - debit


@dataclass(frozen=True, slots=True)
class Entry:
    """Postings made at once. ``key`` names the business event, so posting it again is a no-op."""

    key: str
    kind: EntryKind
    postings: tuple[Posting, ...]
    memo: str | None = None


def wallet(user_id: int, currency: str) -> AccountRef:
    return AccountRef(AccountKind.WALLET, f"user:{user_id}", currency)


def holds(user_id: int, currency: str) -> AccountRef:
    return AccountRef(AccountKind.HOLDS, f"user:{user_id}", currency)


def revenue(tenant_id: int, currency: str) -> AccountRef:
    return AccountRef(AccountKind.REVENUE, f"tenant:{tenant_id}", currency)


def platform_fees(currency: str) -> AccountRef:
    return AccountRef(AccountKind.PLATFORM_FEES, "platform", currency)


def promotions(tenant_id: int, currency: str) -> AccountRef:
    return AccountRef(AccountKind.PROMOTIONS, f"tenant:{tenant_id}", currency)


def refunds(tenant_id: int, currency: str) -> AccountRef:
    return AccountRef(AccountKind.REFUNDS, f"tenant:{tenant_id}", currency)


def clearing(provider: str, currency: str) -> AccountRef:
    return AccountRef(AccountKind.CLEARING, f"provider:{provider}", currency)
