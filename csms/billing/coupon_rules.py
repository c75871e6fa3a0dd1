"""What a coupon takes off a session, and which of a driver's coupons takes off the most.

Pure: the terms come in as anything with a template's attributes (a ``CouponTemplateRow`` or a
test's dataclass), so the rules are table-tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Protocol, TypeVar

from tariffs.currency import minor_unit, round_half_up

AVAILABLE = "Available"


class CouponKind(StrEnum):
    AMOUNT_OFF = "amount_off"  # ``value`` off the cost
    PERCENT_OFF = "percent_off"  # ``value`` % off the cost, at most ``cap``
    FREE_SERVICE_FEE = "free_service_fee"  # the session's service fee off


class Terms(Protocol):
    """A coupon template's terms, read-only."""

    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> Decimal: ...
    @property
    def cap(self) -> Decimal | None: ...
    @property
    def min_spend(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def station_ids(self) -> Sequence[str]: ...
    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_to(self) -> datetime | None: ...


class Held(Protocol):
    """A coupon in a driver's hands, read-only."""

    @property
    def id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def expires_at(self) -> datetime | None: ...


C = TypeVar("C", bound=Held)


def applies(terms: Terms, cost: Decimal, station_id: str, now: datetime) -> bool:
    """Whether the terms allow this session at all: spend, window [from, to) and station."""
    if cost <= 0 or cost < terms.min_spend:
        return False
    if terms.valid_from is not None and now < terms.valid_from:
        return False
    if terms.valid_to is not None and now >= terms.valid_to:
        return False
    return not terms.station_ids or station_id in terms.station_ids


def discount(terms: Terms, cost: Decimal, service_fee: Decimal, station_id: str, now: datetime) -> Decimal:
    """The amount the coupon takes off a session costing ``cost`` (a billed amount), rounded
    half-up to the currency's minor unit and never more than the cost."""
    if not applies(terms, cost, station_id, now):
        return Decimal(0)
    kind = CouponKind(terms.kind)
    if kind is CouponKind.AMOUNT_OFF:
        raw = Fraction(terms.value)
    elif kind is CouponKind.PERCENT_OFF:
        raw = Fraction(cost) * Fraction(terms.value) / 100
        if terms.cap is not None:
            raw = min(raw, Fraction(terms.cap))
    else:
        raw = Fraction(service_fee)
    off = round_half_up(max(raw, Fraction(0)), minor_unit(terms.currency))
    return min(off, cost)


def usable(coupon: Held, now: datetime) -> bool:
    """Available and not past its own expiry (the expiry job may not have run yet)."""
    return coupon.status == AVAILABLE and (coupon.expires_at is None or now < coupon.expires_at)


def best(
    coupons: Iterable[tuple[C, Terms]], cost: Decimal, service_fee: Decimal, station_id: str, now: datetime
) -> C | None:
    """The usable coupon taking the most off; ties go to the one expiring first (never-expiring
    last), then the lowest id. None when no coupon takes anything off."""
    ranked: list[tuple[tuple[Decimal, bool, datetime, int], C]] = []
    for coupon, terms in coupons:
        off = discount(terms, cost, service_fee, station_id, now) if usable(coupon, now) else Decimal(0)
        if off > 0:
            ranked.append(
                ((-off, coupon.expires_at is None, coupon.expires_at or now, coupon.id or 0), coupon)
            )
    return min(ranked, key=lambda item: item[0])[1] if ranked else None
