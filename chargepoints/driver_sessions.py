"""What a driver does from the app: start a session by scanning an EVSE, stop it, reserve an EVSE.

A start is a chain of checks and every failure has its own plain answer (``Outcome``): a driver
standing at a charger needs to know what to do next (plug in, pick another EVSE, try later), not
that "the command failed". Who the driver is, with the account's id tokens, comes from the edge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints import commands, reservations
from chargepoints.errors import ChargingError, InvalidCommand, StationNotFound, TransactionNotFound
from chargepoints.model import CommandStatus, ConnectorStatus, IdToken, TxState
from chargepoints.operations import Operation, RemoteStart, RemoteStop, new_request_id
from chargepoints.ports import Clock, StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.reservations import CancelReservation, ReservationNotFound, ReservationStatus, ReserveNow
from chargepoints.tables import (
    CommandRow,
    ConnectorRow,
    EvseRow,
    ReservationRow,
    SiteRow,
    StationRow,
    TransactionRow,
)

START_WAIT_S = 20.0
"""How long a start waits for the session to appear once the station has accepted."""
POLL_S = 0.2


class Outcome(StrEnum):
    """What became of a driver's request, for the app to act on."""

    STARTED = "started"
    STOPPING = "stopping"
    RESERVED = "reserved"
    CANCELLED = "cancelled"
    STATION_OFFLINE = "station_offline"
    NOT_PLUGGED = "not_plugged"
    EVSE_BUSY = "evse_busy"
    EVSE_UNAVAILABLE = "evse_unavailable"
    PAYMENT_REQUIRED = "payment_required"
    REJECTED = "rejected"
    NO_ANSWER = "no_answer"


class EvseNotFound(ChargingError):
    pass


class SessionEnded(ChargingError):
    """The session is over, so there is nothing to stop."""


class ReservationNotActive(ChargingError):
    pass


@dataclass(frozen=True, slots=True)
class Driver:
    """A logged-in driver: ``app_token`` is the account's own id token, used for remote starts;
    ``tokens`` are all the id tokens of the account (its cards too): their sessions are its own."""

    user_id: int
    tenant_id: int
    app_token: str
    tokens: frozenset[str]

    @property
    def requester(self) -> str:
        return f"driver:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    message: str
    transaction_id: int | None = None


class PaymentGuard(Protocol):
    """Whether the driver's account may pay for a session about to start."""

    async def refusal(self, driver: Driver, station_id: str) -> str | None:
        """Why not, in words for the driver (say, "Top up your wallet"); None to go ahead."""
        ...


class CommandSender(Protocol):
    """Sends a queued command and records its outcome (``csms.commands.CommandRunner``)."""

    async def run(self, command_id: int) -> CommandRow: ...


@dataclass(frozen=True, slots=True)
class Ports:
    uow: Callable[[], UnitOfWork]
    gateway: StationGateway
    commands: CommandSender
    clock: Clock


async def start(
    driver: Driver,
    station_id: str,
    evse_id: int,
    *,
    ports: Ports,
    payments: PaymentGuard,
    wait_s: float = START_WAIT_S,
) -> Answer:
    """Check, in the order a driver can act on, then start remotely and wait for the session.
    StationNotFound for a station outside the driver's tenant, EvseNotFound for no such EVSE."""
    async with ports.uow() as uow:
        station = await station_of_tenant(uow.session, station_id, driver.tenant_id)
        if station is None:
            raise StationNotFound(station_id)
        statuses = await _evse_statuses(uow.session, station_id, evse_id)
        running = await uow.chargepoints.active_transaction(station_id, evse_id)
        now = ports.clock.now()
        held = await reservations.blocking_reservation(uow, station_id, evse_id, driver.app_token, now)
    if station_id not in await ports.gateway.connected([station_id]):
        return Answer(Outcome.STATION_OFFLINE, f"Station {station_id} is offline; try again later.")
    blocked = evse_verdict(evse_id, statuses, running, reserved=held is not None, driver=driver)
    if blocked is not None:
        return blocked
    refusal = await payments.refusal(driver, station_id)
    if refusal is not None:
        return Answer(Outcome.PAYMENT_REQUIRED, refusal)
    remote_start_id = new_request_id()
    operation = RemoteStart(IdToken(driver.app_token, "Central"), remote_start_id, evse_id)
    refused = await request(
        station_id, station.ocpp_version or "", operation, "start charging", driver, ports
    )
    if refused is not None:
        return refused
    transaction_id = await _await_session(driver, station_id, evse_id, remote_start_id, ports, wait_s)
    if transaction_id is None:
        return Answer(
            Outcome.NO_ANSWER, f"Station {station_id} accepted but has not started charging; try again."
        )
    return Answer(Outcome.STARTED, f"Charging at {station_id}, connector {evse_id}.", transaction_id)


async def _evse_statuses(session: AsyncSession, station_id: str, evse_id: int) -> list[str]:
    """The statuses of the EVSE's connectors (none reported yet: empty); EvseNotFound if unknown."""
    query = select(ConnectorRow.status).where(
        col(ConnectorRow.station_id) == station_id, col(ConnectorRow.evse_id) == evse_id
    )
    statuses = list((await session.execute(query)).scalars())
    if not statuses:
        evse = select(EvseRow.id).where(
            col(EvseRow.station_id) == station_id, col(EvseRow.evse_id) == evse_id
        )
        if (await session.execute(evse)).first() is None:
            raise EvseNotFound(f"Station {station_id} has no EVSE {evse_id}")
    return statuses


def evse_verdict(
    evse_id: int,
    statuses: Sequence[str],
    running: TransactionRow | None,
    *,
    reserved: bool,
    driver: Driver,
) -> Answer | None:
    """Why the EVSE cannot start the driver's session now, or None when it can. Occupied without a
    session means a cable is plugged in (1.6 Preparing maps to Occupied), which is what we need."""
    if running is not None:
        mine = running.id_token in driver.tokens
        words = "You are already charging there." if mine else "Someone else is charging there."
        return Answer(
            Outcome.EVSE_BUSY, f"Connector {evse_id} is in use. {words}", running.id if mine else None
        )
    if reserved:
        return Answer(Outcome.EVSE_BUSY, f"Connector {evse_id} is reserved for another driver.")
    if ConnectorStatus.OCCUPIED in statuses:
        return None
    if ConnectorStatus.AVAILABLE in statuses or ConnectorStatus.RESERVED in statuses:
        return Answer(Outcome.NOT_PLUGGED, f"Plug the cable into connector {evse_id}, then scan again.")
    if statuses:
        return Answer(Outcome.EVSE_UNAVAILABLE, f"Connector {evse_id} is out of service; try another one.")
    return Answer(Outcome.EVSE_UNAVAILABLE, f"Connector {evse_id} has not reported its state yet.")


async def request(
    station_id: str, version: str, operation: Operation, what: str, driver: Driver, ports: Ports
) -> Answer | None:
    """Send the operation as a logged command: None when the station accepted, else what to tell
    the driver (``what`` names the request in their words, "start charging")."""
    try:
        action, payload = ports.gateway.translate(version, operation)
        ports.gateway.check(station_id, action, payload)
    except InvalidCommand as exc:  # a station that never booted has no protocol to speak yet
        return Answer(Outcome.REJECTED, f"Station {station_id} cannot {what}: {exc}")
    command_id = await commands.queue_command(
        station_id, action, payload, requester=driver.requester, uow=ports.uow(), clock=ports.clock
    )
    command = await ports.commands.run(command_id)
    status = CommandStatus(command.status)
    if status is CommandStatus.ACCEPTED:
        return None
    if status is CommandStatus.STATION_OFFLINE:
        return Answer(Outcome.STATION_OFFLINE, f"Station {station_id} went offline; try again later.")
    if status is CommandStatus.TIMED_OUT:
        return Answer(Outcome.NO_ANSWER, f"Station {station_id} did not answer in time; try again.")
    reason = (command.response or {}).get("status") or command.error or "no reason given"
    return Answer(Outcome.REJECTED, f"Station {station_id} refused to {what} ({reason}).")


async def _await_session(
    driver: Driver, station_id: str, evse_id: int, remote_start_id: int, ports: Ports, wait_s: float
) -> int | None:
    """The session the remote start began: 2.0.1 names it by remoteStartId, 1.6 by the token."""
    query = (
        select(TransactionRow.id)
        .where(
            col(TransactionRow.station_id) == station_id,
            col(TransactionRow.evse_id) == evse_id,
            col(TransactionRow.state) == TxState.ACTIVE,
            or_(
                col(TransactionRow.remote_start_id) == remote_start_id,
                col(TransactionRow.id_token) == driver.app_token,
            ),
        )
        .order_by(col(TransactionRow.id).desc())
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        async with ports.uow() as uow:
            found = (await uow.session.execute(query)).scalars().first()
        if found is not None or loop.time() >= deadline:
            return found
        await asyncio.sleep(POLL_S)


async def stop(driver: Driver, transaction_id: int, *, ports: Ports) -> Answer:
    """Ask the station to end the driver's own session; TransactionNotFound for anyone else's."""
    async with ports.uow() as uow:
        tx = await owned_transaction(uow.session, driver, transaction_id)
        station = await uow.chargepoints.station(tx.station_id)
    if tx.state == TxState.ENDED:
        raise SessionEnded(f"Session {transaction_id} has already ended")
    version = (station.ocpp_version or "") if station else ""
    operation = RemoteStop(transaction_id, tx.station_tx_id)
    refused = await request(tx.station_id, version, operation, "stop", driver, ports)
    if refused is not None:
        return refused
    return Answer(Outcome.STOPPING, "The station is stopping; unplug when it says so.", transaction_id)


async def station_of_tenant(session: AsyncSession, station_id: str, tenant_id: int) -> StationRow | None:
    """The station, if its site belongs to the tenant: drivers see no other station."""
    query = (
        select(StationRow)
        .join(SiteRow, col(StationRow.site_id) == col(SiteRow.id))
        .where(col(StationRow.id) == station_id, col(SiteRow.tenant_id) == tenant_id)
    )
    return (await session.execute(query)).scalars().first()


async def owned_transaction(session: AsyncSession, driver: Driver, transaction_id: int) -> TransactionRow:
    tx = await session.get(TransactionRow, transaction_id)
    if tx is None or tx.id_token not in driver.tokens:
        raise TransactionNotFound(f"Session {transaction_id} not found")
    return tx


async def current_transaction(session: AsyncSession, driver: Driver) -> int | None:
    """The driver's newest running session."""
    query = select(TransactionRow.id).where(
        col(TransactionRow.id_token).in_(driver.tokens), col(TransactionRow.state) == TxState.ACTIVE
    )
    return (await session.execute(query.order_by(col(TransactionRow.id).desc()))).scalars().first()


async def reserve(
    driver: Driver, station_id: str, evse_id: int | None, minutes: int, *, ports: Ports
) -> tuple[ReservationRow | None, Answer]:
    """Hold an EVSE (any of the station's, without ``evse_id``) for the driver's app token; the
    reservation is kept, Active or Rejected, once the station has been asked."""
    async with ports.uow() as uow:
        station = await station_of_tenant(uow.session, station_id, driver.tenant_id)
        if station is None:
            raise StationNotFound(station_id)
        if evse_id is not None:
            await _evse_statuses(uow.session, station_id, evse_id)
    if station_id not in await ports.gateway.connected([station_id]):
        return None, Answer(Outcome.STATION_OFFLINE, f"Station {station_id} is offline; try again later.")
    expires_at = ports.clock.now() + timedelta(minutes=minutes)
    row = await reservations.request_reservation(
        station_id, driver.app_token, expires_at, evse_id, uow=ports.uow(), clock=ports.clock
    )
    assert row.id is not None
    operation = ReserveNow(row.id, driver.app_token, expires_at, evse_id, row.group_id)
    refused = await request(station_id, station.ocpp_version or "", operation, "reserve", driver, ports)
    status = ReservationStatus.ACTIVE if refused is None else ReservationStatus.REJECTED
    row = await reservations.set_status(row.id, status, uow=ports.uow(), clock=ports.clock)
    if refused is not None:
        return row, refused
    return row, Answer(Outcome.RESERVED, f"Held for you at {station_id} for {minutes} minutes.")


async def cancel_reservation(
    driver: Driver, reservation_id: int, *, ports: Ports
) -> tuple[ReservationRow, Answer]:
    async with ports.uow() as uow:
        row = await uow.session.get(ReservationRow, reservation_id)
        station = await uow.chargepoints.station(row.station_id) if row is not None else None
    if row is None or row.id_token not in driver.tokens:
        raise ReservationNotFound(f"Reservation {reservation_id} not found")
    if row.status != ReservationStatus.ACTIVE:
        raise ReservationNotActive(f"Reservation {reservation_id} is {row.status}, not Active")
    version = (station.ocpp_version or "") if station else ""
    operation = CancelReservation(reservation_id)
    refused = await request(row.station_id, version, operation, "cancel the reservation", driver, ports)
    if refused is not None:
        return row, refused
    row = await reservations.set_status(
        reservation_id, ReservationStatus.CANCELLED, uow=ports.uow(), clock=ports.clock
    )
    return row, Answer(Outcome.CANCELLED, "Reservation cancelled.")
