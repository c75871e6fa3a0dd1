"""Version-neutral model of an emulated charging station.

Statuses use the OCPP 2.0.1 words; the 1.6 client translates them at its edge.
Nothing here does I/O, so the protocol clients can share it.
"""

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple, get_args

from emulator.errors import EvseUnavailableError

OcppVersion = Literal["1.6", "2.0.1"]
EvseStatus = Literal["Available", "Occupied", "Reserved", "Unavailable", "Faulted"]
EVSE_STATUSES: frozenset[str] = frozenset(get_args(EvseStatus))

FIRMWARE_VERSION = "emu-1.0"
NOMINAL_VOLTAGE_V = 230.0
PHASES = ("L1", "L2", "L3")
BATTERY_CAPACITY_WH = 60_000.0
DEFAULT_HEARTBEAT_INTERVAL_S = 300


def now_iso() -> str:
    """UTC wall-clock time as the ISO 8601 'Z' form every OCPP peer accepts."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stable_int(text: str) -> int:
    """A number derived from text that is identical across runs (unlike hash())."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def initial_register_wh(station_id: str, evse_id: int) -> int:
    """Lifetime meter reading a station 'ships' with, so restarts never reset it."""
    return 1_000_000 + _stable_int(f"{station_id}/{evse_id}") % 50_000_000


@dataclass(frozen=True, slots=True)
class StationSpec:
    """What a station is; `max_power_w` is the power each EVSE delivers."""

    station_id: str
    version: OcppVersion
    evse_count: int = 2
    password: str | None = None
    vendor: str = "OpenCSMS"
    model: str = "Emu-22"
    serial: str | None = None
    max_power_w: int = 22000
    meter_interval_s: float = 10.0


class Reading(NamedTuple):
    """One sampled value, formatted per protocol version by the clients."""

    measurand: str
    value: float
    unit: str
    phase: str | None = None
    location: str | None = None


@dataclass(slots=True)
class Session:
    """A charging session; `seq_no` is only used by OCPP 2.0.1."""

    transaction_id: str
    id_token: str
    started_at: datetime
    meter_start_wh: int
    remote_start_id: int | None = None
    seq_no: int = 0

    def next_seq_no(self) -> int:
        """Return the sequence number for the next TransactionEvent."""
        self.seq_no += 1
        return self.seq_no

    @property
    def soc_start_percent(self) -> float:
        """Arrival state of charge, varied per session but reproducible."""
        return 10.0 + _stable_int(self.transaction_id) % 50


@dataclass(slots=True)
class Evse:
    """One EVSE with a single connector and an energy register that only rises."""

    id: int
    energy_wh: float
    status: EvseStatus = "Available"
    operative: bool = True
    power_w: float = 0.0
    session: Session | None = None
    sampled_at: float = field(default_factory=time.monotonic)

    @property
    def register_wh(self) -> int:
        """The register as meters report it: whole watt-hours."""
        return int(self.energy_wh)

    @property
    def can_start(self) -> bool:
        """Whether a session may start here now."""
        return self.session is None and self.operative and self.status == "Available"

    def plug_in(self) -> None:
        """Mark the EVSE occupied ahead of a session start, refusing a busy one."""
        if not self.can_start:
            raise EvseUnavailableError(f"EVSE {self.id} is {self.status}, not free to charge")
        self.status = "Occupied"

    def set_operative(self, operative: bool) -> bool:
        """Change availability; returns False when a running session defers the change."""
        self.operative = operative
        if self.session is not None:
            return False
        self.status = "Available" if operative else "Unavailable"
        return True

    def advance(self, seconds: float | None = None) -> None:
        """Accumulate energy at the current power for `seconds` or the real time elapsed."""
        now = time.monotonic()
        elapsed = now - self.sampled_at if seconds is None else seconds
        self.sampled_at = now
        self.energy_wh += self.power_w * max(elapsed, 0.0) / 3600.0

    def set_power(self, power_w: float) -> None:
        """Change power, first booking the energy delivered at the old power."""
        self.advance()
        self.power_w = power_w

    def begin(
        self, transaction_id: str, id_token: str, power_w: float, remote_start_id: int | None
    ) -> Session:
        """Start a session at the current register value."""
        self.advance()
        self.session = Session(
            transaction_id=transaction_id,
            id_token=id_token,
            started_at=datetime.now(UTC),
            meter_start_wh=self.register_wh,
            remote_start_id=remote_start_id,
        )
        self.status = "Occupied"
        self.set_power(power_w)
        return self.session

    def end(self) -> Session:
        """Close the session; the EV unplugs at once, freeing the EVSE."""
        session = self.session
        if session is None:
            raise LookupError(f"EVSE {self.id} has no session")
        self.set_power(0.0)
        self.session = None
        self.status = "Available" if self.operative else "Unavailable"
        return session

    def readings(self) -> list[Reading]:
        """Current meter values: register, power, per-phase current, voltage and SoC."""
        amps = self.power_w / (len(PHASES) * NOMINAL_VOLTAGE_V)
        values = [
            Reading("Energy.Active.Import.Register", self.register_wh, "Wh"),
            Reading("Power.Active.Import", round(self.power_w, 1), "W"),
            *(Reading("Current.Import", round(amps, 2), "A", phase) for phase in PHASES),
            Reading("Voltage", NOMINAL_VOLTAGE_V, "V", "L1-N"),
        ]
        if self.session is not None:
            delivered = self.register_wh - self.session.meter_start_wh
            soc = self.session.soc_start_percent + 100.0 * delivered / BATTERY_CAPACITY_WH
            values.append(Reading("SoC", round(min(soc, 100.0), 1), "Percent", location="EV"))
        return values


@dataclass(slots=True)
class StationState:
    """Everything a station remembers across reconnects."""

    spec: StationSpec
    evses: dict[int, Evse]
    meter_interval_s: float
    heartbeat_interval_s: int = DEFAULT_HEARTBEAT_INTERVAL_S
    boot_status: str | None = None

    @classmethod
    def from_spec(cls, spec: StationSpec) -> "StationState":
        """Build a fresh station whose registers continue from their lifetime values."""
        evses = {
            i: Evse(id=i, energy_wh=float(initial_register_wh(spec.station_id, i)))
            for i in range(1, spec.evse_count + 1)
        }
        return cls(spec=spec, evses=evses, meter_interval_s=spec.meter_interval_s)

    def evse(self, evse_id: int) -> Evse:
        """Look up an EVSE, naming the station when it does not exist."""
        try:
            return self.evses[evse_id]
        except KeyError:
            raise LookupError(f"{self.spec.station_id} has no EVSE {evse_id}") from None

    def record_boot(self, status: str, interval: int) -> None:
        """Keep the boot outcome; `interval` paces heartbeats or boot retries."""
        self.boot_status = status
        if interval > 0:
            self.heartbeat_interval_s = interval

    def find_transaction(self, transaction_id: str) -> Evse | None:
        """The EVSE running the given transaction, if any."""
        for evse in self.evses.values():
            if evse.session is not None and evse.session.transaction_id == transaction_id:
                return evse
        return None

    def startable_evse(self, evse_id: int | None = None) -> Evse | None:
        """The given EVSE, or else the first one, if it is free to start a session."""
        candidates = self.evses.values() if evse_id is None else [self.evses.get(evse_id)]
        for evse in candidates:
            if evse is not None and evse.can_start:
                return evse
        return None

    @property
    def transactions(self) -> dict[int, str]:
        """Active transaction ids keyed by EVSE id."""
        return {
            evse.id: evse.session.transaction_id for evse in self.evses.values() if evse.session is not None
        }
