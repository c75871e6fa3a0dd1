"""The running cost of sessions while they charge.

Each meter reading of a priced session moves its cost on (`tariffs.pricing.RunningCost`, no
walk over the session); the cost is published as `SessionCostUpdated` for the driver app and
the portal, and at most every `update_interval_s` sent to the station: OCPP 2.0.1 has
CostUpdated, a 1.6 station gets a DataTransfer when the operator names a vendor id for it.

The node the station is connected to does this work, so several nodes never send twice. It runs
on its own task: the station's MeterValues are answered without waiting for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from chargepoints import events
from chargepoints.cdrs import register_readings
from chargepoints.ports import Clock, EventPublisher, StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.serial import SerialWork
from chargepoints.tables import TransactionRow
from tariffs import services as tariff_services
from tariffs.model import Price, Reading
from tariffs.pricing import RunningCost

log = logging.getLogger(__name__)

SESSIONS_LIMIT = 200_000
"""Sessions remembered; a session whose end was never heard of is forgotten oldest first."""
DATA_TRANSFER_MESSAGE = "RunningCost"


@dataclass
class _Session:
    running: RunningCost
    wire_tx_id: str  # what the station calls the transaction
    ocpp_version: str | None
    sent_at: float | None = None


class LiveCosts:
    """Subscribe `on_event` to the bus; `start()` and `stop()` run the pricing task."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        gateway: StationGateway,
        publisher: EventPublisher,
        clock: Clock,
        *,
        update_interval_s: float,
        vendor_id: str | None,
    ) -> None:
        self._uow, self._gateway, self._publisher, self._clock = uow, gateway, publisher, clock
        self._interval, self._vendor_id = update_interval_s, vendor_id
        self.work: SerialWork[events.MeterValuesRecorded] = SerialWork(self._price, name="live-costs")
        self._sessions: dict[int, _Session | None] = {}  # None: the session has no tariff
        self._sends: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.work.start()

    async def stop(self) -> None:
        await self.work.stop()
        for task in self._sends:
            task.cancel()
        await asyncio.gather(*self._sends, return_exceptions=True)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.TransactionEnded):
            self._sessions.pop(event.transaction_id, None)
        elif (
            isinstance(event, events.MeterValuesRecorded)
            and event.transaction_id is not None
            and event.energy_wh is not None
            and self._gateway.is_connected(event.station_id)
        ):
            self.work.offer(event)

    async def _price(self, event: events.MeterValuesRecorded) -> None:
        assert event.transaction_id is not None and event.energy_wh is not None
        transaction_id = event.transaction_id
        if transaction_id not in self._sessions:
            self._remember(transaction_id, await self._load(transaction_id))
        session = self._sessions.get(transaction_id)
        if session is None:
            return
        session.running.add(Reading(event.at, round(event.energy_wh)))
        cost = session.running.price(max(event.at, self._clock.now()))
        await self._publisher.publish(
            events.SessionCostUpdated(
                event.station_id, transaction_id, event.evse_id, cost.currency, str(cost.total), event.at
            )
        )
        now = time.monotonic()
        if self._interval > 0 and (session.sent_at is None or now - session.sent_at >= self._interval):
            session.sent_at = now
            send = asyncio.create_task(self._send(event.station_id, session, cost))
            self._sends.add(send)
            send.add_done_callback(self._sends.discard)

    def _remember(self, transaction_id: int, session: _Session | None) -> None:
        if len(self._sessions) >= SESSIONS_LIMIT:
            self._sessions.pop(next(iter(self._sessions)))
        self._sessions[transaction_id] = session

    async def _load(self, transaction_id: int) -> _Session | None:
        """The session's pinned tariff and the readings stored so far (a node may take over)."""
        async with self._uow() as uow:
            tx = await uow.session.get(TransactionRow, transaction_id)
            if tx is None or tx.tariff_version_id is None or tx.started_at is None:
                return None
            pinned = await tariff_services.pinned(uow, tx.tariff_version_id, tx.station_id)
            station = await uow.chargepoints.station(tx.station_id)
            readings = await register_readings(uow.session, transaction_id)
        running = RunningCost(pinned.tariff, ZoneInfo(pinned.time_zone), tx.started_at)
        if tx.meter_start_wh is not None:
            running.add(Reading(tx.started_at, tx.meter_start_wh))
        for at, wh in readings:
            running.add(Reading(at, wh))
        version = station.ocpp_version if station else None
        wire_id = tx.station_tx_id if version == "2.0.1" else str(transaction_id)
        return _Session(running, wire_id, version)

    async def _send(self, station_id: str, session: _Session, cost: Price) -> None:
        """Tell the station; a station that refuses or is gone changes nothing here."""
        if session.ocpp_version == "2.0.1":
            action = "CostUpdated"
            payload: dict[str, object] = {
                "totalCost": float(cost.total),  # JSON has numbers, not decimals
                "transactionId": session.wire_tx_id,
            }
        elif self._vendor_id:
            action = "DataTransfer"
            data = {"transactionId": session.wire_tx_id, "cost": str(cost.total), "currency": cost.currency}
            payload = {"vendorId": self._vendor_id, "messageId": DATA_TRANSFER_MESSAGE}
            payload["data"] = json.dumps(data)
        else:
            return
        try:
            await self._gateway.call(station_id, action, payload)
        except Exception as exc:
            log.info("%s to %s not delivered: %r", action, station_id, exc)
