"""Cost-aware charging plans: two-band cases by hand, then properties over generated tariffs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chargepoints.rules.charging_plan import Plan, PlanStep, PriceWindow, plan

EVENING = datetime(2026, 11, 24, 18, tzinfo=UTC)
NIGHT, MORNING = EVENING.replace(hour=23), EVENING + timedelta(hours=13)
DAY_PRICE, NIGHT_PRICE = Decimal("0.40"), Decimal("0.20")
TWO_BANDS = [PriceWindow(EVENING, NIGHT, DAY_PRICE), PriceWindow(NIGHT, MORNING, NIGHT_PRICE)]
KW11 = Decimal(11_000)
quick = settings(max_examples=200, deadline=None)


def at(hour: int) -> datetime:
    return EVENING.replace(hour=hour) if hour >= 18 else EVENING.replace(hour=hour) + timedelta(days=1)


@pytest.mark.parametrize(
    ("energy_wh", "steps", "feasible", "average"),
    [
        pytest.param(22_000, [(18, 0), (23, KW11), (1, 0)], True, NIGHT_PRICE, id="night only"),
        pytest.param(88_000, [(18, 0), (23, KW11)], True, NIGHT_PRICE, id="the whole night"),
        pytest.param(
            99_000,
            [(18, KW11), (19, 0), (23, KW11)],
            True,
            Decimal("0.2222"),
            id="the night and an hour before",
        ),
        pytest.param(143_000, [(18, KW11)], True, Decimal("0.2769"), id="every hour"),
        pytest.param(143_001, [(18, KW11)], False, Decimal("0.2769"), id="cannot: full power"),
        pytest.param(0, [(18, KW11)], True, Decimal("0.2769"), id="no need: full power"),
    ],
)
def test_two_bands(
    energy_wh: int, steps: list[tuple[int, Decimal]], feasible: bool, average: Decimal | None
) -> None:
    made = plan(EVENING, MORNING, energy_wh, KW11, TWO_BANDS)
    assert made == Plan(tuple(PlanStep(at(hour), Decimal(w)) for hour, w in steps), feasible, average)


def test_the_last_window_charges_only_as_long_as_needed() -> None:
    made = plan(EVENING, MORNING, 1_000, Decimal(7_200), TWO_BANDS)  # 1 kWh at 7.2 kW: 500 s
    assert made.steps == (
        PlanStep(EVENING, Decimal(0)),
        PlanStep(NIGHT, Decimal(7_200)),
        PlanStep(NIGHT + timedelta(seconds=500), Decimal(0)),
    )


def test_equal_prices_charge_the_earlier_first() -> None:
    flat = [PriceWindow(EVENING, NIGHT, DAY_PRICE), PriceWindow(NIGHT, MORNING, DAY_PRICE)]
    made = plan(EVENING, MORNING, 11_000, KW11, flat)
    assert made.steps == (PlanStep(EVENING, KW11), PlanStep(at(19), Decimal(0)))


def test_time_without_a_price_is_used_last() -> None:
    # 6 h at 11 kW: the 3 priced hours, then the earliest 3 unpriced ones (18-20 h and 23-24 h).
    made = plan(EVENING, MORNING, 66_000, KW11, [PriceWindow(at(20), NIGHT, DAY_PRICE)])
    assert made.steps == (PlanStep(EVENING, KW11), PlanStep(at(0), Decimal(0)))
    assert made.feasible and made.cost_per_kwh_avg is None


def test_a_departure_already_past_charges_at_full_power() -> None:
    assert plan(MORNING, EVENING, 1_000, KW11, TWO_BANDS) == Plan((PlanStep(MORNING, KW11),), False)


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        plan(EVENING, MORNING, 1_000, KW11, [*TWO_BANDS, PriceWindow(at(22), at(2), NIGHT_PRICE)])


@st.composite
def tariffs(draw: st.DrawFn) -> tuple[datetime, datetime, list[PriceWindow]]:
    """A span and windows over it: cut into bands at whole minutes, some left without a price."""
    now = EVENING + timedelta(seconds=draw(st.integers(0, 3_600)))
    departure = now + timedelta(minutes=draw(st.integers(1, 24 * 60)))
    cuts = sorted(draw(st.sets(st.integers(-60, 25 * 60), min_size=2, max_size=8)))
    windows = [
        PriceWindow(
            EVENING + timedelta(minutes=a),
            EVENING + timedelta(minutes=b),
            Decimal(draw(st.integers(0, 90))) / 100,
        )
        for a, b in pairwise(cuts)
        if draw(st.booleans()) or a == cuts[0]
    ]
    return now, departure, windows


def price_at(windows: Sequence[PriceWindow], moment: datetime) -> Decimal:
    """The price at an instant; unpriced time is dearer than any window."""
    dearest = max((w.price_per_kwh for w in windows), default=Decimal(0)) + 1
    return next((w.price_per_kwh for w in windows if w.start <= moment < w.end), dearest)


def spans(made: Plan, departure: datetime) -> list[tuple[datetime, datetime, Decimal]]:
    ends = [s.start for s in made.steps[1:]] + [departure]
    return [(s.start, end, s.limit_w) for s, end in zip(made.steps, ends, strict=True)]


def energy_and_cost(
    parts: list[tuple[datetime, datetime, Decimal]], windows: Sequence[PriceWindow]
) -> tuple[Fraction, Fraction]:
    """Wh and money of charging in these parts, cut at every window boundary (exact fractions)."""
    cuts = sorted({w.start for w in windows} | {w.end for w in windows})
    energy = cost = Fraction(0)
    for start, end, watts in parts:
        bounds = [start, *(c for c in cuts if start < c < end), end]
        for a, b in pairwise(bounds):
            wh = Fraction(watts) * ((b - a) // timedelta(microseconds=1)) / 3_600_000_000
            energy, cost = energy + wh, cost + wh / 1000 * Fraction(price_at(windows, a))
    return energy, cost


@quick
@given(tariffs(), st.integers(-10, 200_000), st.integers(1_000, 22_000).map(Decimal))
def test_a_plan_meets_the_need_in_time_for_no_more_than_charging_now(
    tariff: tuple[datetime, datetime, list[PriceWindow]], energy_wh: int, max_w: Decimal
) -> None:
    now, departure, windows = tariff
    made = plan(now, departure, energy_wh, max_w, windows)
    starts = [s.start for s in made.steps]
    assert starts[0] == now and starts == sorted(set(starts)) and starts[-1] < departure
    assert all(a.limit_w != b.limit_w for a, b in pairwise(made.steps))
    assert all(s.limit_w in (0, max_w) for s in made.steps)
    energy, cost = energy_and_cost(spans(made, departure), windows)
    if not made.feasible or energy_wh <= 0:
        assert made.steps == (PlanStep(now, max_w),)
        assert made.feasible == (energy_wh <= 0)
        return
    assert energy >= energy_wh
    needed = timedelta(microseconds=-(-energy_wh * 3_600_000_000 // int(max_w)))
    _, now_cost = energy_and_cost([(now, now + needed, max_w)], windows)
    assert cost <= now_cost
