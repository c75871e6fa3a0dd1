"""The interface both protocol clients offer, so callers never branch on the version."""

import asyncio
from typing import Any, Protocol

from emulator.station import StationState
from emulator.tasks import BackgroundTasks
from emulator.v16 import V16Client
from emulator.v201 import V201Client

SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


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

    async def authorize(self, id_token: str) -> str:
        """Send Authorize and return the authorisation status."""

    async def start_transaction(self, evse_id: int, id_token: str, remote_start_id: int | None = None) -> str:
        """Start a session and return its transaction id."""

    async def send_meter_values(self, evse_id: int) -> None:
        """Report the EVSE's current readings."""

    async def stop_transaction(self, evse_id: int, reason: str = "Local") -> None:
        """End the EVSE's session."""


def make_client(state: StationState, connection: Any, tasks: BackgroundTasks) -> ProtocolClient:
    """The client for the station's configured OCPP version."""
    if state.spec.version == "1.6":
        return V16Client(state, connection, tasks)
    return V201Client(state, connection, tasks)
