"""Time-of-use pricing: the band in force, a session's energy per band, and its itemised price.

Wall clock to instants: a band's times are wall clock times in the site's zone, turned into UTC
instants one local date at a time with zoneinfo. A time that does not exist (the hour skipped when
the clocks go forward) maps forward to the instant the clocks jump, so a band inside the skipped
hour lasts no time; a time that occurs twice (the clocks go back) means its first occurrence, so the
band in force from then on also gets the repeated hour.

Exactness: energy is shared out in whole milliwatt-hours (a step between two integer Wh readings
that crosses a band boundary is split in proportion to time, rounded half-up, and its parts always
add up to the step). Money is computed in exact rationals. A line's amount is that exact value;
only when it does not terminate (a third of a cent, from per-minute fees) does it carry 28
significant digits. The net is rounded once, from the exact sum, half-up to the minor unit.

Every entry point validates the tariff first and raises `InvalidTariff` for one that breaks a rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise, takewhile
from typing import NamedTuple
from zoneinfo import ZoneInfo

from tariffs.currency import minor_unit, round_half_up
from tariffs.model import HOLIDAY, Band, Interval, Line, LineKind, Price, Reading, SessionUsage, Tariff
from tariffs.validation import end_us, validate, wall_us

__all__ = ["RunningCost", "band_at", "energy_by_band", "minor_unit", "next_change", "price"]

_LOOKAHEAD = timedelta(days=8)
_TICK = timedelta(microseconds=1)
_MINUTE_US = 60_000_000
_KWH_MWH = 1_000_000


class _Piece(NamedTuple):
    """A band in force over [start, end), in UTC."""

    start: datetime
    end: datetime
    band: Band


class _Item(NamedTuple):
    kind: LineKind
    quantity: Fraction
    unit_price: Decimal
    amount: Fraction
    band: str | None = None

    def line(self) -> Line:
        return Line(self.kind, _decimal(self.quantity), self.unit_price, _decimal(self.amount), self.band)


def band_at(tariff: Tariff, at: datetime, zone: ZoneInfo) -> Band:
    """The band in force at the UTC instant `at` at a site in `zone`."""
    validate(tariff)
    return next(_pieces(tariff, at, zone)).band


def next_change(tariff: Tariff, at: datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant after `at`, at most eight days on, when another band (and price) applies."""
    validate(tariff)
    pieces = _pieces(tariff, at, zone)
    now = next(pieces).band
    ahead = takewhile(lambda piece: piece.start <= at + _LOOKAHEAD, pieces)
    return next((piece.start for piece in ahead if piece.band != now), None)


def energy_by_band(tariff: Tariff, readings: Sequence[Reading], zone: ZoneInfo) -> dict[str, Decimal]:
    """Wh per band name, in the order the bands came into force during the readings."""
    validate(tariff)
    return {name: Decimal(mwh) / 1000 for name, mwh in _energy_mwh(tariff, readings, zone).items()}


def price(tariff: Tariff, usage: SessionUsage, zone: ZoneInfo) -> Price:
    """The session's itemised price under the tariff: exact lines, totals rounded once."""
    validate(tariff)
    mwh = _energy_mwh(tariff, usage.readings, zone)
    return _total(tariff, [*_energy_items(tariff, mwh), *_time_items(tariff, usage)])


class RunningCost:
    """A session's price so far, kept up reading by reading without walking the session again.

    For the live cost while a session runs; its charge detail record prices the whole session.
    Until the session ends, all of its time counts as charging (so no idle fee), and a reading
    older than the latest is left to the record, which sorts them all.
    """

    def __init__(self, tariff: Tariff, zone: ZoneInfo, started_at: datetime) -> None:
        validate(tariff)
        self.tariff, self.zone, self.started_at = tariff, zone, started_at
        self._mwh: dict[str, int] = {}
        self._last: Reading | None = None

    def add(self, reading: Reading) -> None:
        last = self._last
        if last is not None and reading.at < last.at:
            return
        if last is not None:
            for name, mwh in _energy_mwh(self.tariff, (last, reading), self.zone).items():
                self._mwh[name] = self._mwh.get(name, 0) + mwh
        self._last = reading

    def price(self, at: datetime) -> Price:
        """The price were the session to end at `at`."""
        usage = SessionUsage(self.started_at, at, (), (Interval(self.started_at, at),))
        return _total(self.tariff, [*_energy_items(self.tariff, self._mwh), *_time_items(self.tariff, usage)])


def _total(tariff: Tariff, items: list[_Item]) -> Price:
    """Add the session fee and any minimum or maximum adjustment, then round once."""
    if tariff.session_fee:
        fee = tariff.session_fee
        items.append(_Item(LineKind.SESSION, Fraction(1), fee, Fraction(fee)))
    net = sum((item.amount for item in items), Fraction(0))
    adjustment = _adjustment(tariff, net)
    if adjustment is not None:
        items.append(adjustment)
        net += adjustment.amount
    unit = minor_unit(tariff.currency)
    subtotal = round_half_up(net, unit)
    tax = round_half_up(net * Fraction(tariff.tax_rate), unit)
    return Price(tariff.currency, tuple(item.line() for item in items), subtotal, tax, subtotal + tax)


def _pieces(tariff: Tariff, at: datetime, zone: ZoneInfo) -> Iterator[_Piece]:
    """The bands in force from `at` on, without end, for a valid tariff: they meet end to start."""
    week = {
        day: sorted((band for band in tariff.bands if day in band.days), key=lambda band: wall_us(band.start))
        for day in range(HOLIDAY + 1)
    }
    local = at.astimezone(zone)
    day, gone = local.date(), wall_us(local.time())
    while True:
        after = day + timedelta(days=1)
        for band in week[HOLIDAY if day in tariff.holidays else day.weekday()]:
            if end_us(band) <= gone:  # over by `at` on the wall clock, so over in time too
                continue
            start = _instant(day, band.start, zone)
            end = _instant(after, band.end, zone) if band.end == time(0) else _instant(day, band.end, zone)
            if end > at and end > start:
                yield _Piece(start, end, band)
        day, gone = after, 0


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall clock time: the first if it occurs twice, the jump if it is skipped."""
    local = datetime.combine(day, wall, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Skipped: `fold=1` reads the time with the offset after the jump, which puts it before the jump,
    # and `instant` (the offset before) after it; bisect on the offset in between.
    early, late = local.replace(fold=1).astimezone(UTC), instant
    offset = late.astimezone(zone).utcoffset()
    while late - early > _TICK:
        middle = early + (late - early) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            late = middle
        else:
            early = middle
    return late


def _energy_mwh(tariff: Tariff, readings: Sequence[Reading], zone: ZoneInfo) -> dict[str, int]:
    """Walk the readings and the band boundaries together, sharing each step's rise by time."""
    steps = sorted(readings, key=lambda reading: (reading.at, reading.wh))
    mwh: dict[str, int] = {}
    if len(steps) < 2:
        return mwh
    pieces = _pieces(tariff, steps[0].at, zone)
    piece = next(pieces)
    for before, after in pairwise(steps):
        while piece.end <= before.at:
            piece = next(pieces)
        rise = max(after.wh - before.wh, 0) * 1000  # a meter running backwards adds nothing
        shared = 0
        while piece.end < after.at:
            upto = _share(rise, piece.end - before.at, after.at - before.at)
            mwh[piece.band.name] = mwh.get(piece.band.name, 0) + upto - shared
            shared, piece = upto, next(pieces)
        mwh[piece.band.name] = mwh.get(piece.band.name, 0) + rise - shared
    return mwh


def _share(rise: int, elapsed: timedelta, span: timedelta) -> int:
    """The part of `rise` delivered after `elapsed` of `span`, linearly, rounded half-up."""
    numerator, denominator = rise * (elapsed // _TICK), span // _TICK
    return (2 * numerator + denominator) // (2 * denominator)


def _energy_items(tariff: Tariff, energy_mwh: dict[str, int]) -> Iterator[_Item]:
    bands = {band.name: band for band in tariff.bands}
    for name, mwh in energy_mwh.items():
        if not mwh:
            continue
        band, kwh = bands[name], Fraction(mwh, _KWH_MWH)
        yield _Item(LineKind.ENERGY, kwh, band.energy_fee, kwh * Fraction(band.energy_fee), name)
        if band.service_fee:
            yield _Item(LineKind.SERVICE, kwh, band.service_fee, kwh * Fraction(band.service_fee), name)


def _time_items(tariff: Tariff, usage: SessionUsage) -> Iterator[_Item]:
    """Minutes charging, then minutes idle after the last charging period (less the grace)."""
    charging = _charging(usage)
    fee = tariff.time_fee_per_minute
    minutes = Fraction(
        sum((period.end - period.start for period in charging), timedelta()) // _TICK, _MINUTE_US
    )
    if fee and minutes:
        yield _Item(LineKind.TIME, minutes, fee, minutes * Fraction(fee))
    idle_fee = tariff.idle_fee
    if idle_fee is None or not charging:
        return
    idle = (
        (usage.unplugged_at or usage.ended_at) - charging[-1].end - timedelta(minutes=idle_fee.grace_minutes)
    )
    minutes = Fraction(max(idle // _TICK, 0), _MINUTE_US)
    amount = minutes * Fraction(idle_fee.per_minute)
    if idle_fee.cap is not None:
        amount = min(amount, Fraction(idle_fee.cap))
    if amount:
        yield _Item(LineKind.IDLE, minutes, idle_fee.per_minute, amount)


def _charging(usage: SessionUsage) -> list[Interval]:
    """The charging periods within the session, sorted and merged where they overlap."""
    merged: list[Interval] = []
    for period in sorted(usage.charging, key=lambda period: period.start):
        start, end = max(period.start, usage.started_at), min(period.end, usage.ended_at)
        if start >= end:
            continue
        if merged and start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(end, merged[-1].end))
        else:
            merged.append(Interval(start, end))
    return merged


def _adjustment(tariff: Tariff, net: Fraction) -> _Item | None:
    """Lift the net to the minimum price or bring it down to the maximum."""
    if tariff.min_price is not None and net < Fraction(tariff.min_price):
        kind, amount = LineKind.MINIMUM, Fraction(tariff.min_price) - net
    elif tariff.max_price is not None and net > Fraction(tariff.max_price):
        kind, amount = LineKind.MAXIMUM, Fraction(tariff.max_price) - net
    else:
        return None
    return _Item(kind, Fraction(1), _decimal(amount), amount)


def _decimal(value: Fraction) -> Decimal:
    """Exact when the value terminates within 28 significant digits (all but per-minute thirds)."""
    return Decimal(value.numerator) / value.denominator
