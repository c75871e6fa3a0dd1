"""The site allocator: properties over generated sites, then the rules one case at a time."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chargepoints.rules.load_allocation import (
    QUANTUM,
    Demand,
    LimitUnit,
    SiteLimit,
    allocate,
    reclaim_cap,
    worth_sending,
)

T0 = datetime(2026, 11, 24, 8, tzinfo=UTC)
D = Decimal
quick = settings(max_examples=150, deadline=None)

tenths = st.integers(0, 400).map(lambda n: Decimal(n) * QUANTUM)
positive_tenths = st.integers(1, 160).map(lambda n: Decimal(n) * QUANTUM)


@st.composite
def demands(draw: st.DrawFn, *, min_size: int = 0, positive_min: bool = False) -> list[Demand]:
    """Sessions with distinct keys: some want nothing, some have a max below their min."""
    keys = draw(st.lists(st.integers(1, 10_000), min_size=min_size, max_size=7, unique=True))
    return [
        Demand(
            key=key,
            phases=draw(st.integers(1, 3)),
            min_a=draw(positive_tenths if positive_min else st.sampled_from([D(0), D(6), D("6.5"), D(10)])),
            max_a=draw(st.one_of(tenths, st.just(D(0)), st.just(D(-1)))),
            weight=draw(st.sampled_from([1, 1, 2])),
            since=draw(st.none() | st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m))),
        )
        for key in keys
    ]


@st.composite
def limits(draw: st.DrawFn, unit: LimitUnit | None = None) -> SiteLimit:
    unit = unit or draw(st.sampled_from(LimitUnit))
    if unit == LimitUnit.AMPS:
        return SiteLimit(Decimal(draw(st.integers(0, 20_000))) / 100, unit)
    return SiteLimit(Decimal(draw(st.integers(0, 90_000))), unit, draw(st.sampled_from([D(230), D("220.5")])))


def cost(limit: SiteLimit, demand: Demand, amps: Decimal) -> Decimal:
    return amps if limit.unit == LimitUnit.AMPS else amps * limit.volts * demand.phases


def total_cost(limit: SiteLimit, site: list[Demand], given: dict[int, Decimal]) -> Decimal:
    return sum((cost(limit, d, given[d.key]) for d in site), D(0))


def effective_min(demand: Demand) -> Decimal:
    return D(0) if demand.max_a <= 0 else max(min(demand.min_a, demand.max_a), D(0))


@quick
@given(limits(), demands())
def test_every_share_fits_its_demand_and_the_site(limit: SiteLimit, site: list[Demand]) -> None:
    given_ = allocate(limit, site)
    assert set(given_) == {d.key for d in site}
    assert total_cost(limit, site, given_) <= limit.value
    for demand in site:
        amps = given_[demand.key]
        assert amps == amps.quantize(QUANTUM) and amps >= 0
        assert amps <= max(demand.max_a, D(0))
        assert amps == 0 or amps >= effective_min(demand)


@quick
@given(limits(), demands())
def test_every_minimum_is_kept_when_all_minimums_fit(limit: SiteLimit, site: list[Demand]) -> None:
    assume(sum((cost(limit, d, effective_min(d)) for d in site), D(0)) <= limit.value)
    given_ = allocate(limit, site)
    assert all(given_[d.key] >= effective_min(d) for d in site)


@quick
@given(limits(), demands(), st.randoms(use_true_random=False))
def test_the_order_of_the_demands_does_not_matter(
    limit: SiteLimit, site: list[Demand], shuffler: random.Random
) -> None:
    shuffled = list(site)
    shuffler.shuffle(shuffled)
    assert allocate(limit, shuffled) == allocate(limit, site) == allocate(limit, list(reversed(site)))


@quick
@given(limits(), demands(), st.integers(1, 5_000).map(lambda n: Decimal(n) / 10))
def test_raising_the_limit_never_lowers_what_is_given(
    limit: SiteLimit, site: list[Demand], more: Decimal
) -> None:
    """In cost terms: under a watts limit a 3-phase session admitted late may take the place of
    more amps on 1 phase, so the watts, not the amps, never drop."""
    higher = replace(limit, value=limit.value + more)
    before, after = allocate(limit, site), allocate(higher, site)
    assert total_cost(higher, site, after) >= total_cost(limit, site, before)


def others_moved(site: list[Demand], key: int, before: dict[int, Decimal], after: dict[int, Decimal]) -> bool:
    """Whether a session other than `key` was paused or resumed between the two allocations."""
    return any((before[d.key] == 0) != (after[d.key] == 0) for d in site if d.key != key)


@quick
@given(limits(), demands(min_size=1, positive_min=True), st.data())
def test_a_newcomer_never_raises_anyone_else(
    limit: SiteLimit, site: list[Demand], data: st.DataObject
) -> None:
    """Unless it pauses someone: that session's amps go to the rest (and the reverse: a session
    that leaves lowers nobody unless someone resumes in its place)."""
    newcomer = data.draw(st.sampled_from(site))
    rest = [d for d in site if d is not newcomer]
    before, after = allocate(limit, rest), allocate(limit, site)
    before[newcomer.key] = D(0)
    if not others_moved(site, newcomer.key, before, after):
        assert all(after[d.key] <= before[d.key] for d in rest)
    if limit.unit == LimitUnit.AMPS:
        assert sum(after[d.key] for d in rest) <= sum(before[d.key] for d in rest)


@quick
@given(limits(), demands(min_size=1, positive_min=True), st.data())
def test_a_reclaimed_session_frees_amps_for_the_others(
    limit: SiteLimit, site: list[Demand], data: st.DataObject
) -> None:
    tapering = data.draw(st.sampled_from(site))
    assume(tapering.max_a > tapering.min_a)
    cap = data.draw(st.integers(int(tapering.min_a * 10), int(tapering.max_a * 10)).map(lambda n: D(n) / 10))
    capped = [replace(d, max_a=cap) if d is tapering else d for d in site]
    before, after = allocate(limit, site), allocate(limit, capped)
    rest = [d for d in site if d is not tapering]
    assert all(after[d.key] >= before[d.key] for d in rest)
    freed = before[tapering.key] - after[tapering.key]
    taking = [d for d in rest if after[d.key] > 0]
    if limit.unit == LimitUnit.AMPS and taking and all(after[d.key] < d.max_a for d in taking):
        assert sum(after[d.key] - before[d.key] for d in rest) == freed


@quick
@given(st.integers(180, 900).map(lambda n: Decimal(n) / 10), st.sampled_from(LimitUnit))
def test_a_vip_gets_twice_the_share_of_others(amps: Decimal, unit: LimitUnit) -> None:
    vip, other = Demand(1, max_a=D(100), weight=2), Demand(2, max_a=D(100))
    limit = SiteLimit(amps if unit == LimitUnit.AMPS else amps * 690, unit)
    given_ = allocate(limit, [vip, other])
    assert abs(given_[1] - 2 * given_[2]) <= D("0.2")


@pytest.mark.parametrize(
    ("amps", "site", "expected"),
    [
        pytest.param(D(32), [Demand(1), Demand(2)], {1: D(16), 2: D(16)}, id="even split"),
        pytest.param(D(32), [Demand(1), Demand(2), Demand(3)], {1: D("10.7"), 2: D("10.7"), 3: D("10.6")}),
        pytest.param(
            D(40), [Demand(1, max_a=D(10)), Demand(2)], {1: D(10), 2: D(30)}, id="capped gives back"
        ),
        pytest.param(D(20), [Demand(1, min_a=D(10)), Demand(2)], {1: D(10), 2: D(10)}, id="min above level"),
        pytest.param(D(18), [Demand(1, min_a=D(10)), Demand(2)], {1: D(10), 2: D(8)}, id="min then level"),
        pytest.param(D(100), [Demand(1), Demand(2, max_a=D(8))], {1: D(32), 2: D(8)}, id="everyone at max"),
        pytest.param(D(30), [Demand(1, weight=2), Demand(2)], {1: D(20), 2: D(10)}, id="vip counts double"),
        pytest.param(D(12), [Demand(1, max_a=D(4)), Demand(2)], {1: D(4), 2: D(8)}, id="max below min"),
        pytest.param(D(12), [Demand(1, max_a=D(0)), Demand(2)], {1: D(0), 2: D(12)}, id="wants nothing"),
        pytest.param(D("12.35"), [Demand(1), Demand(2)], {1: D("6.2"), 2: D("6.1")}, id="down to 0.1 A"),
        pytest.param(D(-5), [Demand(1)], {1: D(0)}, id="negative limit"),
        pytest.param(D(10), [], {}, id="nobody"),
    ],
)
def test_water_filling(amps: Decimal, site: list[Demand], expected: dict[int, Decimal]) -> None:
    assert allocate(SiteLimit(amps, LimitUnit.AMPS), site) == expected


def test_watts_cost_volts_times_phases() -> None:
    site = [Demand(1, phases=3), Demand(2, phases=1)]
    given_ = allocate(SiteLimit(D(9200), LimitUnit.WATTS), site)
    assert given_ == {1: D(10), 2: D(10)}  # 10 A x 690 W + 10 A x 230 W = 9200 W


@pytest.mark.parametrize(
    ("amps", "site", "granted"),
    [
        pytest.param(
            D(11), [Demand(2, since=T0), Demand(1, since=T0 + timedelta(1))], {2}, id="earlier first"
        ),
        pytest.param(D(11), [Demand(1, since=T0), Demand(2, since=T0, weight=2)], {2}, id="vip first"),
        pytest.param(D(11), [Demand(1), Demand(2, since=T0)], {2}, id="unknown start last"),
        pytest.param(D(11), [Demand(2), Demand(1)], {1}, id="then by key"),
        pytest.param(
            D(17), [Demand(1, since=T0), Demand(2, since=T0, min_a=D(12)), Demand(3)], {1}, id="stop at first"
        ),
        pytest.param(D(17), [Demand(1, min_a=D(8)), Demand(2, min_a=D(8))], {1, 2}, id="both fit"),
    ],
)
def test_minimums_in_priority_order_until_one_does_not_fit(
    amps: Decimal, site: list[Demand], granted: set[int]
) -> None:
    given_ = allocate(SiteLimit(amps, LimitUnit.AMPS), site)
    assert {key for key, a in given_.items() if a > 0} == granted


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="own key"):
        allocate(SiteLimit(D(32), LimitUnit.AMPS), [Demand(1), Demand(1)])


@pytest.mark.parametrize(
    ("allocated", "measured", "min_a", "expected"),
    [
        pytest.param(D(16), None, D(6), None, id="no reading"),
        pytest.param(D(16), D("15.6"), D(6), None, id="uses it"),
        pytest.param(D(16), D(15), D(6), None, id="within half the headroom"),
        pytest.param(D(16), D("14.9"), D(6), D("16.9"), id="a little below: caps growth"),
        pytest.param(D(16), D(8), D(6), D(10), id="tapering"),
        pytest.param(D(16), D("8.01"), D(6), D("10.1"), id="rounded up to 0.1"),
        pytest.param(D(16), D(0), D(6), D(6), id="suspended keeps its minimum"),
        pytest.param(D(10), D(8), D(6), D(10), id="steady at the cap stays capped"),
        pytest.param(D(10), D("8.9"), D(6), D("10.9"), id="rising lifts the cap"),
        pytest.param(D(10), D("9.5"), D(6), None, id="at the cap: lifted"),
    ],
)
def test_reclaim_cap(
    allocated: Decimal, measured: Decimal | None, min_a: Decimal, expected: Decimal | None
) -> None:
    assert reclaim_cap(allocated, measured, min_a) == expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, D(0), True),
        (D(16), D("15.9"), True),
        (D(16), D(0), True),
        (D(16), D(16), False),
        (D(16), D("16.9"), False),
        (D(16), D(17), True),
        (D(0), D(6), True),
    ],
)
def test_worth_sending(old: Decimal | None, new: Decimal, expected: bool) -> None:
    assert worth_sending(old, new) is expected
