"""Pure builders of the ledger's entries, one per business event.

Each key is derived from the event (``settle:<transaction id>`` ...), so a retried or replayed
event builds the same key and the ledger posts it once. Zero postings are left out: a recharge
without a bonus touches no promotions account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from csms.billing import model
from csms.billing.model import AccountRef, Entry, EntryKind, Posting
from tariffs.currency import minor_unit, round_half_up


def _entry(key: str, kind: EntryKind, *sides: tuple[AccountRef, Decimal], memo: str | None = None) -> Entry:
    postings = tuple(Posting(account, amount) for account, amount in sides if amount != 0)
    return Entry(key, kind, postings, memo)


def _not_negative(**amounts: Decimal) -> None:
    for name, amount in amounts.items():
        if amount < 0:
            raise ValueError(f"{name} must not be negative: {amount}")


def recharge(
    order_id: int, user_id: int, tenant_id: int, provider: str, paid: Decimal, bonus: Decimal, currency: str
) -> Entry:
    """A paid order: the wallet gets what was paid plus the operator's bonus."""
    _not_negative(paid=paid, bonus=bonus)
    return _entry(
        f"recharge:{order_id}",
        EntryKind.RECHARGE,
        (model.wallet(user_id, currency), paid + bonus),
        (model.clearing(provider, currency), -paid),
        (model.promotions(tenant_id, currency), -bonus),
    )


def hold(transaction_id: int, user_id: int, amount: Decimal, currency: str) -> Entry:
    """Set money aside from the wallet while a session charges."""
    _not_negative(amount=amount)
    return _entry(
        f"hold:{transaction_id}",
        EntryKind.HOLD,
        (model.wallet(user_id, currency), -amount),
        (model.holds(user_id, currency), amount),
    )


def release(transaction_id: int, user_id: int, amount: Decimal, currency: str) -> Entry:
    """Give a hold back untouched (a session that never charged)."""
    _not_negative(amount=amount)
    return _entry(
        f"release:{transaction_id}",
        EntryKind.RELEASE,
        (model.holds(user_id, currency), -amount),
        (model.wallet(user_id, currency), amount),
    )


def platform_fee(cost: Decimal, platform_rate: Decimal, currency: str) -> Decimal:
    """The platform's share of a session, rounded once, half-up, to the minor unit."""
    return round_half_up(Fraction(cost) * Fraction(platform_rate), minor_unit(currency))


def settle(
    transaction_id: int,
    user_id: int,
    tenant_id: int,
    held: Decimal,
    cost: Decimal,
    discount: Decimal,
    platform_rate: Decimal,
    currency: str,
) -> Entry:
    """Close a session: the hold goes back to the wallet, which pays the cost less the discount;
    the operator takes the cost less the platform's fee and pays for the discount. A cost above
    the hold takes the wallet down further."""
    _not_negative(held=held, cost=cost, discount=discount, platform_rate=platform_rate)
    fee = platform_fee(cost, platform_rate, currency)
    return _entry(
        f"settle:{transaction_id}",
        EntryKind.SETTLE,
        (model.holds(user_id, currency), -held),
        (model.wallet(user_id, currency), held - (cost - discount)),
        (model.revenue(tenant_id, currency), cost - fee),
        (model.platform_fees(currency), fee),
        (model.promotions(tenant_id, currency), -discount),
    )


def refund_wallet(
    refund_id: int,
    user_id: int,
    provider: str,
    amount: Decimal,
    currency: str,
    *,
    order_id: int | None = None,
) -> Entry:
    """Wallet money goes back to the payment it came from. A refund split across several orders
    posts one entry per order, keyed ``refund:<refund id>:<order id>``."""
    _not_negative(amount=amount)
    return _entry(
        f"refund:{refund_id}" if order_id is None else f"refund:{refund_id}:{order_id}",
        EntryKind.REFUND,
        (model.wallet(user_id, currency), -amount),
        (model.clearing(provider, currency), amount),
    )


def refund_session(refund_id: int, user_id: int, tenant_id: int, amount: Decimal, currency: str) -> Entry:
    """The operator gives part of a session's price back into the wallet."""
    _not_negative(amount=amount)
    return _entry(
        f"refund:{refund_id}",
        EntryKind.REFUND,
        (model.refunds(tenant_id, currency), -amount),
        (model.wallet(user_id, currency), amount),
    )


def reversal(original_id: int, original: Sequence[Posting], key: str) -> Entry:
    """Undo an entry by posting its opposite; postings are never changed or deleted."""
    postings = tuple(Posting(p.account, -p.amount) for p in original)
    return Entry(key, EntryKind.REVERSAL, postings, f"reverses entry {original_id}")


def balanced(entry: Entry) -> bool:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for posting in entry.postings:
        totals[posting.account.currency] += posting.amount
    return all(total == 0 for total in totals.values())
