"""What a coupon takes off, table-tested, and the best coupon never losing to another."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csms.billing.coupon_rules import CouponKind, best, discount

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
D = Decimal


@dataclass(frozen=True)
class Terms:
    kind: str = CouponKind.AMOUNT_OFF
    value: Decimal = Decimal(5)
    cap: Decimal | None = None
    min_spend: Decimal = Decimal(0)
    currency: str = "CNY"
    station_ids: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True)
class Coupon:
    id: int
    status: str = "Available"
    expires_at: datetime | None = None


PERCENT = Terms(kind=CouponKind.PERCENT_OFF, value=D(20))
FREE_FEE = Terms(kind=CouponKind.FREE_SERVICE_FEE)


@pytest.mark.parametrize(
    ("terms", "cost", "fee", "station", "expected"),
    [
        (Terms(), D("30.00"), D(0), "CP-1", D("5.00")),
        (Terms(value=D(50)), D("30.00"), D(0), "CP-1", D("30.00")),  # never more than the cost
        (Terms(min_spend=D(30)), D("29.99"), D(0), "CP-1", D(0)),  # below the minimum spend
        (Terms(min_spend=D(30)), D("30.00"), D(0), "CP-1", D("5.00")),  # the minimum itself counts
        (Terms(station_ids=("CP-2",)), D("30.00"), D(0), "CP-1", D(0)),  # another station
        (Terms(station_ids=("CP-1", "CP-2")), D("30.00"), D(0), "CP-1", D("5.00")),
        (Terms(valid_from=NOW + timedelta(seconds=1)), D(30), D(0), "CP-1", D(0)),  # not yet
        (Terms(valid_to=NOW), D(30), D(0), "CP-1", D(0)),  # the window is [from, to)
        (Terms(valid_from=NOW, valid_to=NOW + timedelta(days=1)), D(30), D(0), "CP-1", D("5.00")),
        (PERCENT, D("30.00"), D(0), "CP-1", D("6.00")),
        (PERCENT, D("10.03"), D(0), "CP-1", D("2.01")),  # 2.006 rounds half-up
        (replace(PERCENT, value=D("12.5")), D("0.20"), D(0), "CP-1", D("0.03")),  # 0.025 -> 0.03
        (replace(PERCENT, cap=D(4)), D("30.00"), D(0), "CP-1", D("4.00")),  # capped
        (replace(PERCENT, value=D(100)), D("30.00"), D(0), "CP-1", D("30.00")),
        (FREE_FEE, D("30.00"), D("7.20"), "CP-1", D("7.20")),
        (FREE_FEE, D("3.00"), D("7.20"), "CP-1", D("3.00")),
        (Terms(currency="JPY"), D(400), D(0), "CP-1", D(5)),
        (replace(PERCENT, currency="JPY"), D(333), D(0), "CP-1", D(67)),  # 66.6 -> 67 yen
        (replace(PERCENT, currency="KWD"), D("1.234"), D(0), "CP-1", D("0.247")),
        (Terms(), D(0), D(0), "CP-1", D(0)),  # a free session takes nothing
    ],
)
def test_discount(terms: Terms, cost: Decimal, fee: Decimal, station: str, expected: Decimal) -> None:
    assert discount(terms, cost, fee, station, NOW) == expected


def test_best_takes_the_largest_discount() -> None:
    five, six = (Coupon(1), Terms()), (Coupon(2), PERCENT)
    assert best([five, six], D(30), D(0), "CP-1", NOW) is six[0]
    assert best([five, six], D(20), D(0), "CP-1", NOW) is five[0]  # 20 % of 20 is 4


def test_best_breaks_ties_by_expiry_then_id() -> None:
    later = Coupon(1, expires_at=NOW + timedelta(days=9))
    sooner = Coupon(2, expires_at=NOW + timedelta(days=1))
    never = Coupon(3)
    assert best([(never, Terms()), (later, Terms()), (sooner, Terms())], D(30), D(0), "CP-1", NOW) is sooner
    twin = Coupon(0, expires_at=sooner.expires_at)
    assert best([(sooner, Terms()), (twin, Terms())], D(30), D(0), "CP-1", NOW) is twin
    assert best([(Coupon(7), Terms()), (Coupon(4), Terms())], D(30), D(0), "CP-1", NOW) == Coupon(4)


def test_best_skips_used_lapsed_and_useless_coupons() -> None:
    used = (Coupon(1, status="Used"), Terms(value=D(9)))
    lapsed = (Coupon(2, expires_at=NOW), Terms(value=D(9)))
    elsewhere = (Coupon(3), Terms(value=D(9), station_ids=("CP-9",)))
    assert best([used, lapsed, elsewhere], D(30), D(0), "CP-1", NOW) is None
    assert best([], D(30), D(0), "CP-1", NOW) is None


money = st.decimals(min_value=0, max_value=500, places=2)
terms = st.builds(
    Terms,
    kind=st.sampled_from(list(CouponKind)),
    value=st.decimals(min_value=1, max_value=100, places=2),
    cap=st.none() | money,
    min_spend=money,
    station_ids=st.sampled_from([(), ("CP-1",), ("CP-2",)]),
)
expiry = st.none() | st.integers(min_value=-2, max_value=5).map(lambda d: NOW + timedelta(days=d))
held = st.lists(st.tuples(st.builds(Coupon, id=st.integers(1, 1000), expires_at=expiry), terms), max_size=8)


@given(held, money, money)
def test_the_best_never_loses_to_another(
    coupons: list[tuple[Coupon, Terms]], cost: Decimal, fee: Decimal
) -> None:
    chosen = best(coupons, cost, fee, "CP-1", NOW)
    usable = [(c, t) for c, t in coupons if c.expires_at is None or c.expires_at > NOW]
    offs = [discount(t, cost, fee, "CP-1", NOW) for _, t in usable]
    if chosen is None:
        assert all(off == 0 for off in offs)
        return
    mine = next(discount(t, cost, fee, "CP-1", NOW) for c, t in coupons if c is chosen)
    assert mine > 0 and all(mine >= off for off in offs)
    assert mine <= cost
