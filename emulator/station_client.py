"""`Station`: one emulated charging station, any OCPP version, driven step by step or left
to `run()` alone.

The hooks read like a scenario: `await station.plug_in(1)`, `await station.swipe("TAG")`,
`await station.go_offline()`. Behaviour lives in `Charger`; this class owns the connection:
opening it, rebooting, going offline and back.
"""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from emulator import operations
from emulator.autopilot import Autopilot
from emulator.charger import Charger
from emulator.clients import Dialect, ProtocolClient
from emulator.errors import NotConnectedError
from emulator.link import Link, dial
from emulator.station import StationSpec, StationState
from emulator.tasks import BackgroundTasks
from emulator.timers import Timers
from emulator.v16 import V16Messages
from emulator.v16_commands import V16Client
from emulator.v201 import V201Messages
from emulator.v201_commands import V201Client

ConnectionWrapper = Callable[[Any], Any]
DRAIN_ON_CLOSE_S = 2.0


def make_client(charger: Charger, connection: Any, tasks: BackgroundTasks) -> ProtocolClient:
    """The client for the station's configured OCPP version."""
    if charger.state.spec.version == "1.6":
        return V16Client(charger, connection, tasks)
    return V201Client(charger, connection, tasks)


def make_dialect(state: StationState) -> Dialect:
    """The message builder for the station's configured OCPP version."""
    return V16Messages(state) if state.spec.version == "1.6" else V201Messages(state)


class Station:
    """A charging station over one websocket at a time.

    `connection_wrapper`, if given, wraps each websocket before the protocol client uses it
    (it must offer the same `recv()`, `send(str)` and `close()`), e.g. to inject faults.
    """

    def __init__(
        self, spec: StationSpec, url: str, *, connection_wrapper: ConnectionWrapper | None = None
    ) -> None:
        self.spec = spec
        self.state = StationState.from_spec(spec)
        self._uri = f"{url.rstrip('/')}/{quote(spec.station_id, safe='')}"
        self._wrapper = connection_wrapper
        self._jobs = BackgroundTasks(spec.station_id)
        self.charger = Charger(self.state, make_dialect(self.state), self._jobs, self._request_reboot)
        self._timers = Timers(self.charger)
        self._timer_task: asyncio.Task[Any] | None = None
        self._link: Link | None = None
        self._rebooting: asyncio.Task[Any] | None = None
        self._offline = False

    @property
    def boot_status(self) -> str | None:
        """The last BootNotification status, None before the first boot."""
        return self.state.boot_status

    @property
    def transactions(self) -> dict[int, str]:
        """Active transaction ids keyed by EVSE id (1.6: "pending-..." until the CSMS answers)."""
        return self.state.transactions

    @property
    def connected(self) -> bool:
        """Whether the websocket is up and its receive loop running."""
        return self._link is not None and self._link.alive

    def energy_wh(self, evse_id: int) -> int:
        """The EVSE's energy register in Wh."""
        return self.state.evse(evse_id).register_wh

    def _run_timers(self) -> None:
        if self._timer_task is None or self._timer_task.done():
            self._timer_task = self._jobs.spawn(self._timers.run())

    # The connection.

    async def connect(self) -> str:
        """Power up: open the websocket, boot, and return the BootNotification status.

        Once Accepted (now or after retries) the station delivers what it queued offline,
        reports its connectors and starts heartbeating. An existing link is closed first.
        """
        await self.close()
        self._offline = False
        return await self._open("PowerUp", boot=True)

    async def _open(self, reason: str, *, boot: bool) -> str:
        ping_s = self.state.config.number("WebSocketPingInterval")
        connection = await dial(self.spec, self._uri, ping_s)
        wrapped = connection if self._wrapper is None else self._wrapper(connection)
        tasks = BackgroundTasks(self.spec.station_id)
        link = Link(connection, make_client(self.charger, wrapped, tasks), tasks)
        self._link = self.charger.link = link
        self._run_timers()
        if not boot:  # a reconnect, not a reboot: the CSMS accepted this power cycle already
            link.client.accepted.set()
            await link.guarded(self.charger.on_accepted(link))
            return "Accepted"
        status = await link.guarded(link.client.boot(reason))
        if status == "Accepted":
            await link.guarded(self.charger.on_accepted(link))
        else:
            tasks.spawn(self._await_acceptance(link))
        return status

    async def _await_acceptance(self, link: Link) -> None:
        """Re-boot every `interval` until Accepted; a triggered boot may win earlier."""
        client = link.client
        while not client.accepted.is_set():
            try:
                async with asyncio.timeout(self.state.heartbeat_interval_s):
                    await client.accepted.wait()
            except TimeoutError:
                await client.boot()
        await self.charger.on_accepted(link)

    async def _drop_link(self) -> None:
        link, self._link = self._link, None
        self.charger.link = None
        if link is not None:
            await link.close()

    def _request_reboot(self, stop_reason: str, boot_reason: str) -> None:
        if self._rebooting is None or self._rebooting.done():
            self._rebooting = self._jobs.spawn(self._reboot(stop_reason, boot_reason))

    async def _reboot(self, stop_reason: str, boot_reason: str) -> None:
        """End the sessions, drop the link, and come back after `spec.boot_delay_s` with a boot."""
        await self.charger.stop_all(stop_reason)
        await self._drop_link()
        self.state.boot_status = None
        await asyncio.sleep(self.spec.boot_delay_s)
        if not self._offline:
            await self._open(boot_reason, boot=True)

    async def wait_disconnected(self) -> None:
        """Return once the connection is gone (closed by either side); a reboot is waited out."""
        while True:
            link = self._link
            if link is not None and link.alive:
                await asyncio.wait({link.receiver})
                continue
            rebooting = self._rebooting
            if rebooting is None or rebooting.done():
                return
            await asyncio.wait({rebooting})

    async def go_offline(self) -> None:
        """Lose the network: the link drops, and the station charges on, queueing its
        transaction messages until `go_online()`."""
        self._offline = True
        await self._drop_link()
        self._run_timers()

    async def go_online(self) -> str:
        """Reconnect; boot only if not yet accepted since power-up. Queued messages go first."""
        self._offline = False
        if self.connected:
            return self.state.boot_status or "Accepted"
        return await self._open("PowerUp", boot=self.state.boot_status != "Accepted")

    async def close(self) -> None:
        """Deliver what is queued (briefly), then close the connection and stop background work;
        sessions stay in memory."""
        if self.charger.online and len(self.state.outbox):
            # A send cancelled midway (say, a stop whose caller was cancelled) would otherwise be lost.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_ON_CLOSE_S):
                    await self.charger.flush()
        await self._jobs.cancel_all()
        await self._drop_link()

    # What a driver, a technician or a test does.

    def _require_link(self) -> Link:
        if self._link is None or not self._link.alive:
            raise NotConnectedError(f"{self.spec.station_id} is not connected")
        return self._link

    async def heartbeat(self) -> None:
        """Send a Heartbeat now."""
        link = self._require_link()
        await link.guarded(link.client.heartbeat())

    async def authorize(self, id_token: str) -> str:
        """Authorise a token (locally while offline) and return its status, e.g. "Accepted"."""
        return (await self.charger.authorize(id_token)).status

    async def plug_in(self, evse_id: int) -> None:
        """Plug an EV in; a driver who swiped first gets their session now."""
        self._run_timers()
        await self.charger.plug_in(evse_id)

    async def unplug(self, evse_id: int) -> None:
        """Unplug the EV, ending its session (EVDisconnected) if one runs."""
        await self.charger.unplug(evse_id)

    async def swipe(self, id_token: str, evse_id: int | None = None) -> str:
        """Present a card: authorise, then start on the plugged-in, reserved or given EVSE (or
        stop the card's own session). Returns the authorisation status."""
        self._run_timers()
        return await self.charger.swipe(id_token, evse_id)

    async def start_transaction(self, evse_id: int, id_token: str) -> str:
        """Plug in and start charging; returns the transaction id as a string."""
        self._run_timers()
        session = await self.charger.start(self.state.evse(evse_id), id_token)
        return session.transaction_id

    async def stop_transaction(self, evse_id: int, reason: str = "Local") -> None:
        """Stop the EVSE's session (OCPP stop reason; 1.6 and 2.0.1 words are both understood)."""
        await self.charger.stop(evse_id, reason)

    async def send_meter_values(self, evse_id: int, seconds: float | None = None) -> None:
        """Advance the register by `seconds` of charging (default: real time) and report it."""
        await self.charger.sample(self.state.evse(evse_id), "Sample.Periodic", seconds)

    async def set_status(self, evse_id: int, status: str, error_code: str | None = None) -> None:
        """Set an EVSE status (2.0.1 words, e.g. "Faulted" with an error code) and report it."""
        await operations.set_status(self.charger, evse_id, status, error_code)

    async def run(
        self,
        stop: asyncio.Event,
        *,
        session_probability: float,
        id_tokens: list[str],
        connect_gate: asyncio.Semaphore | None = None,
        on_link: Callable[[bool], None] | None = None,
    ) -> None:
        """Behave autonomously until `stop` is set; see `emulator.autopilot`."""
        pilot = Autopilot(
            self,
            session_probability=session_probability,
            id_tokens=id_tokens,
            connect_gate=connect_gate,
            on_link=on_link,
        )
        await pilot.run(stop)
