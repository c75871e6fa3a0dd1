"""The stored JSON of a tariff version: exact decimals, wall times, day names, clear shape errors."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest

from tariffs.codec import definition_to_json, tariff_from_json
from tariffs.errors import InvalidTariff
from tariffs.model import HOLIDAY, WEEK, Band, IdleFee, Tariff

FULL = Tariff(
    currency="EUR",
    bands=(
        Band("night", frozenset(range(5)), time(0), time(8), Decimal("0.20"), Decimal("0")),
        Band("day", frozenset(range(5)), time(8), time(22, 30, 15), Decimal("0.4500"), Decimal("0.05")),
        Band("late", frozenset(range(5)), time(22, 30, 15), time(0), Decimal("0.30"), Decimal("0.05")),
        Band("weekend", frozenset({5, 6, HOLIDAY}), time(0), time(0), Decimal("0.25"), Decimal("0")),
    ),
    holidays=frozenset({date(2026, 12, 25), date(2026, 1, 1)}),
    time_fee_per_minute=Decimal("0.01"),
    idle_fee=IdleFee(Decimal("0.10"), grace_minutes=15, cap=Decimal("12")),
    session_fee=Decimal("1.00"),
    min_price=Decimal("2"),
    max_price=Decimal("80"),
    tax_rate=Decimal("0.13"),
)


def a_band(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "all day",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "00:00",
        "end": "24:00",
        "energy_fee": "0.30",
        "service_fee": "0",
        **overrides,
    }


def test_a_full_tariff_is_written_in_canonical_form() -> None:
    written = definition_to_json(FULL)
    assert written["bands"][1] == {
        "name": "day",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "08:00",
        "end": "22:30:15",
        "energy_fee": "0.4500",
        "service_fee": "0.05",
    }
    assert written["bands"][2]["end"] == "24:00"
    assert written["bands"][3]["days"] == ["sat", "sun", "holiday"]
    assert written["holidays"] == ["2026-01-01", "2026-12-25"]
    assert written["idle_fee"] == {"per_minute": "0.10", "grace_minutes": 15, "cap": "12"}
    assert (written["session_fee"], written["min_price"], written["max_price"]) == ("1.00", "2", "80")
    assert (written["time_fee_per_minute"], written["tax_rate"]) == ("0.01", "0.13")
    assert "currency" not in written


def test_reading_what_was_written_gives_the_same_tariff() -> None:
    assert tariff_from_json("EUR", definition_to_json(FULL)) == FULL


def test_decimals_keep_their_digits_and_never_use_exponents() -> None:
    tariff = tariff_from_json("EUR", {"bands": [a_band(energy_fee="1E+1", service_fee="0.1000")]})
    assert tariff.bands[0].energy_fee == Decimal(10)
    written = definition_to_json(tariff)["bands"][0]
    assert (written["energy_fee"], written["service_fee"]) == ("10", "0.1000")


def test_optional_terms_default_to_nothing_extra() -> None:
    band = a_band()
    del band["service_fee"]
    assert tariff_from_json("JPY", {"bands": [band]}) == Tariff(
        currency="JPY",
        bands=(Band("all day", WEEK, time(0), time(0), Decimal("0.30"), Decimal(0)),),
    )


def test_a_midnight_end_reads_as_either_00_00_or_24_00() -> None:
    for end in ("24:00", "24:00:00", "00:00"):
        assert tariff_from_json("EUR", {"bands": [a_band(end=end)]}).bands[0].end == time(0)


@pytest.mark.parametrize(
    ("definition", "message", "band"),
    [
        ([], "definition: must be an object", None),
        ({}, "bands: must be a list", None),
        ({"bands": [a_band()], "vat": "0.2"}, "definition: unknown field vat", None),
        ({"bands": ["peak"]}, "bands[0]: must be an object", None),
        ({"bands": [a_band(name="")]}, "bands[0].name", None),
        ({"bands": [a_band(colour="red")]}, 'bands[0] ("all day"): unknown field colour', "all day"),
        ({"bands": [a_band(days=["mon", "funday"])]}, '("all day").days: must be a list of mon', "all day"),
        ({"bands": [a_band(days="mon")]}, ".days: must be a list", "all day"),
        ({"bands": [a_band(start="24:00")]}, ".start: '24:00' is out of range", "all day"),
        ({"bands": [a_band(end="25:00")]}, ".end: '25:00' is out of range", "all day"),
        ({"bands": [a_band(start="8:00")]}, ".start: '8:00' is not a time of day", "all day"),
        ({"bands": [a_band(start=800)]}, ".start: 800 is not a time of day", "all day"),
        (
            {"bands": [a_band(energy_fee=0.3)]},
            ".energy_fee: must be a decimal written as a string",
            "all day",
        ),
        ({"bands": [a_band(energy_fee="cheap")]}, ".energy_fee: 'cheap' is not a decimal", "all day"),
        ({"bands": [a_band(service_fee="NaN")]}, ".service_fee: 'NaN' is not a finite", "all day"),
        ({"bands": [a_band()], "holidays": ["2026-02-30"]}, "holidays:", None),
        ({"bands": [a_band()], "holidays": "2026-12-25"}, "holidays: must be a list", None),
        ({"bands": [a_band()], "tax_rate": 0.2}, "tax_rate: must be a decimal", None),
        ({"bands": [a_band()], "idle_fee": "0.1"}, "idle_fee: must be an object", None),
        (
            {"bands": [a_band()], "idle_fee": {"per_minute": "0.1", "grace_minutes": "5"}},
            "grace_minutes",
            None,
        ),
        ({"bands": [a_band()], "idle_fee": {"per_minute": "0.1", "grace": 5}}, "unknown field grace", None),
        ({"bands": [a_band()], "min_price": 5}, "min_price: must be a decimal", None),
    ],
)
def test_a_bad_shape_is_refused_naming_the_field_and_band(
    definition: Any, message: str, band: str | None
) -> None:
    with pytest.raises(InvalidTariff) as raised:
        tariff_from_json("EUR", definition)
    assert message in str(raised.value)
    assert raised.value.band == band
