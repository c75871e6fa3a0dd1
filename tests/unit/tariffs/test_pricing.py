"""Pricing, table-tested: every expected value here was worked out by hand."""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tariffs.errors import InvalidTariff
from tariffs.model import HOLIDAY, IdleFee, Interval, Line, LineKind, Reading, SessionUsage, Tariff
from tariffs.pricing import band_at, energy_by_band, minor_unit, next_change, price
from tests.unit.tariffs import a_tariff, at, band, readings

SHANGHAI, BERLIN, NEW_YORK = (
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
)
TOU = a_tariff(
    band("valley", "00:00", "08:00", "0.30", "0.20"),
    band("peak", "08:00", "11:00", "1.00", "0.50"),
    band("flat", "11:00", "24:00", "0.60", "0.30"),
)
WEEKLY = a_tariff(
    band("weekday", "00:00", "24:00", "0.50", days=range(5)),
    band("weekend", "00:00", "24:00", "0.30", days=(5, 6)),
)
THANKSGIVING = date(2026, 11, 26)  # a Thursday
HOLIDAYS = a_tariff(
    *WEEKLY.bands,
    band("holiday", "00:00", "24:00", "0.10", days=[HOLIDAY]),
    holidays=frozenset({THANKSGIVING}),
)
NIGHT_AND_DAY = a_tariff(band("night", "00:00", "06:00", "0.20"), band("day", "06:00", "24:00", "0.40"))
HALF_PAST_TWO = a_tariff(band("early", "00:00", "02:30"), band("late", "02:30", "24:00"))
FLAT = a_tariff(band("all", "00:00", "24:00", "0.50"))
E, S = LineKind.ENERGY, LineKind.SERVICE


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def usage(
    zone: ZoneInfo,
    start: str,
    end: str,
    *points: tuple[str, int],
    charging: tuple[tuple[str, str], ...] = (),
    unplugged: str | None = None,
) -> SessionUsage:
    return SessionUsage(
        at(zone, start),
        at(zone, end),
        readings(zone, *points),
        tuple(Interval(at(zone, a), at(zone, b)) for a, b in charging),
        at(zone, unplugged) if unplugged else None,
    )


def line(kind: LineKind, quantity: str, unit_price: str, amount: str, band: str | None = None) -> Line:
    return Line(kind, Decimal(quantity), Decimal(unit_price), Decimal(amount), band)


@pytest.mark.parametrize(
    ("tariff", "zone", "points", "expected"),
    [
        pytest.param(TOU, SHANGHAI, [("2026-11-24 02:00", 0), ("2026-11-24 03:00", 10_000)],
                     {"valley": "10000"}, id="single band"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 10:30", 0), ("2026-11-24 11:30", 10_000)],
                     {"peak": "5000", "flat": "5000"}, id="one step across 11:00"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 10:30", 1000), ("2026-11-24 10:50", 5000),
                                     ("2026-11-24 11:10", 9000), ("2026-11-24 11:30", 11_000)],
                     {"peak": "6000", "flat": "4000"}, id="readings on both sides"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 11:10", 9000), ("2026-11-24 10:30", 1000),
                                     ("2026-11-24 11:30", 11_000), ("2026-11-24 10:50", 5000)],
                     {"peak": "6000", "flat": "4000"}, id="unsorted"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 07:00", 0), ("2026-11-24 12:00", 5000)],
                     {"valley": "1000", "peak": "3000", "flat": "1000"}, id="one step across three bands"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 10:30", 0), ("2026-11-24 11:15", 1000)],
                     {"peak": "666.667", "flat": "333.333"}, id="thirds in whole mWh"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 10:00", 5000), ("2026-11-24 10:30", 4000),
                                     ("2026-11-24 11:30", 5000)],
                     {"peak": "500", "flat": "500"}, id="meter ran backwards"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 11:00", 100), ("2026-11-24 11:00", 300),
                                     ("2026-11-24 11:30", 400)], {"flat": "300"}, id="equal timestamps"),
        pytest.param(TOU, SHANGHAI, [("2026-11-24 11:00", 100)], {}, id="one reading"),
        pytest.param(WEEKLY, SHANGHAI, [("2026-11-27 23:00", 0), ("2026-11-28 01:00", 4000)],
                     {"weekday": "2000", "weekend": "2000"}, id="Friday into Saturday"),
        pytest.param(HOLIDAYS, SHANGHAI, [("2026-11-25 23:00", 0), ("2026-11-26 01:00", 4000)],
                     {"weekday": "2000", "holiday": "2000"}, id="into a holiday"),
        pytest.param(NIGHT_AND_DAY, BERLIN, [("2026-03-29 00:00", 0), ("2026-03-29 07:00", 6000)],
                     {"night": "5000", "day": "1000"}, id="clocks go forward: a 5 h night"),
        pytest.param(NIGHT_AND_DAY, BERLIN, [("2026-10-25 00:00", 0), ("2026-10-25 07:00", 8000)],
                     {"night": "7000", "day": "1000"}, id="clocks go back: a 7 h night"),
    ],
)  # fmt: skip
def test_energy_by_band(
    tariff: Tariff, zone: ZoneInfo, points: list[tuple[str, int]], expected: dict[str, str]
) -> None:
    energy = energy_by_band(tariff, readings(zone, *points), zone)
    assert energy == {name: Decimal(wh) for name, wh in expected.items()}
    assert list(energy) == list(expected)  # in the order the bands came into force


@pytest.mark.parametrize(
    ("tariff", "zone", "instant", "expected"),
    [
        (TOU, SHANGHAI, at(SHANGHAI, "2026-11-24 00:00"), "valley"),
        (TOU, SHANGHAI, at(SHANGHAI, "2026-11-24 10:59:59.999999"), "peak"),
        (TOU, SHANGHAI, at(SHANGHAI, "2026-11-24 11:00"), "flat"),
        (TOU, SHANGHAI, at(SHANGHAI, "2026-11-24 23:59:59"), "flat"),
        (HOLIDAYS, SHANGHAI, at(SHANGHAI, "2026-11-25 23:59"), "weekday"),
        (HOLIDAYS, SHANGHAI, at(SHANGHAI, "2026-11-26 00:00"), "holiday"),
        (HOLIDAYS, SHANGHAI, at(SHANGHAI, "2026-11-27 00:00"), "weekday"),
        (HOLIDAYS, SHANGHAI, at(SHANGHAI, "2026-11-28 12:00"), "weekend"),
        # Berlin skips 02:00-03:00 on 29 March: 02:30 maps forward to the jump, 01:00 UTC.
        (HALF_PAST_TWO, BERLIN, utc("2026-03-29 00:59:59"), "early"),
        (HALF_PAST_TWO, BERLIN, utc("2026-03-29 01:00"), "late"),
        # Berlin runs 02:00-03:00 twice on 25 October: 02:30 is its first occurrence, 00:30 UTC.
        (HALF_PAST_TWO, BERLIN, utc("2026-10-25 00:15"), "early"),
        (HALF_PAST_TWO, BERLIN, utc("2026-10-25 00:30"), "late"),
        (HALF_PAST_TWO, BERLIN, utc("2026-10-25 01:15"), "late"),  # 02:15 the second time
        (HALF_PAST_TWO, NEW_YORK, utc("2026-03-08 06:59"), "early"),  # 01:59 EST
        (HALF_PAST_TWO, NEW_YORK, utc("2026-03-08 07:00"), "late"),  # 03:00 EDT
    ],
)
def test_band_at(tariff: Tariff, zone: ZoneInfo, instant: datetime, expected: str) -> None:
    assert band_at(tariff, instant, zone).name == expected


@pytest.mark.parametrize(
    ("tariff", "zone", "instant", "expected"),
    [
        (TOU, SHANGHAI, at(SHANGHAI, "2026-11-24 10:30"), at(SHANGHAI, "2026-11-24 11:00")),
        (TOU, SHANGHAI, at(SHANGHAI, "2026-11-24 08:00"), at(SHANGHAI, "2026-11-24 11:00")),
        (TOU, SHANGHAI, at(SHANGHAI, "2026-11-24 23:00"), at(SHANGHAI, "2026-11-25 00:00")),
        (WEEKLY, SHANGHAI, at(SHANGHAI, "2026-11-23 10:00"), at(SHANGHAI, "2026-11-28 00:00")),
        (WEEKLY, SHANGHAI, at(SHANGHAI, "2026-11-28 10:00"), at(SHANGHAI, "2026-11-30 00:00")),
        (HOLIDAYS, SHANGHAI, at(SHANGHAI, "2026-11-24 10:00"), at(SHANGHAI, "2026-11-26 00:00")),
        (HOLIDAYS, SHANGHAI, at(SHANGHAI, "2026-11-26 10:00"), at(SHANGHAI, "2026-11-27 00:00")),
        (FLAT, SHANGHAI, at(SHANGHAI, "2026-11-24 10:00"), None),
        (HALF_PAST_TWO, BERLIN, utc("2026-03-28 23:00"), utc("2026-03-29 01:00")),
        (HALF_PAST_TWO, BERLIN, utc("2026-10-24 23:00"), utc("2026-10-25 00:30")),
    ],
)
def test_next_change(tariff: Tariff, zone: ZoneInfo, instant: datetime, expected: datetime | None) -> None:
    assert next_change(tariff, instant, zone) == expected


@pytest.mark.parametrize(("days", "expected"), [(8, True), (9, False)])
def test_next_change_looks_eight_days_ahead(days: int, expected: bool) -> None:
    holiday = date(2026, 11, 24) + timedelta(days=days)
    bands = band("all", "00:00", "24:00"), band("holiday", "00:00", "24:00", days=[HOLIDAY])
    tariff = a_tariff(*bands, holidays=frozenset({holiday}))
    change = next_change(tariff, at(SHANGHAI, "2026-11-24 00:00"), SHANGHAI)
    assert change == (at(SHANGHAI, f"{holiday} 00:00") if expected else None)


def test_price_across_a_boundary() -> None:
    session = usage(
        SHANGHAI, "2026-11-24 10:30", "2026-11-24 11:30",
        ("2026-11-24 10:30", 1000), ("2026-11-24 10:50", 5000),
        ("2026-11-24 11:10", 9000), ("2026-11-24 11:30", 11_000),
    )  # fmt: skip
    result = price(a_tariff(*TOU.bands, tax_rate=Decimal("0.13")), session, SHANGHAI)
    assert result.lines == (
        line(E, "6", "1.00", "6.00", "peak"),
        line(S, "6", "0.50", "3.00", "peak"),
        line(E, "4", "0.60", "2.40", "flat"),
        line(S, "4", "0.30", "1.20", "flat"),
    )
    # tax: 12.60 * 0.13 = 1.638
    assert (result.currency, str(result.subtotal), str(result.tax), str(result.total)) == (
        "CNY", "12.60", "1.64", "14.24",
    )  # fmt: skip


def test_lines_follow_the_session_with_energy_before_service() -> None:
    session = usage(
        SHANGHAI, "2026-11-24 22:00", "2026-11-25 09:00",
        ("2026-11-24 22:00", 0), ("2026-11-25 09:00", 11_000),
        charging=(("2026-11-24 22:00", "2026-11-25 09:00"),),
    )  # fmt: skip
    tariff = a_tariff(*TOU.bands, time_fee_per_minute=Decimal("0.01"), session_fee=Decimal(1))
    result = price(tariff, session, SHANGHAI)
    assert [(item.kind, item.band) for item in result.lines] == [
        (E, "flat"), (S, "flat"), (E, "valley"), (S, "valley"), (E, "peak"), (S, "peak"),
        (LineKind.TIME, None), (LineKind.SESSION, None),
    ]  # fmt: skip
    # 2 kWh flat 1.80, 8 kWh valley 4.00, 1 kWh peak 1.50, 660 min 6.60, session 1
    assert result.subtotal == Decimal("14.90")


@pytest.mark.parametrize(
    ("charging", "expected"),
    [
        ((("10:00", "10:40"), ("10:30", "10:45")), (Decimal(35), Decimal("1.75"))),  # from 10:10, merged
        ((("09:00", "10:00"), ("11:00", "12:00")), None),  # outside the session
        ((("10:20", "10:20:30"),), (Decimal("0.5"), Decimal("0.025"))),
        ((), None),
    ],
)
def test_time_fee(charging: tuple[tuple[str, str], ...], expected: tuple[Decimal, Decimal] | None) -> None:
    day = "2026-11-24 "
    session = usage(
        SHANGHAI, day + "10:10", day + "11:00", charging=tuple((day + a, day + b) for a, b in charging)
    )
    result = price(a_tariff(time_fee_per_minute=Decimal("0.05")), session, SHANGHAI)
    time_lines = [(item.quantity, item.amount) for item in result.lines if item.kind is LineKind.TIME]
    assert time_lines == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    ("unplugged", "ended", "expected"),
    [
        ("11:14", "11:00", (Decimal(4), Decimal("2.00"))),
        ("11:25", "11:00", (Decimal(15), Decimal("5.00"))),  # 7.50, capped
        ("11:05", "11:00", None),  # within the grace
        (None, "11:12", (Decimal(2), Decimal("1.00"))),  # still plugged in: up to the end of the session
    ],
)
def test_idle_fee(unplugged: str | None, ended: str, expected: tuple[Decimal, Decimal] | None) -> None:
    day = "2026-11-24 "
    session = usage(
        SHANGHAI, day + "09:00", day + ended,
        charging=((day + "09:00", day + "10:00"), (day + "10:30", day + "11:00")),
        unplugged=day + unplugged if unplugged else None,
    )  # fmt: skip
    tariff = a_tariff(idle_fee=IdleFee(Decimal("0.50"), grace_minutes=10, cap=Decimal("5.00")))
    result = price(tariff, session, SHANGHAI)
    idle = [(item.quantity, item.amount) for item in result.lines if item.kind is LineKind.IDLE]
    assert idle == ([] if expected is None else [expected])


def test_no_idle_fee_without_charging_periods() -> None:
    session = usage(SHANGHAI, "2026-11-24 09:00", "2026-11-24 11:00", unplugged="2026-11-24 12:00")
    assert price(a_tariff(idle_fee=IdleFee(Decimal(1))), session, SHANGHAI).lines == ()


@pytest.mark.parametrize(
    ("wh", "overrides", "extra", "subtotal"),
    [
        (1000, {"session_fee": Decimal("1.00")}, line(LineKind.SESSION, "1", "1.00", "1.00"), "1.50"),
        (1000, {"min_price": Decimal("2.00")}, line(LineKind.MINIMUM, "1", "1.50", "1.50"), "2.00"),
        (0, {"min_price": Decimal("2.00")}, line(LineKind.MINIMUM, "1", "2.00", "2.00"), "2.00"),
        (30_000, {"max_price": Decimal("10.00")}, line(LineKind.MAXIMUM, "1", "-5.00", "-5.00"), "10.00"),
        (1000, {"min_price": Decimal("0.50"), "max_price": Decimal("0.50")}, None, "0.50"),
    ],
)
def test_session_fee_and_price_limits(
    wh: int, overrides: dict[str, Decimal], extra: Line | None, subtotal: str
) -> None:
    session = usage(SHANGHAI, "2026-11-24 10:00", "2026-11-24 11:00", ("2026-11-24 10:00", 0),
                    ("2026-11-24 11:00", wh))  # fmt: skip
    result = price(a_tariff(*FLAT.bands, **overrides), session, SHANGHAI)
    energy = [Line(E, Decimal(wh) / 1000, Decimal("0.50"), Decimal(wh) / 2000, "all")] if wh else []
    assert result.lines == (*energy, *([extra] if extra else []))
    assert result.subtotal == result.total == Decimal(subtotal)


@pytest.mark.parametrize(
    ("currency", "fee", "wh", "tax_rate", "expected"),
    [
        ("CNY", "0.125", 1000, "0.13", ("0.13", "0.02", "0.15")),  # 0.125 up; tax 0.01625
        ("EUR", "0.1249", 1000, "0", ("0.12", "0.00", "0.12")),
        ("EUR", "0.30", 1, "0.19", ("0.00", "0.00", "0.00")),  # 0.0003
        ("JPY", "35", 1500, "0.10", ("53", "5", "58")),  # 52.5 up; tax 5.25
        ("KRW", "300", 2500, "0.1", ("750", "75", "825")),
        ("KWD", "0.0125", 1000, "0", ("0.013", "0.000", "0.013")),
    ],
)
def test_rounding_once_half_up(
    currency: str, fee: str, wh: int, tax_rate: str, expected: tuple[str, str, str]
) -> None:
    tariff = a_tariff(band("all", "00:00", "24:00", fee), currency=currency, tax_rate=Decimal(tax_rate))
    session = usage(SHANGHAI, "2026-11-24 10:00", "2026-11-24 11:00", ("2026-11-24 10:00", 0),
                    ("2026-11-24 11:00", wh))  # fmt: skip
    result = price(tariff, session, SHANGHAI)
    assert tuple(map(str, (result.subtotal, result.tax, result.total))) == expected


@pytest.mark.parametrize(
    ("currency", "unit"), [("CNY", "0.01"), ("EUR", "0.01"), ("USD", "0.01"), ("JPY", "1"), ("KRW", "1"),
                           ("KWD", "0.001"), ("XYZ", "0.01")]
)  # fmt: skip
def test_minor_unit(currency: str, unit: str) -> None:
    assert minor_unit(currency) == Decimal(unit)


def test_an_invalid_tariff_is_not_priced() -> None:
    broken = a_tariff(band("a", "00:00", "12:00"))
    session = usage(SHANGHAI, "2026-11-24 10:00", "2026-11-24 11:00")
    with pytest.raises(InvalidTariff, match="12:00 to 24:00"):
        price(broken, session, SHANGHAI)


def test_ten_hours_of_ten_second_readings_price_fast() -> None:
    start = at(SHANGHAI, "2026-11-24 06:00")
    points = tuple(Reading(start + timedelta(seconds=10 * i), 20 * i) for i in range(3601))
    session = SessionUsage(start, points[-1].at, points, (Interval(start, points[-1].at),))
    tariff = a_tariff(*TOU.bands, time_fee_per_minute=Decimal("0.01"))
    best = min(_seconds(lambda: price(tariff, session, SHANGHAI)) for _ in range(5))
    assert best < 0.025
    # 2 h valley, 3 h peak, 5 h flat at 7.2 kWh an hour
    assert energy_by_band(tariff, points, SHANGHAI) == {"valley": 14_400, "peak": 21_600, "flat": 36_000}


def _seconds(run: Callable[[], object]) -> float:
    started = clock.perf_counter()
    run()
    return clock.perf_counter() - started
