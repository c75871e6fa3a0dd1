"""Sharing a site's grid connection among the sessions charging there.

Amps are Decimal steps of 0.1 A, the resolution stations take limits in. The allocator counts in
whole tenths and exact fractions, so a share never rounds the site over its limit and the same
sessions always get the same amps, whatever order they come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from fractions import Fraction

QUANTUM = Decimal("0.1")
_NEVER = datetime.min.replace(tzinfo=UTC)


class LimitUnit(StrEnum):
    AMPS = "A"
    WATTS = "W"


@dataclass(frozen=True, slots=True)
class SiteLimit:
    value: Decimal  # A per phase, or W for the whole site
    unit: LimitUnit
    volts: Decimal = Decimal(230)  # phase-to-neutral nominal, to turn amps into watts


@dataclass(frozen=True, slots=True)
class Demand:
    """One active session as the allocator sees it."""

    key: int  # the transaction id
    phases: int = 3  # phases the EV draws on (1..3)
    min_a: Decimal = Decimal(6)  # below this an EV cannot charge (IEC 61851): it gets 0 or at least this
    max_a: Decimal = Decimal(32)  # the most it can use: EVSE/EV hardware, reclaim cap, cost plan
    weight: int = 1  # VIP drivers 2: their share of what is left counts double, and they keep
    # their minimum first when not all minimums fit
    since: datetime | None = None  # earlier sessions keep their minimum before later ones (stability)


@dataclass(slots=True)
class _Share:
    """A granted demand in tenths of an amp; `cost` is what one tenth takes from the budget."""

    rank: int
    weight: int
    low: int
    high: int
    cost: Fraction
    tenths: int


def allocate(limit: SiteLimit, demands: Sequence[Demand]) -> dict[int, Decimal]:
    """Amps for each demand (by key): 0 for one that pauses, else between its minimum and maximum.

    An amp costs 1 against an AMPS limit (each session counts fully against the per-phase limit:
    exact for 3 phases, safe for 1 phase on an unknown phase) and volts x phases against WATTS.
    A demand's minimum is min(min_a, max_a); max_a <= 0 wants nothing.

    1. Minimums are granted in priority order (weight desc, since asc with None last, key asc)
       until the first that does not fit: it pauses, and so does everyone after it, even where a
       smaller minimum would fit. Skipping it instead would let later sessions leapfrog earlier
       ones, and a newcomer could pause an earlier session and so free a place that raises a
       later one; stopping keeps "adding a session never raises another's share unless it
       pauses someone".
    2. The rest is water-filled: each granted demand gets clamp(level x weight, min, max) for the
       highest level that fits, rounded down to 0.1 A. The tenths left over go one at a time to
       whoever is furthest below the level (smallest (amps + 0.1) / weight, ties in priority
       order) while they fit and it is below its max. (Handing them out in plain priority order
       would give them to a session held at its minimum, far above the level, and make shares
       jump when an unrelated session comes or goes.)

    Raises ValueError for duplicate keys, weights below 1 or phases outside 1..3.
    """
    _check(demands)
    budget = max(Fraction(limit.value), Fraction(0))
    shares = _minimums(limit, sorted(demands, key=_priority), budget)
    _fill(list(shares.values()), budget)
    return {
        d.key: Decimal(shares[d.key].tenths) * QUANTUM if d.key in shares else 0 * QUANTUM for d in demands
    }


def _check(demands: Sequence[Demand]) -> None:
    if len({d.key for d in demands}) != len(demands):
        raise ValueError("each demand needs its own key")
    for demand in demands:
        if demand.weight < 1 or not 1 <= demand.phases <= 3:
            raise ValueError(f"demand {demand.key}: weight must be 1 or more and phases 1 to 3")


def _priority(demand: Demand) -> tuple[int, bool, datetime, int]:
    return (-demand.weight, demand.since is None, demand.since or _NEVER, demand.key)


def _minimums(limit: SiteLimit, ordered: list[Demand], budget: Fraction) -> dict[int, _Share]:
    """The demands whose minimum fits, in priority order up to the first that does not."""
    shares: dict[int, _Share] = {}
    spent = Fraction(0)
    for rank, demand in enumerate(ordered):
        high = _tenths(demand.max_a, ROUND_FLOOR)
        if high <= 0:
            continue  # wants nothing, so it holds no place in the queue
        low = min(_tenths(max(demand.min_a, Decimal(0)), ROUND_CEILING), high)
        cost = Fraction(1, 10)
        if limit.unit == LimitUnit.WATTS:
            cost = Fraction(limit.volts) * demand.phases / 10
        if spent + low * cost > budget:
            break
        spent += low * cost
        shares[demand.key] = _Share(rank, demand.weight, low, high, cost, low)
    return shares


def _tenths(amps: Decimal, rounding: str) -> int:
    return int((amps / QUANTUM).to_integral_value(rounding))


def _fill(shares: list[_Share], budget: Fraction) -> None:
    """Water-fill the budget over the granted shares, in whole tenths."""
    level = _level(shares, budget)
    for share in shares:
        share.tenths = int(_clamp(share, level))  # int() rounds these non-negative values down
    left = budget - sum(s.tenths * s.cost for s in shares)
    while True:
        open_ = [s for s in shares if s.tenths < s.high and s.cost <= left]
        if not open_:
            return
        chosen = min(open_, key=lambda s: (Fraction(s.tenths + 1, s.weight), s.rank))
        chosen.tenths += 1
        left -= chosen.cost


def _clamp(share: _Share, level: Fraction) -> Fraction:
    return min(max(level * share.weight, Fraction(share.low)), Fraction(share.high))


def _level(shares: list[_Share], budget: Fraction) -> Fraction:
    """The highest level whose clamped total fits the budget (the total rises piecewise linearly)."""

    def total(level: Fraction) -> Fraction:
        return sum((s.cost * _clamp(s, level) for s in shares), Fraction(0))

    corners = sorted({Fraction(0)} | {Fraction(n, s.weight) for s in shares for n in (s.low, s.high)})
    if total(corners[-1]) <= budget:
        return corners[-1]
    below = max(c for c in corners if total(c) <= budget)
    above = min(c for c in corners if c > below)
    # Between two corners the same shares move, so the total is a straight line there.
    slope = (total(above) - total(below)) / (above - below)
    return below + (budget - total(below)) / slope


def reclaim_cap(
    allocated_a: Decimal, measured_a: Decimal | None, min_a: Decimal, headroom_a: Decimal = Decimal(2)
) -> Decimal | None:
    """A lower max for a session drawing well below its allocation (the EV is full, tapering or
    suspended), so others get the rest; None when it uses what it got. Draw rising back to the cap
    lifts the cap by `headroom_a` at the next allocation, so the session ramps back up.

    The cap is the draw plus `headroom_a` (up to 0.1 A, never below `min_a`, so a suspended EV
    can still start again). A draw within half the headroom of the allocation counts as using
    it: that dead band keeps a capped session, which settles headroom_a below its cap, from
    flapping between capped and uncapped on meter noise. A cap can come out above the
    allocation; it then only limits how fast the session grows.
    """
    if measured_a is None or measured_a >= allocated_a - headroom_a / 2:
        return None
    return max((measured_a + headroom_a).quantize(QUANTUM, ROUND_CEILING), min_a)


def worth_sending(old_a: Decimal | None, new_a: Decimal, *, hysteresis_a: Decimal = Decimal(1)) -> bool:
    """Send a new limit only when it changed enough (any decrease below old is always sent,
    since the site must never overshoot; increases smaller than hysteresis wait)."""
    if old_a is None or new_a < old_a:
        return True
    if new_a == old_a:
        return False
    return old_a == 0 or new_a - old_a >= hysteresis_a
