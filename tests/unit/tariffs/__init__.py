"""Builders shared by the pricing tests: wall clock strings in, model values out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tariffs.model import WEEK, Band, Reading, Tariff


def band(
    name: str, start: str, end: str, energy: str = "0", service: str = "0", days: Iterable[int] = WEEK
) -> Band:
    """`band("peak", "08:00", "11:00", "1.00")`; "24:00" is accepted for the end of the day."""
    return Band(name, frozenset(days), _wall(start), _wall(end), Decimal(energy), Decimal(service))


def a_tariff(*bands: Band, **overrides: Any) -> Tariff:
    """A CNY tariff with the given bands (one free all-week band when none are given)."""
    return Tariff(**{"currency": "CNY", "bands": bands or (band("all", "00:00", "24:00"),), **overrides})


def half_hours() -> tuple[Band, ...]:
    """48 half-hour bands, each dearer than the one before, a service fee every other slot."""
    return tuple(
        Band(
            f"slot{i:02}",
            WEEK,
            time(i // 2, i % 2 * 30),
            time((i + 1) // 2 % 24, (i + 1) % 2 * 30),
            Decimal(i + 1) / 100,
            Decimal("0.05") if i % 2 else Decimal(0),
        )
        for i in range(48)
    )


def at(zone: ZoneInfo, text: str) -> datetime:
    """The UTC instant of a local "2026-11-24 10:30" at the site (first occurrence if ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def readings(zone: ZoneInfo, *points: tuple[str, int]) -> tuple[Reading, ...]:
    return tuple(Reading(at(zone, when), wh) for when, wh in points)


def _wall(text: str) -> time:
    return time(0) if text == "24:00" else time.fromisoformat(text)
