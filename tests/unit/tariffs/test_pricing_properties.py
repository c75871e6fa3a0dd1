"""Pricing properties over generated sessions, around Berlin's clock changes as well as on plain days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate, pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tariffs.model import HOLIDAY, WEEK, Band, IdleFee, Interval, LineKind, Reading, SessionUsage, Tariff
from tariffs.pricing import energy_by_band, price
from tests.unit.tariffs import a_tariff, half_hours

BERLIN = ZoneInfo("Europe/Berlin")
TICK = timedelta(seconds=10)
# The nights the clocks go forward and back, and an ordinary one.
NIGHTS = [
    datetime(2026, 3, 28, 20, tzinfo=UTC),
    datetime(2026, 10, 24, 20, tzinfo=UTC),
    datetime(2026, 11, 23, tzinfo=UTC),
]
PER_KWH_AND_TIME = a_tariff(*half_hours(), currency="EUR", time_fee_per_minute=Decimal("0.02"))
quick = settings(max_examples=60, deadline=None)

starts = st.builds(
    lambda night, ticks: night + ticks * TICK, st.sampled_from(NIGHTS), st.integers(0, 3 * 8640)
)
# Steps of whole ticks at a constant power (Wh per tick), so the register is an integer at every tick.
steps = st.lists(st.tuples(st.integers(1, 60), st.integers(0, 40)), min_size=1, max_size=40)
money = st.integers(0, 300).map(lambda cents: Decimal(cents) / 100)


def register(start: datetime, first: int, plan: list[tuple[int, int]]) -> list[Reading]:
    points = [Reading(start, first)]
    for ticks, power in plan:
        points.append(Reading(points[-1].at + ticks * TICK, points[-1].wh + ticks * power))
    return points


def read_at(points: list[Reading], instant: datetime) -> Reading:
    """The register at `instant`, interpolated (exactly: power is constant between readings)."""
    after = next(index for index, point in enumerate(points) if point.at >= instant)
    before, later = points[max(after - 1, 0)], points[after]
    if later.at == instant:
        return later
    ticks, elapsed = (later.at - before.at) // TICK, (instant - before.at) // TICK
    return Reading(instant, before.wh + (later.wh - before.wh) // ticks * elapsed)


def session(points: list[Reading]) -> SessionUsage:
    start, end = points[0].at, points[-1].at
    return SessionUsage(start, end, tuple(points), (Interval(start, end),))


@st.composite
def tariffs(draw: st.DrawFn) -> Tariff:
    """Any valid tariff: up to six bands a day, a holiday band, every fee and limit."""
    cuts = sorted(draw(st.sets(st.integers(1, 24 * 60 - 1), max_size=5)))
    walls = [time(0), *(time(minute // 60, minute % 60) for minute in cuts), time(0)]
    bands = [
        Band(f"b{i}", WEEK | {HOLIDAY}, start, end, draw(money), draw(money))
        for i, (start, end) in enumerate(pairwise(walls))
    ]
    limits = sorted(draw(st.lists(money, min_size=2, max_size=2)))
    idle = IdleFee(draw(money), draw(st.integers(0, 30)), draw(st.none() | money))
    return Tariff(
        currency=draw(st.sampled_from(["EUR", "JPY", "KWD"])),
        bands=tuple(bands),
        holidays=frozenset(draw(st.sets(st.dates(date(2026, 3, 28), date(2026, 3, 31)), max_size=2))),
        time_fee_per_minute=draw(money),
        idle_fee=draw(st.none() | st.just(idle)),
        session_fee=draw(money),
        min_price=draw(st.none() | st.just(limits[0])),
        max_price=draw(st.none() | st.just(limits[1])),
        tax_rate=draw(st.sampled_from([Decimal(0), Decimal("0.07"), Decimal("0.19")])),
    )


@st.composite
def usages(draw: st.DrawFn) -> SessionUsage:
    """Anything a station may report: readings in any order, running backwards, charging periods
    overlapping each other or the session's ends, an unplug before the last charge ended."""
    start = draw(starts)
    ticks = st.integers(-60, 2200)
    points = draw(st.lists(st.builds(Reading, ticks.map(lambda n: start + n * TICK), st.integers(0, 10**5))))
    periods = draw(st.lists(st.tuples(ticks, st.integers(0, 600)), max_size=4))
    return SessionUsage(
        start,
        start + draw(st.integers(0, 2200)) * TICK,
        tuple(points),
        tuple(Interval(start + a * TICK, start + (a + n) * TICK) for a, n in periods),
        draw(st.none() | ticks.map(lambda n: start + n * TICK)),
    )


@quick
@given(starts, st.integers(0, 10**6), steps, st.data())
def test_splitting_a_session_costs_no_more_than_rounding(
    start: datetime, first: int, plan: list[tuple[int, int]], data: st.DataObject
) -> None:
    points = register(start, first, plan)
    split = start + data.draw(st.integers(0, (points[-1].at - start) // TICK), label="split tick") * TICK
    middle = read_at(points, split)
    head = [point for point in points if point.at < split] + [middle]
    tail = [middle] + [point for point in points if point.at > split]
    whole, *parts = (price(PER_KWH_AND_TIME, session(p), BERLIN).subtotal for p in (points, head, tail))
    assert abs(whole - sum(parts)) <= Decimal("0.01")  # each part rounds by half a cent at most
    energy = energy_by_band(PER_KWH_AND_TIME, points, BERLIN)
    for part in head, tail:
        for name, wh in energy_by_band(PER_KWH_AND_TIME, part, BERLIN).items():
            energy[name] -= wh
    assert not any(energy.values())


@quick
@given(tariffs(), usages())
def test_nothing_is_negative(tariff: Tariff, usage: SessionUsage) -> None:
    result = price(tariff, usage, BERLIN)
    assert min(result.subtotal, result.tax) >= 0
    assert result.total == result.subtotal + result.tax
    assert all(
        line.amount >= 0 and line.quantity >= 0 for line in result.lines if line.kind is not LineKind.MAXIMUM
    )


@quick
@given(tariffs(), starts, steps, st.data())
def test_more_energy_never_costs_less(
    tariff: Tariff, start: datetime, plan: list[tuple[int, int]], data: st.DataObject
) -> None:
    points = register(start, 0, plan)
    since = data.draw(st.integers(1, len(points) - 1), label="first reading raised")
    extra = data.draw(st.integers(1, 5000), label="extra Wh")
    more = points[:since] + [Reading(point.at, point.wh + extra) for point in points[since:]]
    less, then = price(tariff, session(points), BERLIN), price(tariff, session(more), BERLIN)
    assert then.subtotal >= less.subtotal and then.total >= less.total


@quick
@given(tariffs(), starts, st.lists(st.integers(0, 3 * 8640), min_size=2, max_size=50), st.data())
def test_energy_by_band_adds_up_to_the_register(
    tariff: Tariff, start: datetime, ticks: list[int], data: st.DataObject
) -> None:
    rises = data.draw(st.lists(st.integers(0, 5000), min_size=len(ticks), max_size=len(ticks)), label="rises")
    totals = list(accumulate(rises))
    points = [Reading(start + n * TICK, wh) for n, wh in zip(sorted(ticks), totals, strict=True)]
    shuffled = data.draw(st.permutations(points), label="order received")
    assert sum(energy_by_band(tariff, shuffled, BERLIN).values()) == totals[-1] - totals[0]
