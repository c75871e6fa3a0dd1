"""One EVSE: its connector's state, the EV plugged into it, and its energy meter.

Statuses use the OCPP 2.0.1 words (`status`, `charging_state`); the 1.6 client derives
its richer connector status from the same facts. Nothing here does I/O.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from emulator.errors import EvseUnavailableError
from emulator.ev import CurrentType, Ev
from emulator.reservations import Reservation

EvseStatus = Literal["Available", "Occupied", "Reserved", "Unavailable", "Faulted"]
EVSE_STATUSES: frozenset[str] = frozenset(get_args(EvseStatus))
ChargingState = Literal["EVConnected", "Charging", "SuspendedEV", "SuspendedEVSE", "Idle"]
# Energy is integrated in steps this long, so the EV's taper shows within one long sample.
STEP_S = 10.0


@dataclass(slots=True)
class Session:
    """A charging session; `confirmed` is False while a 1.6 start awaits its transaction id.

    `charging_state` is the one last sent to the CSMS; `opening` the meter value taken at
    the start (1.6 repeats it in StopTransaction's transactionData).
    """

    transaction_id: str
    id_token: str
    started_at: datetime
    meter_start_wh: int
    remote_start_id: int | None = None
    reservation_id: int | None = None
    confirmed: bool = True
    seq_no: int = 0
    last_sample_at: float = field(default_factory=time.monotonic)
    charging_state: ChargingState = "Charging"
    total_cost: float | None = None
    opening: dict[str, Any] | None = None

    def next_seq_no(self) -> int:
        """Return the sequence number for the next 2.0.1 TransactionEvent."""
        self.seq_no += 1
        return self.seq_no

    def confirm(self, transaction_id: str) -> None:
        """Take the id the CSMS issued for this session."""
        self.transaction_id, self.confirmed = transaction_id, True


@dataclass(frozen=True, slots=True)
class PendingStart:
    """A driver authorised at an EVSE whose cable is not in yet (`since` is monotonic time)."""

    id_token: str
    group: str | None
    since: float


@dataclass(slots=True)
class Evse:
    """One EVSE with a single connector and an energy register that only rises.

    `limit_w` is what the EVSE may deliver (hardware and charging profiles); the power
    actually delivered is also capped by the EV's charge curve.
    """

    id: int
    energy_wh: float
    max_power_w: float
    phases: int = 3
    current_type: CurrentType = "AC"
    operative: bool = True
    scheduled_operative: bool | None = None
    fault: str | None = None
    plugged: bool = False
    finishing: bool = False
    pending: PendingStart | None = None
    ev: Ev | None = None
    reservation: Reservation | None = None
    session: Session | None = None
    limit_w: float = 0.0
    power_w: float = 0.0
    sampled_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.limit_w = self.max_power_w

    @property
    def register_wh(self) -> int:
        """The register as meters report it: whole watt-hours."""
        return int(self.energy_wh)

    @property
    def status(self) -> EvseStatus:
        """The connector status; a running session keeps an EVSE Occupied until it ends."""
        if self.fault is not None:
            return "Faulted"
        if self.session is not None:
            return "Occupied"
        if not self.operative:
            return "Unavailable"
        if self.plugged:
            return "Occupied"
        return "Reserved" if self.reservation is not None else "Available"

    @property
    def charging_state(self) -> ChargingState:
        """The 2.0.1 charging state: why power flows or not."""
        if self.session is not None:
            if self.power_w > 0:
                return "Charging"
            return "SuspendedEV" if self._ev_limit_w() == 0 else "SuspendedEVSE"
        return "EVConnected" if self.plugged else "Idle"

    @property
    def can_start(self) -> bool:
        """Whether a session may start here for any token now."""
        return self.session is None and self.operative and self.fault is None and self.reservation is None

    @property
    def offered_w(self) -> float:
        """The power the EVSE offers the EV now."""
        return 0.0 if self.fault is not None else self.limit_w

    def check_free(self, id_token: str, group: str | None) -> None:
        """Refuse a session this EVSE cannot take for this token."""
        if self.session is not None or not self.operative or self.fault is not None:
            raise EvseUnavailableError(f"EVSE {self.id} is {self.status}, not free to charge")
        if self.reservation is not None and not self.reservation.admits(id_token, group):
            raise EvseUnavailableError(f"EVSE {self.id} is reserved for another id token")

    def plug_in(self, ev: Ev) -> None:
        """Connect an EV (replacing one still plugged in, as after a missed unplug)."""
        self.advance()
        self.plugged, self.finishing, self.ev = True, False, ev

    def unplug(self) -> None:
        """Disconnect the EV; a session should have been ended first."""
        self.advance()
        self.plugged, self.finishing, self.ev = False, False, None
        self._repower()

    def set_operative(self, operative: bool) -> bool:
        """Change availability; False when a running session defers it to the session's end."""
        if self.session is not None:
            self.scheduled_operative = operative
            return False
        self.operative, self.scheduled_operative = operative, None
        return True

    def set_fault(self, error_code: str | None) -> None:
        """Report a fault (the power stops at once) or clear it (None)."""
        self.advance()
        self.fault = error_code
        self._repower()

    def reset_meter(self) -> None:
        """Put the register back to zero, as a replaced or faulty meter does."""
        self.advance()
        self.energy_wh = 0.0

    def _ev_limit_w(self) -> float:
        return 0.0 if self.ev is None else self.ev.max_power_w(self.current_type)

    def _deliverable_w(self) -> float:
        if self.session is None or not self.plugged or self.fault is not None:
            return 0.0
        return max(0.0, min(self._ev_limit_w(), self.limit_w))

    def _repower(self) -> None:
        self.power_w = self._deliverable_w()

    def set_limit(self, limit_w: float) -> None:
        """Change the allowed power, first booking the energy delivered under the old one."""
        self.advance()
        self.limit_w = limit_w
        self._repower()

    def advance(self, seconds: float | None = None) -> None:
        """Deliver energy for `seconds` (default: the real time since the last call)."""
        now = time.monotonic()
        remaining = max(now - self.sampled_at if seconds is None else seconds, 0.0)
        self.sampled_at = now
        while remaining > 0:
            step = min(remaining, STEP_S)
            self._repower()
            energy = self.power_w * step / 3600.0
            self.energy_wh += energy if self.ev is None else self.ev.take(energy)
            remaining -= step
        self._repower()

    def begin(self, session: Session) -> Session:
        """Start a session on the plugged-in EV at the current register value."""
        self.advance()
        session.meter_start_wh = self.register_wh
        self.session, self.finishing, self.reservation, self.pending = session, False, None, None
        self._repower()
        session.charging_state = self.charging_state
        return session

    def end(self) -> Session:
        """Close the session; the EV stays plugged in until `unplug()` (1.6 Finishing)."""
        session = self.session
        if session is None:
            raise LookupError(f"EVSE {self.id} has no session")
        self.advance()
        self.session, self.finishing = None, self.plugged
        self._repower()
        if self.scheduled_operative is not None:
            self.set_operative(self.scheduled_operative)
        return session
