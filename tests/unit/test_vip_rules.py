"""The pure parts of VIP levels and rewards: the service fee in stored CDR lines, which level a
spend reaches, the discount's one rounding, and points for energy and money."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from csms.billing.rewards import energy_points, spend_points
from csms.billing.tables import VipLevelRow
from csms.billing.vip import discount, level_for, next_for, service_fee

AT = datetime(2026, 11, 24, tzinfo=UTC)


def a_level(name: str, min_spend: str, fraction: str = "0.1") -> VipLevelRow:
    return VipLevelRow(
        tenant_id=1,
        name=name,
        min_spend=Decimal(min_spend),
        service_fee_discount=Decimal(fraction),
        created_at=AT,
    )


def a_line(kind: str, amount: str) -> dict[str, str | None]:
    return {"kind": kind, "band": None, "quantity": "1", "unit_price": amount, "amount": amount}


def test_the_service_fee_is_the_sum_of_the_service_lines() -> None:
    lines = [
        a_line("energy", "8.64"),
        a_line("service", "1.20"),
        a_line("service", "0.3333"),
        a_line("time", "2"),
    ]
    assert service_fee(lines) == Decimal("1.5333")
    assert service_fee([a_line("energy", "3")]) == 0


LEVELS = [a_level("Gold", "500"), a_level("Silver", "100"), a_level("Platinum", "2000")]


@pytest.mark.parametrize(
    ("spend", "level", "following"),
    [
        ("0", None, "Silver"),
        ("99.99", None, "Silver"),
        ("100", "Silver", "Gold"),
        ("1999.99", "Gold", "Platinum"),
        ("2000", "Platinum", None),
    ],
)
def test_the_level_is_the_highest_min_spend_reached(
    spend: str, level: str | None, following: str | None
) -> None:
    reached, ahead = level_for(LEVELS, Decimal(spend)), next_for(LEVELS, Decimal(spend))
    assert (reached.name if reached else None) == level
    assert (ahead.name if ahead else None) == following


@pytest.mark.parametrize(
    ("fee", "fraction", "currency", "expected"),
    [
        ("1.50", "0.1", "CNY", "0.15"),
        ("1.25", "0.1", "CNY", "0.13"),  # 0.125: half-up
        ("0.3333", "0.5", "CNY", "0.17"),  # rounded once, from the exact fee
        ("125", "0.1", "JPY", "13"),
        ("2", "1.5", "CNY", "2.00"),  # never more than the fee
        ("0", "0.2", "CNY", "0"),
    ],
)
def test_the_discount_is_rounded_once_half_up(fee: str, fraction: str, currency: str, expected: str) -> None:
    assert discount(Decimal(fee), Decimal(fraction), currency) == Decimal(expected)


def test_points_are_whole_and_never_negative() -> None:
    assert energy_points(12_999, 1) == 12
    assert energy_points(1_500, 3) == 4  # floor(1.5 kWh * 3)
    assert energy_points(-10, 1) == 0
    assert spend_points(Decimal("25.99"), 2) == 50
    assert spend_points(Decimal("0.99"), 1) == 0
    assert spend_points(Decimal("-3"), 1) == 0
