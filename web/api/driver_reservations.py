"""Driver API for reservations: hold an EVSE for a few minutes on the way to it, list, cancel.

The reservation is made for the driver's app token, so the hold ends when the driver's own
session starts there (a scan of the EVSE) and nobody else's card can start on it meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from chargepoints import driver_sessions as use_cases
from chargepoints import driver_views
from chargepoints.errors import StationNotFound
from chargepoints.reservations import ReservationNotFound
from chargepoints.tables import ReservationRow
from web.api.driver_sessions import AnswerOut, DriverDep, PortsDep, StationIdIn, answered
from web.api.operator import Page
from web.deps import DB_INT_MAX, DbId, PageDep, UowDep

router = APIRouter(prefix="/api/v1/me/reservations", tags=["reservations"])
Minutes = Annotated[int, Field(ge=5, le=60, description="How long the EVSE is held")]


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    station_id: StationIdIn
    evse_id: int | None = Field(
        default=None, ge=1, le=DB_INT_MAX, description="Omit to hold any EVSE of the station"
    )
    minutes: Minutes = 15


class ReservationOut(BaseModel):
    id: int
    station_id: str
    evse_id: int | None
    expires_at: datetime
    status: str = Field(examples=["Active", "Used", "Cancelled", "Expired", "Rejected"])


def _out(row: ReservationRow) -> dict[str, object]:
    return ReservationOut.model_validate(row, from_attributes=True).model_dump(mode="json")


_ANSWERS: dict[int | str, dict[str, Any]] = {code: {"model": AnswerOut} for code in (409, 504)}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ReservationOut, responses=_ANSWERS)
async def reserve(body: ReservationIn, driver: DriverDep, ports: PortsDep) -> JSONResponse:
    """Reserve and wait for the station's answer: 201 when it holds the EVSE, else the outcome
    (409 when it refused, say because the EVSE is occupied, or is offline; 504 no answer)."""
    try:
        row, answer = await use_cases.reserve(
            driver, body.station_id, body.evse_id, body.minutes, ports=ports
        )
    except (StationNotFound, use_cases.EvseNotFound):
        raise HTTPException(404, f"Station {body.station_id} not found") from None
    if row is None:
        return answered(answer)
    if answer.outcome is use_cases.Outcome.RESERVED:
        return JSONResponse(_out(row), status_code=status.HTTP_201_CREATED)
    refused = 409 if answer.outcome is use_cases.Outcome.REJECTED else None  # say, Occupied
    return answered(answer, code=refused, reservation=_out(row))


@router.get("", response_model=Page[ReservationOut])
async def list_reservations(driver: DriverDep, uow: UowDep, page: PageDep) -> Page[ReservationOut]:
    """The driver's reservations, newest first."""
    async with uow:
        rows, total = await driver_views.driver_reservations(
            uow.session, driver, limit=page.limit, offset=page.offset
        )
    items = [ReservationOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.delete("/{reservation_id}", response_model=ReservationOut, responses=_ANSWERS)
async def cancel(reservation_id: DbId, driver: DriverDep, ports: PortsDep) -> JSONResponse:
    """Cancel an active reservation at the station: 409 if it is no longer active."""
    try:
        row, answer = await use_cases.cancel_reservation(driver, reservation_id, ports=ports)
    except ReservationNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except use_cases.ReservationNotActive as exc:
        raise HTTPException(409, str(exc)) from None
    if answer.outcome is use_cases.Outcome.CANCELLED:
        return JSONResponse(_out(row))
    return answered(answer, reservation=_out(row))
