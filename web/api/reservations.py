"""Operator API for reservations: reserve an EVSE for an id token, cancel, list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import col, select

from chargepoints import queries, reservations
from chargepoints.errors import StationNotFound
from chargepoints.model import CommandStatus
from chargepoints.reservations import CancelReservation, ReservationNotFound, ReservationStatus, ReserveNow
from chargepoints.tables import CommandRow, ReservationRow
from web.api.dispatch import booted_version, send_and_wait
from web.api.operator import Page
from web.deps import ClockDep, CommandsDep, DbId, GatewayDep, PageDep, SessionDep, UowDep

router = APIRouter(prefix="/api/v1/operator", tags=["reservations"])


class ReservationIn(BaseModel):
    id_token: str = Field(min_length=1, max_length=255)
    expires_at: AwareDatetime
    evse_id: int | None = Field(default=None, ge=1, description="Omit to reserve any EVSE of the station")


class ReservationOut(BaseModel):
    id: int
    station_id: str
    evse_id: int | None
    id_token: str
    expires_at: datetime
    status: str
    command_id: int | None = None
    station_answer: str | None = None


def _outcome(row: ReservationRow, command: CommandRow) -> ReservationOut:
    answer = (command.response or {}).get("status")
    out = ReservationOut.model_validate(row, from_attributes=True)
    return out.model_copy(update={"command_id": command.id, "station_answer": answer or command.error})


@router.post("/stations/{station_id}/reservations", status_code=status.HTTP_201_CREATED)
async def reserve(
    station_id: Annotated[str, Path(max_length=48)],
    body: ReservationIn,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> ReservationOut:
    """Reserve and wait for the station's answer: 201 when it accepted, 409 when not."""
    if body.expires_at <= clock.now():
        raise HTTPException(422, "expires_at must be in the future")
    version = await booted_version(session, station_id)
    try:
        row = await reservations.request_reservation(
            station_id, body.id_token, body.expires_at, body.evse_id, uow=uow, clock=clock
        )
    except StationNotFound:
        raise HTTPException(404, f"Station {station_id} not found") from None
    assert row.id is not None
    operation = ReserveNow(row.id, body.id_token, body.expires_at, body.evse_id, row.group_id)
    command = await send_and_wait(
        station_id, operation, version, request, uow=uow, clock=clock, gateway=gateway, runner=runner
    )
    accepted = command.status == CommandStatus.ACCEPTED
    new_status = ReservationStatus.ACTIVE if accepted else ReservationStatus.REJECTED
    row = await reservations.set_status(row.id, new_status, uow=uow, clock=clock)
    if not accepted:
        raise HTTPException(409, f"Station did not reserve: {_outcome(row, command).station_answer}")
    return _outcome(row, command)


@router.delete("/reservations/{reservation_id}")
async def cancel(
    reservation_id: DbId,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> ReservationOut:
    row = await session.get(ReservationRow, reservation_id)
    if row is None:
        raise HTTPException(404, f"Reservation {reservation_id} not found")
    if row.status != ReservationStatus.ACTIVE:
        raise HTTPException(409, f"Reservation {reservation_id} is {row.status}, not Active")
    version = await queries.station_version(session, row.station_id) or ""
    await session.commit()
    command = await send_and_wait(
        row.station_id,
        CancelReservation(reservation_id),
        version,
        request,
        uow=uow,
        clock=clock,
        gateway=gateway,
        runner=runner,
    )
    if command.status != CommandStatus.ACCEPTED:
        raise HTTPException(
            409, f"Station did not cancel: {(command.response or {}).get('status') or command.error}"
        )
    try:
        row = await reservations.set_status(reservation_id, ReservationStatus.CANCELLED, uow=uow, clock=clock)
    except ReservationNotFound:
        raise HTTPException(404, f"Reservation {reservation_id} not found") from None
    return _outcome(row, command)


@router.get("/reservations", response_model=Page[ReservationOut])
async def list_reservations(
    session: SessionDep, page: PageDep, station_id: str | None = None, status: ReservationStatus | None = None
) -> Page[ReservationOut]:
    query = select(ReservationRow)
    if station_id is not None:
        query = query.where(col(ReservationRow.station_id) == station_id)
    if status is not None:
        query = query.where(col(ReservationRow.status) == status)
    rows = list((await session.execute(query.order_by(col(ReservationRow.id).desc()))).scalars())
    items = [ReservationOut.model_validate(r, from_attributes=True) for r in rows]
    return Page(
        items=items[page.offset : page.offset + page.limit],
        total=len(items),
        limit=page.limit,
        offset=page.offset,
    )
