"""Tariff and session values the pricing engine works on; standard library only.

Money is `Decimal` in the tariff's currency, fees are net of tax, and a band's times are wall
clock times in the site's time zone. Energy is integer Wh as the meter reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

HOLIDAY = 7
"""Day number a band lists to apply on the tariff's holidays (Monday is 0, Sunday 6)."""
WEEK = frozenset(range(7))


@dataclass(frozen=True)
class Band:
    """Prices for one time band, e.g. "peak" on weekdays 08:00-12:00.

    `end` of `time(0)` means midnight at the end of the day; a band never crosses midnight
    (split it in two). `days` holds weekday numbers, plus `HOLIDAY` for the holidays.
    """

    name: str
    days: frozenset[int]
    start: time
    end: time
    energy_fee: Decimal  # per kWh
    service_fee: Decimal  # per kWh


@dataclass(frozen=True)
class IdleFee:
    """Per minute while plugged in after charging ended, after a grace period, up to a cap."""

    per_minute: Decimal
    grace_minutes: int = 0
    cap: Decimal | None = None


@dataclass(frozen=True)
class Tariff:
    """One immutable version of a tariff: what a session started under it pays."""

    currency: str
    bands: tuple[Band, ...]
    holidays: frozenset[date] = frozenset()
    time_fee_per_minute: Decimal = Decimal(0)  # while charging
    idle_fee: IdleFee | None = None
    session_fee: Decimal = Decimal(0)
    min_price: Decimal | None = None  # net, before tax
    max_price: Decimal | None = None  # net, before tax
    tax_rate: Decimal = Decimal(0)  # 0.13 for 13 %


@dataclass(frozen=True)
class Reading:
    """The energy register (Energy.Active.Import.Register) at one instant."""

    at: datetime
    wh: int


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SessionUsage:
    """What a session used: register readings (start and stop included, in any order),
    the periods it was charging, and how long the EV stayed plugged in.

    Idle time runs from the end of the last charging period to `unplugged_at` (or `ended_at`
    when the cable is still in at pricing time).
    """

    started_at: datetime
    ended_at: datetime
    readings: tuple[Reading, ...]
    charging: tuple[Interval, ...] = ()
    unplugged_at: datetime | None = None


class LineKind(StrEnum):
    ENERGY = "energy"
    SERVICE = "service"
    TIME = "time"
    IDLE = "idle"
    SESSION = "session"
    MINIMUM = "minimum"  # raises the subtotal to the minimum price
    MAXIMUM = "maximum"  # lowers the subtotal to the maximum price (negative amount)


@dataclass(frozen=True)
class Line:
    """One item of a price; `amount` is exact (unrounded), `band` names the time band."""

    kind: LineKind
    quantity: Decimal  # kWh, minutes or sessions
    unit_price: Decimal
    amount: Decimal
    band: str | None = None


@dataclass(frozen=True)
class Price:
    """An itemised price. Lines are exact; `subtotal`, `tax` and `total` are rounded once,
    half-up to the currency's minor unit, and `total == subtotal + tax`."""

    currency: str
    lines: tuple[Line, ...] = field(default_factory=tuple)
    subtotal: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
