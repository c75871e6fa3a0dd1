"""The station's behaviour, whatever OCPP version it speaks.

The protocol clients only translate: a CSMS call becomes a method call here, and what the
station has to say goes out through the current link's client. Transaction messages go
through the outbox, so they survive a lost connection and arrive in order afterwards.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ocpp.exceptions import OCPPError

from emulator.clients import Delivery, Dialect, ProtocolClient
from emulator.errors import EvseUnavailableError, NotConnectedError
from emulator.evse import Evse, PendingStart, Session
from emulator.link import Link
from emulator.local_auth import TokenInfo
from emulator.meters import volts
from emulator.outbox import QueuedMessage
from emulator.profiles import Supply
from emulator.station import StationState
from emulator.tasks import BackgroundTasks

LOGGER = logging.getLogger("emulator")
# What a send can run into: a dropped link, a CALLERROR, or no answer in time.
SEND_ERRORS = (NotConnectedError, OCPPError, TimeoutError)
Reboot = Callable[[str, str], None]


class Charger:
    """Sessions, metering and reporting of one station; `link` is None while offline.

    `jobs` outlive a link (sampling goes on offline); `reboot(stop_reason, boot_reason)`
    asks the owner of the connection to restart the station.
    """

    def __init__(self, state: StationState, dialect: Dialect, jobs: BackgroundTasks, reboot: Reboot) -> None:
        self.state = state
        self.dialect = dialect
        self.jobs = jobs
        self.reboot = reboot
        self.link: Link | None = None
        self._reported: dict[int, str] = {}
        # Set whenever something the timers watch changes (see `emulator.timers`).
        self.wakeup = asyncio.Event()
        state.config.on_change = lambda _key: self.wakeup.set()

    # The link and sending.

    @property
    def client(self) -> ProtocolClient | None:
        """The client of a live, accepted link, or None."""
        link = self.link
        if link is None or not link.alive or not link.client.accepted.is_set():
            return None
        return link.client

    @property
    def online(self) -> bool:
        """Whether messages can go to the CSMS now."""
        return self.client is not None

    async def notify(self, send: Callable[[ProtocolClient], Coroutine[Any, Any, Any]]) -> None:
        """Send a message that is not worth keeping: skipped offline, failures only logged."""
        client, link = self.client, self.link
        if client is None or link is None:
            return
        try:
            await link.guarded(send(client))
        except SEND_ERRORS as exc:
            LOGGER.info("%s: message not delivered: %r", self.state.spec.station_id, exc)

    def queue(self, evse: Evse, message: QueuedMessage) -> None:
        """Put a transaction message in the outbox; each one carries the charging state it saw."""
        message.session.charging_state = evse.charging_state
        self.state.outbox.put(message)

    async def flush(self) -> None:
        """Deliver the outbox while online; a lost link leaves the rest for the next one."""
        if self.online:
            with contextlib.suppress(NotConnectedError):
                await self.state.outbox.drain(self._deliver)

    async def _deliver(self, item: QueuedMessage) -> bool:
        client, link = self.client, self.link
        if client is None or link is None:
            raise NotConnectedError("offline")
        if item.kind != "start" and not item.session.confirmed:
            # Its StartTransaction was given up, so the CSMS has no transaction id to file it under.
            LOGGER.warning("%s: dropping a message of an unconfirmed start", self.state.spec.station_id)
            return True
        try:
            delivery = await link.guarded(client.deliver(item))
        except (OCPPError, TimeoutError) as exc:
            return self._failed(item, exc)
        self._settle(item.session, delivery)
        return True

    def _failed(self, item: QueuedMessage, exc: Exception) -> bool:
        """Retry later (TransactionMessageAttempts, ...RetryInterval); True gives the message up."""
        item.attempts += 1
        config = self.state.config
        if item.attempts >= config.number("TransactionMessageAttempts"):
            LOGGER.warning("%s: giving up a %s message: %r", self.state.spec.station_id, item.kind, exc)
            return True
        self.jobs.spawn(self._retry(config.number("TransactionMessageRetryInterval") * item.attempts))
        return False

    async def _retry(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self.flush()

    def _settle(self, session: Session, delivery: Delivery) -> None:
        """Act on the CSMS's answer: take the transaction id, and stop for a refused token."""
        if delivery.transaction_id is not None:
            session.confirm(delivery.transaction_id)
        if delivery.token is None:
            return
        cache = self.state.config.flag("AuthorizationCacheEnabled")
        self.state.auth.remember(session.id_token, delivery.token, cache_enabled=cache)
        if delivery.token.status != "Accepted" and self.state.config.flag("StopTransactionOnInvalidId"):
            self.jobs.spawn(self._deauthorize(session))

    async def _deauthorize(self, session: Session) -> None:
        for evse in self.state.evses.values():
            if evse.session is session:
                await self.stop(evse.id, "DeAuthorized")

    # What the station reports.

    async def report(self, evse: Evse) -> None:
        """Send what changed: the connector status, and the charging state where it has a message."""
        status = self.dialect.status_of(evse)
        if self._reported.get(evse.id) != status:
            self._reported[evse.id] = status
            await self.notify(lambda client: client.send_status(evse.id))
        session = evse.session
        changed = session is not None and session.charging_state != evse.charging_state
        if session is not None and changed and self.dialect.reports_charging_state:
            offline = not self.online
            self.queue(evse, self.dialect.tx_updated(evse, session, "ChargingStateChanged", None, offline))
            await self.flush()

    async def report_all(self) -> None:
        """Send every connector's status, as after a (re)connection."""
        self._reported = {evse.id: self.dialect.status_of(evse) for evse in self.state.evses.values()}
        await self.notify(lambda client: client.send_statuses())

    async def on_accepted(self, link: Link) -> None:
        """Once the CSMS accepts the station: catch up on what it missed, then heartbeat."""
        self.link = link
        installed, self.state.installed_firmware = self.state.installed_firmware, None
        if installed is not None:
            await self.notify(lambda client: client.firmware_status(installed, "Installed"))
        await self.flush()
        await self.report_all()
        link.tasks.spawn(self._heartbeats(link))

    async def _heartbeats(self, link: Link) -> None:
        while True:
            # Re-read each time: boot responses and configuration changes may alter it.
            await asyncio.sleep(self.state.heartbeat_interval_s)
            try:
                await link.guarded(link.client.heartbeat())
            except SEND_ERRORS as exc:  # a lost link ends this loop with it; others are retried
                LOGGER.info("%s: heartbeat failed: %r", self.state.spec.station_id, exc)

    # Authorisation and sessions.

    async def authorize(self, id_token: str) -> TokenInfo:
        """Ask the CSMS, or decide locally while offline or when the local list pre-authorises."""
        config, auth = self.state.config, self.state.auth
        list_on, cache_on = config.flag("LocalAuthListEnabled"), config.flag("AuthorizationCacheEnabled")
        client, link = self.client, self.link
        if client is None or link is None:
            local = config.flag("LocalAuthorizeOffline")
            return auth.offline(
                id_token,
                self.state.now(),
                list_enabled=list_on and local,
                cache_enabled=cache_on and local,
                unknown_allowed=config.flag("AllowOfflineTxForUnknownId"),
            )
        known = auth.known(id_token, list_enabled=list_on, cache_enabled=cache_on)
        if config.flag("LocalPreAuthorize") and known and known.status_at(self.state.now()) == "Accepted":
            return known
        info = await link.guarded(client.authorize(id_token))
        auth.remember(id_token, info, cache_enabled=cache_on)
        return info

    def target(self, id_token: str, group: str | None, evse_id: int | None) -> Evse:
        """Where a driver's session goes: the given EVSE, else one reserved for them, else a
        plugged-in one, else any free one. Raises EvseUnavailableError when none can take it."""
        if evse_id is not None:
            evse = self.state.evse(evse_id)
            evse.check_free(id_token, group)
            return evse
        idle = [evse for evse in self.state.evses.values() if evse.session is None]
        ranked = sorted(
            idle,
            key=lambda e: (e.reservation is None or not e.reservation.admits(id_token, group), not e.plugged),
        )
        for evse in ranked:
            with contextlib.suppress(EvseUnavailableError):
                evse.check_free(id_token, group)
                return evse
        raise EvseUnavailableError(f"{self.state.spec.station_id} has no EVSE free for {id_token}")

    async def swipe(self, id_token: str, evse_id: int | None = None) -> str:
        """A card at the reader: stops the holder's own session, otherwise authorises and starts
        one (at once if the cable is in, else when it is plugged in). Returns the token status."""
        for evse in self.state.evses.values():
            if evse.session is not None and evse.session.id_token == id_token and evse_id in (None, evse.id):
                await self.stop(evse.id, "Local")
                return "Accepted"
        info = await self.authorize(id_token)
        if info.status != "Accepted":
            return info.status
        evse = self.target(id_token, info.group, evse_id)
        if evse.plugged:
            await self.start(evse, id_token, group=info.group, trigger="Authorized")
        else:
            evse.pending = PendingStart(id_token, info.group, time.monotonic())
            await self.report(evse)
            self.wakeup.set()
        return info.status

    async def plug_in(self, evse_id: int) -> None:
        """An EV is connected; a driver who authorised first now gets their session."""
        evse = self.state.evse(evse_id)
        evse.plug_in(self.state.new_ev(evse_id))
        pending, evse.pending = evse.pending, None
        await self.report(evse)
        if pending is not None and evse.session is None:
            await self.start(evse, pending.id_token, group=pending.group, trigger="CablePluggedIn")

    async def unplug(self, evse_id: int) -> None:
        """The EV leaves; its session ends (EVDisconnected) unless configured to stay suspended."""
        evse = self.state.evse(evse_id)
        evse.unplug()
        if evse.session is not None and self.state.config.flag("StopTransactionOnEVSideDisconnect"):
            await self.stop(evse_id, "EVDisconnected")
        else:
            await self.report(evse)

    async def start(
        self,
        evse: Evse,
        id_token: str,
        *,
        group: str | None = None,
        remote_start_id: int | None = None,
        trigger: str = "Authorized",
    ) -> Session:
        """Start a session, plugging in an EV if none is; the CSMS hears of it via the outbox."""
        evse.check_free(id_token, group)
        if not evse.plugged:
            evse.plug_in(self.state.new_ev(evse.id))
            await self.report(evse)
        transaction_id, confirmed = self.dialect.new_transaction_id()
        reservation = evse.reservation
        session = self.state.new_session(
            transaction_id,
            id_token,
            remote_start_id=remote_start_id,
            reservation_id=None if reservation is None else reservation.id,
            confirmed=confirmed,
        )
        evse.begin(session)
        self.apply_limits()
        self.queue(evse, self.dialect.tx_started(evse, session, trigger, not self.online))
        await self.flush()
        await self.report(evse)
        self.wakeup.set()
        return session

    async def stop(self, evse_id: int, reason: str = "Local") -> None:
        """End the EVSE's session; the driver then takes the cable (1.6 Finishing, then Available)."""
        evse = self.state.evse(evse_id)
        session = evse.end()
        self.state.profiles.end_transaction(evse.id)
        self.queue(evse, self.dialect.tx_ended(evse, session, reason, not self.online))
        self.apply_limits()
        await self.flush()
        await self.report(evse)
        if evse.plugged:
            evse.unplug()
            await self.report(evse)

    async def stop_all(self, reason: str) -> None:
        """End every session, as before a reboot."""
        for evse in list(self.state.evses.values()):
            if evse.session is not None:
                await self.stop(evse.id, reason)

    async def sample(
        self, evse: Evse, context: str = "Sample.Periodic", seconds: float | None = None
    ) -> None:
        """Read the meter (after `seconds` more charging, default the real time) and report it."""
        evse.advance(seconds)
        self.apply_limits()
        session = evse.session
        if session is None:
            await self.notify(lambda client: client.send_meter_values(evse.id, context))
        else:
            trigger = "MeterValueClock" if context == "Sample.Clock" else "MeterValuePeriodic"
            if context == "Trigger":
                trigger = "Trigger"
            self.queue(evse, self.dialect.tx_updated(evse, session, trigger, context, not self.online))
            await self.flush()
        await self.report(evse)

    def apply_limits(self) -> None:
        """Set each EVSE's allowed power from its hardware and the charging profiles in force."""
        now = self.state.now()
        share = max(1, len(self.state.transactions))
        for evse in self.state.evses.values():
            started = None if evse.session is None else evse.session.started_at
            supply = Supply(volts(evse), evse.phases, share)
            allowed = self.state.profiles.limit_w(evse.id, now, started, supply)
            limit = evse.max_power_w if allowed is None else min(evse.max_power_w, allowed)
            if limit != evse.limit_w:
                evse.set_limit(limit)

    async def apply_and_report(self) -> None:
        """Apply changed limits and report what that changed (e.g. SuspendedEVSE)."""
        self.apply_limits()
        for evse in self.state.evses.values():
            await self.report(evse)
