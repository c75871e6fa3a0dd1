"""Reservations: an EVSE held for one id token (or its group) until an expiry time."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ReserveOutcome = Literal["Accepted", "Faulted", "Occupied", "Rejected", "Unavailable"]


@dataclass(frozen=True, slots=True)
class Reservation:
    """The CSMS's reservation `id` of one EVSE."""

    id: int
    evse_id: int
    id_token: str
    expires_at: datetime
    group: str | None = None

    def admits(self, id_token: str, group: str | None) -> bool:
        """Whether a driver may use the reserved EVSE: the same token or the same group."""
        return id_token == self.id_token or (self.group is not None and group == self.group)
