"""Tariff rules, one broken rule per case: the message says what and the error names the band."""

from __future__ import annotations

from datetime import UTC, date, time
from decimal import Decimal
from typing import Any

import pytest

from tariffs.errors import InvalidTariff
from tariffs.model import HOLIDAY, Band, IdleFee
from tariffs.validation import validate
from tests.unit.tariffs import a_tariff, band, half_hours

NIGHT = band("night", "00:00", "08:00", "0.30")
DAY = band("day", "08:00", "24:00", "0.60")
WEEKDAYS, WEEKEND = range(5), (5, 6)
HOLIDAYS = band("holiday", "00:00", "24:00", days=[HOLIDAY])


@pytest.mark.parametrize(
    "bands",
    [
        (band("all", "00:00", "24:00"),),
        (NIGHT, DAY),
        half_hours(),
        (band("weekday", "00:00", "24:00", days=WEEKDAYS), band("weekend", "00:00", "24:00", days=WEEKEND)),
        (band("a", "00:00", "12:00:00.5"), band("b", "12:00:00.5", "24:00")),
        (NIGHT, DAY, HOLIDAYS),
    ],
)
def test_valid(bands: tuple[Band, ...]) -> None:
    validate(a_tariff(*bands))


def test_holidays_with_a_holiday_band() -> None:
    validate(a_tariff(NIGHT, DAY, HOLIDAYS, holidays=frozenset({date(2026, 12, 25)})))


@pytest.mark.parametrize(
    ("bands", "message", "at_fault"),
    [
        (
            (band("a", "00:00", "12:00"), band("b", "11:00", "24:00")),
            "bands 'a' and 'b' overlap on Monday from 11:00 to 12:00",
            "b",
        ),
        (
            (band("a", "00:00", "24:00"), band("b", "10:00", "11:00", days=[3])),
            "bands 'a' and 'b' overlap on Thursday from 10:00 to 11:00",
            "b",
        ),
        (
            (band("a", "00:00", "12:00"), band("b", "13:00", "24:00")),
            "no band covers Monday from 12:00 to 13:00 (after band 'a')",
            "a",
        ),
        ((band("a", "06:00", "24:00"),), "no band covers Monday from 00:00 to 06:00", "a"),
        (
            (band("a", "00:00", "23:59:30"),),
            "no band covers Monday from 23:59:30 to 24:00 (after band 'a')",
            "a",
        ),
        (
            (band("weekday", "00:00", "24:00", days=WEEKDAYS), band("sat", "00:00", "24:00", days=[5])),
            "no band covers Sunday from 00:00 to 24:00",
            None,
        ),
        (
            (NIGHT, DAY, band("holiday", "08:00", "24:00", days=[HOLIDAY])),
            "no band covers holidays from 00:00 to 08:00",
            "holiday",
        ),
        ((band("a", "12:00", "12:00"), DAY), "band 'a' starts at 12:00, not before its end 12:00", "a"),
        ((band("a", "12:00", "08:00"), DAY), "band 'a' starts at 12:00, not before its end 08:00", "a"),
        ((NIGHT, DAY, band("x", "00:00", "24:00", days=[8, 9])), "band 'x' lists unknown days [8, 9]", "x"),
        ((NIGHT, DAY, band("x", "00:00", "24:00", days=[])), "band 'x' covers no day", "x"),
        ((NIGHT, band("night", "08:00", "24:00")), "two bands are named 'night'", "night"),
        ((NIGHT, band("day", "08:00", "24:00", "-0.01")), "energy fee of band 'day' is -0.01", "day"),
        ((NIGHT, band("day", "08:00", "24:00", service="-1")), "service fee of band 'day' is -1", "day"),
        ((NIGHT, band("day", "08:00", "24:00", "NaN")), "energy fee of band 'day' is NaN", "day"),
        (
            (NIGHT, DAY, Band("tz", frozenset({2}), time(1, tzinfo=UTC), time(2), Decimal(0), Decimal(0))),
            "band 'tz' has a time zone",
            "tz",
        ),
    ],
)
def test_invalid_bands(bands: tuple[Band, ...], message: str, at_fault: str | None) -> None:
    with pytest.raises(InvalidTariff) as caught:
        validate(a_tariff(*bands))
    assert str(caught.value).startswith(message)
    assert caught.value.band == at_fault


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"currency": "eur"}, "currency 'eur' is not three upper-case letters"),
        ({"currency": "EURO"}, "currency 'EURO' is not three upper-case letters"),
        ({"currency": "€UR"}, "currency '€UR' is not three upper-case letters"),
        ({"tax_rate": Decimal(1)}, "tax rate 1 is outside [0, 1)"),
        ({"tax_rate": Decimal("-0.1")}, "tax rate -0.1 is outside [0, 1)"),
        ({"time_fee_per_minute": Decimal("-0.1")}, "time fee per minute is -0.1"),
        ({"session_fee": Decimal(-1)}, "session fee is -1"),
        ({"idle_fee": IdleFee(Decimal(-1))}, "idle fee per minute is -1"),
        ({"idle_fee": IdleFee(Decimal(1), cap=Decimal(-5))}, "idle fee cap is -5"),
        ({"idle_fee": IdleFee(Decimal(1), grace_minutes=-1)}, "idle grace of -1 minutes is negative"),
        ({"min_price": Decimal(-1)}, "minimum price is -1"),
        ({"max_price": Decimal(-1)}, "maximum price is -1"),
        ({"min_price": Decimal(5), "max_price": Decimal(4)}, "minimum price 5 is above maximum price 4"),
        ({"holidays": frozenset({date(2026, 12, 25)})}, "holidays are listed but no band covers HOLIDAY"),
    ],
)
def test_invalid_terms(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTariff) as caught:
        validate(a_tariff(NIGHT, DAY, **overrides))
    assert str(caught.value).startswith(message)
    assert caught.value.band is None


def test_min_equal_to_max_is_a_flat_price() -> None:
    validate(a_tariff(NIGHT, DAY, min_price=Decimal(5), max_price=Decimal(5)))
