"""What the station's meter reports: the measurands it supports and when it samples them.

Which measurands go into which message is configuration (MeterValuesSampledData,
StopTxnSampledData, MeterValuesAlignedData in 1.6; the SampledDataCtrlr and
AlignedDataCtrlr variables in 2.0.1); this module turns a list of names into readings.
"""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from emulator.evse import Evse

NOMINAL_VOLTAGE_V = 230.0
DC_VOLTAGE_V = 400.0
PHASE_NAMES = ("L1", "L2", "L3")
AMBIENT_C = 20.0
# How much warmer the EVSE body runs at full power than the air around it.
HEATING_C = 25.0
ENERGY = "Energy.Active.Import.Register"


class Reading(NamedTuple):
    """One sampled value, formatted per protocol version by the clients."""

    measurand: str
    value: float
    unit: str
    phase: str | None = None
    location: str | None = None


def _phases(evse: Evse) -> tuple[str, ...]:
    return PHASE_NAMES[: evse.phases] if evse.current_type == "AC" else ()


def volts(evse: Evse) -> float:
    """The voltage amps are converted at: per phase for AC, at the battery for DC."""
    return NOMINAL_VOLTAGE_V if evse.current_type == "AC" else DC_VOLTAGE_V


def _amps(evse: Evse, watts: float) -> float:
    return round(watts / (volts(evse) * (evse.phases if evse.current_type == "AC" else 1)), 2)


def _per_phase(evse: Evse, measurand: str, value: float, unit: str) -> list[Reading]:
    phases = _phases(evse)
    if not phases:
        return [Reading(measurand, value, unit)]
    suffix = "-N" if measurand == "Voltage" else ""
    return [Reading(measurand, value, unit, phase + suffix) for phase in phases]


def _soc(evse: Evse) -> list[Reading]:
    if evse.ev is None or evse.session is None:
        return []
    return [Reading("SoC", round(evse.ev.soc, 1), "Percent", location="EV")]


def _temperature(evse: Evse) -> list[Reading]:
    load = evse.power_w / evse.max_power_w if evse.max_power_w else 0.0
    return [Reading("Temperature", round(AMBIENT_C + HEATING_C * load, 1), "Celsius", location="Body")]


SAMPLERS: dict[str, Callable[[Evse], list[Reading]]] = {
    ENERGY: lambda evse: [Reading(ENERGY, evse.register_wh, "Wh")],
    "Power.Active.Import": lambda evse: [Reading("Power.Active.Import", round(evse.power_w, 1), "W")],
    "Power.Offered": lambda evse: [Reading("Power.Offered", round(evse.offered_w, 1), "W")],
    "Current.Import": lambda evse: _per_phase(evse, "Current.Import", _amps(evse, evse.power_w), "A"),
    "Current.Offered": lambda evse: [Reading("Current.Offered", _amps(evse, evse.offered_w), "A")],
    "Voltage": lambda evse: _per_phase(evse, "Voltage", volts(evse), "V"),
    "SoC": _soc,
    "Temperature": _temperature,
}
# 2.0.1 dropped Temperature from the measurands (it belongs to the device model there).
MEASURANDS = {"1.6": frozenset(SAMPLERS), "2.0.1": frozenset(SAMPLERS) - {"Temperature"}}


def readings(evse: Evse, measurands: Iterable[str]) -> list[Reading]:
    """Sample the configured measurands, in the configured order; unknown names are skipped."""
    return [reading for name in measurands if name in SAMPLERS for reading in SAMPLERS[name](evse)]


def next_aligned(now: datetime, interval_s: float) -> datetime:
    """The next clock-aligned sampling moment: multiples of the interval after midnight UTC."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds()
    slots = int(elapsed // interval_s) + 1
    return midnight + timedelta(seconds=slots * interval_s)
