"""Normalising what meters report, and reading energy out of it."""

from __future__ import annotations

from collections.abc import Iterable

from chargepoints.model import ENERGY_REGISTER, Sample

_SCALE = {"kWh": ("Wh", 1000.0), "kvarh": ("varh", 1000.0), "kW": ("W", 1000.0), "kvar": ("var", 1000.0)}
_DEFAULT_UNIT = {"Energy": "Wh", "Power": "W", "Current": "A", "Voltage": "V", "SoC": "Percent"}


def normalise(value: float, unit: str | None, measurand: str) -> tuple[float, str | None]:
    """Energy and power in Wh/W whatever prefix the station chose; other units untouched."""
    if unit in _SCALE:
        base, factor = _SCALE[unit]
        return value * factor, base
    if unit is None:
        return value, _DEFAULT_UNIT.get(measurand.split(".", 1)[0])
    return value, unit


def register_readings(samples: Iterable[Sample]) -> list[float]:
    """Whole-meter energy register readings (no per-phase values), in Wh."""
    return [
        s.value
        for s in samples
        if s.measurand == ENERGY_REGISTER and s.phase is None and s.unit in (None, "Wh")
    ]


def widen(start: int | None, last: int | None, reading: float) -> tuple[int, int]:
    """Registers only rise, so the smallest reading is the start and the largest the latest,
    whatever order the messages arrived in."""
    wh = round(reading)
    return (wh if start is None else min(start, wh), wh if last is None else max(last, wh))
