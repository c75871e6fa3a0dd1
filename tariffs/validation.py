"""The rules a tariff must keep before anyone is priced under it.

Pricing relies on them: every day, and the holidays when there are any, is covered from 00:00 to
24:00 by exactly one band at a time, so the band in force is never in doubt.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import NamedTuple

from tariffs.errors import InvalidTariff
from tariffs.model import HOLIDAY, Band, Tariff

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "holidays")
_DAY_US = 24 * 3600 * 1_000_000
_CURRENCY = re.compile(r"[A-Z]{3}")


class _Span(NamedTuple):
    """Where a band starts and ends, in microseconds since midnight."""

    start: int
    end: int
    band: Band


def validate(tariff: Tariff) -> None:
    """Raise `InvalidTariff` for the first rule the tariff breaks; the message names the band."""
    _check_terms(tariff)
    names: set[str] = set()
    for band in tariff.bands:
        if band.name in names:
            raise InvalidTariff(f"two bands are named {band.name!r}", band=band.name)
        names.add(band.name)
        _check_band(band)
    days: dict[int, list[_Span]] = {day: [] for day in range(HOLIDAY + 1)}
    for band in tariff.bands:
        span = _Span(wall_us(band.start), end_us(band), band)
        for day in band.days:
            days[day].append(span)
    if tariff.holidays and not days[HOLIDAY]:
        raise InvalidTariff("holidays are listed but no band covers HOLIDAY")
    for day, spans in days.items():
        if day != HOLIDAY or spans:
            _check_day(day, spans)


def wall_us(moment: time) -> int:
    """Microseconds since midnight of a wall clock time."""
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond


def end_us(band: Band) -> int:
    """Where the band ends, `time(0)` being midnight at the end of the day."""
    return wall_us(band.end) or _DAY_US


def _check_terms(tariff: Tariff) -> None:
    if not _CURRENCY.fullmatch(tariff.currency):
        raise InvalidTariff(f"currency {tariff.currency!r} is not three upper-case letters")
    if not (tariff.tax_rate.is_finite() and 0 <= tariff.tax_rate < 1):
        raise InvalidTariff(f"tax rate {tariff.tax_rate} is outside [0, 1)")
    _check_fee("time fee per minute", tariff.time_fee_per_minute)
    _check_fee("session fee", tariff.session_fee)
    if tariff.idle_fee is not None:
        _check_fee("idle fee per minute", tariff.idle_fee.per_minute)
        if tariff.idle_fee.cap is not None:
            _check_fee("idle fee cap", tariff.idle_fee.cap)
        if tariff.idle_fee.grace_minutes < 0:
            raise InvalidTariff(f"idle grace of {tariff.idle_fee.grace_minutes} minutes is negative")
    if tariff.min_price is not None:
        _check_fee("minimum price", tariff.min_price)
    if tariff.max_price is not None:
        _check_fee("maximum price", tariff.max_price)
    if tariff.min_price is not None and tariff.max_price is not None and tariff.min_price > tariff.max_price:
        raise InvalidTariff(f"minimum price {tariff.min_price} is above maximum price {tariff.max_price}")


def _check_band(band: Band) -> None:
    unknown = sorted(band.days - set(range(HOLIDAY + 1)))
    if unknown:
        raise InvalidTariff(f"band {band.name!r} lists unknown days {unknown}", band=band.name)
    if not band.days:
        raise InvalidTariff(f"band {band.name!r} covers no day", band=band.name)
    if band.start.tzinfo is not None or band.end.tzinfo is not None:
        raise InvalidTariff(f"band {band.name!r} has a time zone; bands use the site's", band=band.name)
    if wall_us(band.start) >= end_us(band):
        raise InvalidTariff(
            f"band {band.name!r} starts at {_clock(wall_us(band.start))}, not before its end "
            f"{_clock(end_us(band))}",
            band=band.name,
        )
    _check_fee(f"energy fee of band {band.name!r}", band.energy_fee, band.name)
    _check_fee(f"service fee of band {band.name!r}", band.service_fee, band.name)


def _check_fee(what: str, amount: Decimal, band: str | None = None) -> None:
    if not amount.is_finite() or amount < 0:
        raise InvalidTariff(f"{what} is {amount}; it must be a finite amount, not negative", band=band)


def _check_day(day: int, spans: list[_Span]) -> None:
    """One band at a time from 00:00 to 24:00: the bands, sorted by start, must meet end to start."""
    label = _DAY_NAMES[day]
    covered, last = 0, None
    for start, end, band in sorted(spans, key=lambda span: span.start):
        if last is not None and start < covered:
            raise InvalidTariff(
                f"bands {last.name!r} and {band.name!r} overlap on {label} "
                f"from {_clock(start)} to {_clock(min(covered, end))}",
                band=band.name,
            )
        if start > covered:
            _gap(label, covered, start, last, band)
        covered, last = end, band
    if covered < _DAY_US:
        _gap(label, covered, _DAY_US, last, None)


def _gap(label: str, start: int, end: int, before: Band | None, after: Band | None) -> None:
    where = f" (after band {before.name!r})" if before else ""
    at_fault = before or after
    raise InvalidTariff(
        f"no band covers {label} from {_clock(start)} to {_clock(end)}{where}",
        band=at_fault.name if at_fault else None,
    )


def _clock(us: int) -> str:
    """24:00 for the end of the day, seconds and fractions only when there are some."""
    seconds, micro = divmod(us, 1_000_000)
    minutes, second = divmod(seconds, 60)
    text = f"{minutes // 60:02}:{minutes % 60:02}"
    if second or micro:
        text += f":{second:02}"
    return text + (f".{micro:06}" if micro else "")
