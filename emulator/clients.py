"""What the version-neutral core needs from each OCPP version, so it never branches on one.

A `Dialect` builds a version's messages from the model and exists whether or not the
station is connected (offline transaction messages are built when they happen). A
`ProtocolClient` lives as long as one websocket: it sends, and answers the CSMS's calls.
"""

import asyncio
from dataclasses import dataclass
from typing import Protocol

from emulator.evse import Evse, Session
from emulator.local_auth import TokenInfo
from emulator.outbox import QueuedMessage
from emulator.reservations import Reservation
from emulator.transfers import FirmwareJob, LogJob

SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the CSMS's answer to a transaction message tells the station."""

    transaction_id: str | None = None
    token: TokenInfo | None = None


class Dialect(Protocol):
    """One version's transaction messages and status words."""

    reports_charging_state: bool
    installed_after_reboot: bool

    def status_of(self, evse: Evse) -> str:
        """The connector status this version reports for the EVSE."""

    def new_transaction_id(self) -> tuple[str, bool]:
        """An id for a new session, and whether it is final (1.6 waits for the CSMS's)."""

    def tx_started(self, evse: Evse, session: Session, trigger: str, offline: bool) -> QueuedMessage:
        """The message opening a session."""

    def tx_updated(
        self, evse: Evse, session: Session, trigger: str, context: str | None, offline: bool
    ) -> QueuedMessage:
        """A message during a session: meter values (`context`) or a charging state change."""

    def tx_ended(self, evse: Evse, session: Session, reason: str, offline: bool) -> QueuedMessage:
        """The message closing a session."""


class ProtocolClient(Protocol):
    """Station-initiated messages of one OCPP version; CSMS calls are handled inside."""

    accepted: asyncio.Event

    async def start(self) -> None:
        """Receive and dispatch frames until the connection closes."""

    async def boot(self, reason: str = "PowerUp") -> str:
        """Send BootNotification and return the registration status."""

    async def heartbeat(self) -> None:
        """Send Heartbeat."""

    async def send_statuses(self) -> None:
        """Send StatusNotification for every connector."""

    async def send_status(self, evse_id: int) -> None:
        """Send StatusNotification for one EVSE."""

    async def authorize(self, id_token: str) -> TokenInfo:
        """Send Authorize and return what the CSMS says about the token."""

    async def deliver(self, item: QueuedMessage) -> Delivery:
        """Send a queued transaction message and read the answer."""

    async def send_meter_values(self, evse_id: int, context: str) -> None:
        """Report the EVSE's meter outside a transaction."""

    async def firmware_status(self, job: FirmwareJob | None, status: str) -> None:
        """Report the progress of a firmware update (2.0.1 status words)."""

    async def log_status(self, job: LogJob | None, status: str) -> None:
        """Report the progress of a log upload (2.0.1 status words)."""

    async def report_fault(self, evse_id: int) -> None:
        """Report that an EVSE's fault appeared or cleared, where the version has a message for it."""

    async def reservation_ended(self, reservation: Reservation, status: str) -> None:
        """Report a reservation that lapsed, where the version has a message for it."""
