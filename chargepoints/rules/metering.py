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


DRAWING_A = 1.0
"""A phase carrying less than this is taken as idle when counting the phases a vehicle uses."""


def phase_draw(readings: Iterable[tuple[str | None, float]]) -> tuple[float | None, int | None]:
    """From one moment's Current.Import readings as (phase, amps): the highest phase current
    (the unphased value where the station reports no L1..L3), and how many phases draw (None
    when it reports none per phase, or none draws)."""
    readings = list(readings)
    per_phase = [value for phase, value in readings if phase is not None and phase.startswith("L")]
    if not per_phase:
        return max((value for _, value in readings), default=None), None
    drawing = sum(1 for value in per_phase if value >= DRAWING_A)
    return max(per_phase), drawing or None
