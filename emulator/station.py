"""Version-neutral model of an emulated charging station: what it is and what it remembers.

Statuses use the OCPP 2.0.1 words; the 1.6 client translates them at its edge.
Nothing here does I/O, so the protocol clients can share it.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from emulator.ev import CurrentType, Ev, EvSpec
from emulator.evse import Evse, Session
from emulator.local_auth import Authorizer
from emulator.outbox import Outbox
from emulator.profiles import ProfileStore
from emulator.reservations import Reservation
from emulator.settings import Config, default_config
from emulator.transfers import FirmwareJob, LogJob

OcppVersion = Literal["1.6", "2.0.1"]
FIRMWARE_VERSION = "emu-1.0"


def _stable_int(text: str) -> int:
    """A number derived from text that is identical across runs (unlike hash())."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def initial_register_wh(station_id: str, evse_id: int) -> int:
    """Lifetime meter reading a station 'ships' with, so restarts never reset it."""
    return 1_000_000 + _stable_int(f"{station_id}/{evse_id}") % 50_000_000


def iso(moment: datetime) -> str:
    """The ISO 8601 'Z' form every OCPP peer accepts."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class StationSpec:
    """What a station is.

    `max_power_w` is what each EVSE can deliver; the EV plugged in (`ev`) may take less.
    `ca_file` turns on TLS checks against that CA (security profile 2); `client_cert` and
    `client_key` add a client certificate (profile 3). The `*_s` delays pace firmware
    updates and reboots; tests shorten them.
    """

    station_id: str
    version: OcppVersion
    evse_count: int = 2
    password: str | None = None
    vendor: str = "OpenCSMS"
    model: str = "Emu-22"
    serial: str | None = None
    max_power_w: int = 22000
    meter_interval_s: float = 10.0
    current_type: CurrentType = "AC"
    phases: int = 3
    ev: EvSpec = field(default_factory=EvSpec)
    firmware_version: str = FIRMWARE_VERSION
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    firmware_step_s: float = 1.0
    boot_delay_s: float = 1.0
    response_timeout_s: float = 30.0

    @property
    def security_profile(self) -> int:
        """The OCPP security profile the spec amounts to (0: no authentication)."""
        if self.client_cert is not None:
            return 3
        if self.password is None:
            return 0
        return 2 if self.ca_file is not None else 1


@dataclass(slots=True)
class StationState:
    """Everything a station remembers across reconnects and reboots.

    `clock_offset_s` skews the station's clock: every timestamp it sends uses `now()`.
    """

    spec: StationSpec
    evses: dict[int, Evse]
    config: Config
    clock_offset_s: float = 0.0
    boot_status: str | None = None
    firmware_version: str = FIRMWARE_VERSION
    outbox: Outbox = field(default_factory=Outbox)
    auth: Authorizer = field(default_factory=Authorizer)
    profiles: ProfileStore = field(default_factory=ProfileStore)
    display_messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    plug_ins: int = 0
    firmware_activity: tuple[FirmwareJob | None, str] = (None, "Idle")
    installed_firmware: FirmwareJob | None = None
    log_activity: tuple[LogJob | None, str] = (None, "Idle")

    @classmethod
    def from_spec(cls, spec: StationSpec) -> "StationState":
        """Build a fresh station whose registers continue from their lifetime values."""
        evses = {
            i: Evse(
                id=i,
                energy_wh=float(initial_register_wh(spec.station_id, i)),
                max_power_w=spec.max_power_w,
                phases=spec.phases,
                current_type=spec.current_type,
            )
            for i in range(1, spec.evse_count + 1)
        }
        config = default_config(
            version=spec.version,
            evse_count=spec.evse_count,
            meter_interval_s=spec.meter_interval_s,
            security_profile=spec.security_profile,
        )
        return cls(spec=spec, evses=evses, config=config, firmware_version=spec.firmware_version)

    def now(self) -> datetime:
        """The station's clock, skewed by `clock_offset_s`."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)

    def now_iso(self) -> str:
        """The station's clock as an OCPP timestamp."""
        return iso(self.now())

    @property
    def heartbeat_interval_s(self) -> int:
        """Seconds between heartbeats (or boot retries while not accepted)."""
        return int(self.config.number("HeartbeatInterval"))

    @heartbeat_interval_s.setter
    def heartbeat_interval_s(self, seconds: int) -> None:
        self.config.store("HeartbeatInterval", str(seconds))

    @property
    def meter_interval_s(self) -> float:
        """Seconds between meter samples during a session."""
        return self.config.number("MeterValueSampleInterval")

    @meter_interval_s.setter
    def meter_interval_s(self, seconds: float) -> None:
        self.config.store("MeterValueSampleInterval", f"{seconds:g}")

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

    def new_ev(self, evse_id: int) -> Ev:
        """The EV of the next plug-in; without a configured SoC each arrives differently."""
        self.plug_ins += 1
        soc = self.spec.ev.initial_soc
        if soc is None:
            soc = 10.0 + _stable_int(f"{self.spec.station_id}/{evse_id}/{self.plug_ins}") % 50
        return Ev(self.spec.ev, soc)

    def new_session(self, transaction_id: str, id_token: str, **details: Any) -> Session:
        """A session starting now on the station clock (the meter start is set by the EVSE)."""
        return Session(transaction_id, id_token, self.now(), 0, **details)

    def find_transaction(self, transaction_id: str) -> Evse | None:
        """The EVSE running the given transaction, if any."""
        for evse in self.evses.values():
            if evse.session is not None and evse.session.transaction_id == transaction_id:
                return evse
        return None

    def find_reservation(self, reservation_id: int) -> Evse | None:
        """The EVSE holding the given reservation, if any."""
        for evse in self.evses.values():
            if evse.reservation is not None and evse.reservation.id == reservation_id:
                return evse
        return None

    def reserve(self, evse: Evse, reservation: Reservation) -> None:
        """Hold an EVSE; a reservation id already in use elsewhere moves here (1.6 5.13)."""
        previous = self.find_reservation(reservation.id)
        if previous is not None:
            previous.reservation = None
        evse.reservation = reservation

    @property
    def transactions(self) -> dict[int, str]:
        """Active transaction ids keyed by EVSE id."""
        return {
            evse.id: evse.session.transaction_id for evse in self.evses.values() if evse.session is not None
        }
