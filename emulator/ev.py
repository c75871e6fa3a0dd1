"""The electric vehicle on the other end of the cable.

A battery fills at the EV's peak power until `taper_from_soc`, then the power falls
linearly towards a floor, as lithium-ion charge curves do; a full battery draws nothing,
which is what turns a charging session into SuspendedEV.
"""

from dataclasses import dataclass
from typing import Literal

CurrentType = Literal["AC", "DC"]
# Below this share of peak power the taper stops falling, so a battery really reaches 100 %.
TAPER_FLOOR = 0.05


@dataclass(frozen=True, slots=True)
class EvSpec:
    """An EV model; `initial_soc` None gives each plug-in its own reproducible arrival SoC."""

    battery_wh: float = 60_000.0
    initial_soc: float | None = None
    max_ac_w: float = 22_000.0
    max_dc_w: float = 150_000.0
    taper_from_soc: float = 80.0


@dataclass(slots=True)
class Ev:
    """One plugged-in vehicle and the charge in its battery."""

    spec: EvSpec
    soc: float

    @property
    def full(self) -> bool:
        """Whether the battery takes no more energy."""
        return self.soc >= 100.0

    def max_power_w(self, current_type: CurrentType) -> float:
        """What the EV draws at its present state of charge."""
        peak = self.spec.max_ac_w if current_type == "AC" else self.spec.max_dc_w
        if self.full:
            return 0.0
        taper_from = self.spec.taper_from_soc
        if self.soc <= taper_from or taper_from >= 100.0:
            return peak
        share = (100.0 - self.soc) / (100.0 - taper_from)
        return peak * max(share, TAPER_FLOOR)

    def take(self, energy_wh: float) -> float:
        """Store up to `energy_wh` and return how much the battery actually took."""
        room_wh = (100.0 - self.soc) * self.spec.battery_wh / 100.0
        taken = min(max(energy_wh, 0.0), max(room_wh, 0.0))
        self.soc = min(100.0, self.soc + 100.0 * taken / self.spec.battery_wh)
        return taken
