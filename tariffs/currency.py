"""Currencies' minor units, the one rounding a price goes through, and how decimals read."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import floor

# ISO 4217 currencies whose minor unit is not the hundredth.
_WHOLE = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF"}
    | {"XOF", "XPF"}
)
_THOUSANDTH = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def minor_unit(currency: str) -> Decimal:
    """The smallest amount the currency can be paid in: 0.01 unless ISO 4217 says otherwise."""
    if currency in _WHOLE:
        return Decimal(1)
    if currency in _THOUSANDTH:
        return Decimal("0.001")
    return Decimal("0.01")


def billed(amount: Decimal, currency: str | None) -> Decimal:
    """A stored amount in the currency's minor unit, as it was billed.

    PostgreSQL hands money columns back with six decimals; prices were rounded once when they were
    made, so this changes no value, only how it reads (8.640000 -> 8.64).
    """
    return amount.quantize(minor_unit(currency or ""), ROUND_HALF_UP)


def round_half_up(amount: Fraction, unit: Decimal) -> Decimal:
    """`amount` to a whole number of `unit`, halves away from zero (0.125 -> 0.13).

    The amount is an exact rational so that this is the only rounding a price sees.
    """
    steps = abs(amount) / Fraction(unit)
    whole = floor(steps + Fraction(1, 2))
    return Decimal(whole if amount >= 0 else -whole) * unit


def plain(number: Decimal) -> str:
    """A decimal as its shortest text, without exponent or trailing zeros: 13, 0.13 (the
    same from either database: PostgreSQL's 12.000000 reads 12)."""
    return format(number.normalize(), "f")
