"""Reservations: an EVSE (or any EVSE of a station) held for one id token until it expires.

The station enforces a reservation; the CSMS keeps the record, answers a start by another
token on a reserved EVSE with Invalid, and marks reservations used, cancelled or expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import col, select

from chargepoints.errors import ChargingError, StationNotFound
from chargepoints.operations import Operation
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.tables import ReservationRow


class ReservationStatus(StrEnum):
    REQUESTED = "Requested"
    ACTIVE = "Active"
    REJECTED = "Rejected"
    USED = "Used"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"


class ReservationNotFound(ChargingError):
    pass


@dataclass(frozen=True, slots=True)
class ReserveNow(Operation):
    reservation_id: int
    id_token: str
    expires_at: datetime
    evse_id: int | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class CancelReservation(Operation):
    reservation_id: int


async def request_reservation(
    station_id: str,
    id_token: str,
    expires_at: datetime,
    evse_id: int | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> ReservationRow:
    async with uow:
        if await uow.chargepoints.station(station_id) is None:
            raise StationNotFound(station_id)
        token = await uow.chargepoints.token(id_token)
        row = ReservationRow(
            station_id=station_id,
            evse_id=evse_id,
            id_token=id_token,
            expires_at=expires_at,
            group_id=token.group_id if token else None,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        uow.chargepoints.add(row)
        await uow.chargepoints.flush()
        await uow.commit()
    return row


async def set_status(
    reservation_id: int, status: ReservationStatus, *, uow: UnitOfWork, clock: Clock
) -> ReservationRow:
    async with uow:
        row = await uow.session.get(ReservationRow, reservation_id)
        if row is None:
            raise ReservationNotFound(str(reservation_id))
        row.status, row.updated_at = status, clock.now()
        await uow.commit()
    return row


async def blocking_reservation(
    uow: UnitOfWork, station_id: str, evse_id: int | None, id_token: str, now: datetime
) -> ReservationRow | None:
    """An active, unexpired reservation on this EVSE (or station-wide) for another token."""
    query = select(ReservationRow).where(
        col(ReservationRow.station_id) == station_id,
        col(ReservationRow.status) == ReservationStatus.ACTIVE,
        col(ReservationRow.expires_at) > now,
        col(ReservationRow.id_token) != id_token,
    )
    for row in (await uow.session.execute(query)).scalars():
        if row.evse_id is None or row.evse_id == evse_id:
            return row
    return None


async def consume(
    uow: UnitOfWork, station_id: str, reservation_id: int | None, id_token: str, now: datetime
) -> None:
    """A session started on the token's reservation uses it up."""
    query = select(ReservationRow).where(
        col(ReservationRow.station_id) == station_id,
        col(ReservationRow.status) == ReservationStatus.ACTIVE,
        col(ReservationRow.id_token) == id_token,
    )
    if reservation_id is not None:
        query = query.where(col(ReservationRow.id) == reservation_id)
    for row in (await uow.session.execute(query)).scalars():
        row.status, row.updated_at = ReservationStatus.USED, now


async def expire(*, uow: UnitOfWork, clock: Clock) -> int:
    """Mark reservations past their expiry; the station has let them go too (1.6 §5.13)."""
    now = clock.now()
    async with uow:
        query = select(ReservationRow).where(
            col(ReservationRow.status).in_([ReservationStatus.ACTIVE, ReservationStatus.REQUESTED]),
            col(ReservationRow.expires_at) <= now,
        )
        rows = list((await uow.session.execute(query)).scalars())
        for row in rows:
            row.status, row.updated_at = ReservationStatus.EXPIRED, now
        await uow.commit()
    return len(rows)
