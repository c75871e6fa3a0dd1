"""Cost-aware charging: when to charge so that a driver's energy need is met by departure at the
least energy price.

Power is constant while charging, so energy is proportional to time and the cheapest plan
simply fills the cheapest time first (greedy is exact here). Time no price window covers counts
as dearer than any window: nothing says what it costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

MICROSECONDS_PER_HOUR = 3_600_000_000
PRICE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class PriceWindow:
    start: datetime
    end: datetime
    price_per_kwh: Decimal  # energy fee + service fee of the band in force


@dataclass(frozen=True, slots=True)
class PlanStep:
    start: datetime
    limit_w: Decimal  # 0 = wait; otherwise the power to charge at


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[
        PlanStep, ...
    ]  # chronological, from `now`, equal neighbours merged; last one runs to departure
    feasible: bool  # False: the need cannot be met in time, so it charges at full power throughout
    cost_per_kwh_avg: Decimal | None = None  # over the time it charges; None if some of it has no price


@dataclass(frozen=True, slots=True)
class _Piece:
    start: datetime
    end: datetime
    price: Decimal | None  # None: no window covers it


def plan(
    now: datetime, departure: datetime, energy_wh: int, max_w: Decimal, windows: Sequence[PriceWindow]
) -> Plan:
    """Charge at `max_w` in the cheapest time of [now, departure) until `energy_wh` is met: the
    cheapest windows first (ties: the earlier), each from its start, the last one only as long
    as needed; wait (0 W) otherwise.

    With no need (energy_wh <= 0) it charges at full power throughout, feasible: nothing is
    worth waiting for, and holding back an EV whose need was set too low would strand the driver.
    When even full power all the way cannot meet the need it also charges at full power
    throughout, but not feasible. Raises ValueError for windows that end before they start
    or overlap.
    """
    pieces = _pieces(now, departure, windows)
    needed = _time_for(energy_wh, max_w)
    if energy_wh <= 0 or needed is None or needed > departure - now:
        return Plan((PlanStep(now, max_w),), energy_wh <= 0, _average(pieces))
    chosen: list[_Piece] = []
    for piece in sorted(pieces, key=lambda p: (p.price is None, p.price or 0, p.start)):
        if needed <= timedelta(0):
            break
        take = min(piece.end - piece.start, needed)
        chosen.append(_Piece(piece.start, piece.start + take, piece.price))
        needed -= take
    return Plan(_steps(now, departure, chosen, max_w), True, _average(chosen))


def _time_for(energy_wh: int, max_w: Decimal) -> timedelta | None:
    """How long `energy_wh` takes at `max_w`, rounded up to the microsecond; None if never."""
    if max_w <= 0:
        return None
    microseconds = Decimal(max(energy_wh, 0)) * MICROSECONDS_PER_HOUR / max_w
    return timedelta(microseconds=int(microseconds.to_integral_value(ROUND_CEILING)))


def _pieces(now: datetime, departure: datetime, windows: Sequence[PriceWindow]) -> list[_Piece]:
    """[now, departure) cut into priced windows and the unpriced gaps between them."""
    pieces: list[_Piece] = []
    at = now
    for window in sorted(windows, key=lambda w: w.start):
        if window.end < window.start:
            raise ValueError(f"price window ends before it starts: {window}")
        start, end = max(window.start, now), min(window.end, departure)
        if start >= end:
            continue
        if start < at:
            raise ValueError(f"price windows overlap at {start.isoformat()}")
        if start > at:
            pieces.append(_Piece(at, start, None))
        pieces.append(_Piece(start, end, window.price_per_kwh))
        at = end
    if at < departure:
        pieces.append(_Piece(at, departure, None))
    return pieces


def _steps(
    now: datetime, departure: datetime, charging: list[_Piece], max_w: Decimal
) -> tuple[PlanStep, ...]:
    steps: list[PlanStep] = []
    at = now
    for piece in sorted(charging, key=lambda p: p.start):
        if piece.start > at:
            steps.append(PlanStep(at, Decimal(0)))
        steps.append(PlanStep(piece.start, max_w))
        at = piece.end
    if at < departure:
        steps.append(PlanStep(at, Decimal(0)))
    merged: list[PlanStep] = []
    for step in steps:
        if not merged or merged[-1].limit_w != step.limit_w:
            merged.append(step)
    return tuple(merged)


def _average(charging: list[_Piece]) -> Decimal | None:
    """The price per kWh averaged over the charging time (power is constant, so time weighs as energy)."""
    if not charging or any(p.price is None for p in charging):
        return None
    weights = [Decimal((p.end - p.start) // timedelta(microseconds=1)) for p in charging]
    total = sum(weights, Decimal(0))
    if total == 0:
        return None
    paid = sum((w * (p.price or 0) for w, p in zip(weights, charging, strict=True)), Decimal(0))
    return (paid / total).quantize(PRICE_PLACES, ROUND_HALF_UP)
