"""Operator API for charging profiles: set (stored, then installed or rejected by the station),
clear, list, and the station's composite schedule."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import col, select

from chargepoints import profiles
from chargepoints.errors import InvalidCommand
from chargepoints.model import CommandStatus
from chargepoints.profiles import ClearChargingProfile, GetCompositeSchedule, Period, Profile, ProfileStatus
from chargepoints.tables import ChargingProfileRow, TransactionRow
from web.api.dispatch import booted_version, send_and_wait
from web.deps import ClockDep, CommandsDep, GatewayDep, SessionDep, UowDep

router = APIRouter(prefix="/api/v1/operator/stations/{station_id}", tags=["charging profiles"])
StationId = Annotated[str, Path(max_length=48)]
Purpose = Literal[
    "ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile", "ChargingStationExternalConstraints"
]


class PeriodIn(BaseModel):
    start_s: int = Field(ge=0)
    limit: float = Field(ge=0)
    phases: int | None = Field(default=None, ge=1, le=3)


class ProfileIn(BaseModel):
    evse_id: int = Field(default=0, ge=0, description="0 = the whole station")
    stack_level: int = Field(default=0, ge=0)
    purpose: Purpose = "TxDefaultProfile"
    kind: Literal["Absolute", "Recurring", "Relative"] = "Absolute"
    recurrency: Literal["Daily", "Weekly"] | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    transaction_id: int | None = Field(default=None, description="Our transaction id, for a TxProfile")
    unit: Literal["A", "W"] = "A"
    start: AwareDatetime | None = None
    duration_s: int | None = Field(default=None, gt=0)
    min_rate: float | None = Field(default=None, ge=0)
    periods: list[PeriodIn] = Field(min_length=1, max_length=1024)


class ProfileOut(BaseModel):
    id: int
    evse_id: int
    purpose: str
    stack_level: int
    status: str
    definition: dict[str, Any]
    updated_at: datetime


class CompositeIn(BaseModel):
    evse_id: int = Field(default=0, ge=0)
    duration_s: int = Field(gt=0, le=7 * 86_400)
    unit: Literal["A", "W"] | None = None


def _check(body: ProfileIn) -> None:
    if [p.start_s for p in body.periods] != sorted({p.start_s for p in body.periods}) or body.periods[
        0
    ].start_s:
        raise HTTPException(422, "periods must start at 0 and rise strictly")
    if (body.kind == "Recurring") != (body.recurrency is not None):
        raise HTTPException(422, "recurrency is required for, and only for, Recurring profiles")
    if (body.purpose == "TxProfile") != (body.transaction_id is not None):
        raise HTTPException(422, "transaction_id is required for, and only for, a TxProfile")
    if body.kind != "Relative" and body.start is None:
        raise HTTPException(422, "start is required for Absolute and Recurring profiles")


async def _transaction(session: SessionDep, station_id: str, transaction_id: int | None) -> dict[str, Any]:
    if transaction_id is None:
        return {}
    tx = await session.get(TransactionRow, transaction_id)
    if tx is None or tx.station_id != station_id or tx.state != "Active":
        raise HTTPException(409, f"Transaction {transaction_id} is not running on {station_id}")
    return {"id": tx.id, "station_tx_id": tx.station_tx_id}


@router.post("/charging-profiles", status_code=status.HTTP_201_CREATED)
async def set_profile(
    station_id: StationId,
    body: ProfileIn,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> ProfileOut:
    _check(body)
    transaction = await _transaction(session, station_id, body.transaction_id)
    version = await booted_version(session, station_id)
    periods = tuple(Period(p.start_s, p.limit, p.phases) for p in body.periods)
    draft = Profile(
        0,
        body.stack_level,
        body.purpose,
        body.kind,
        body.unit,
        periods,
        body.recurrency,
        body.valid_from,
        body.valid_to,
        body.start,
        body.duration_s,
        body.min_rate,
        transaction,
    )
    try:  # refuse what the station's version cannot take before anything is stored
        gateway.translate(version, profiles.SetChargingProfile(body.evse_id, draft))
    except InvalidCommand as exc:
        raise HTTPException(422, str(exc)) from None
    row = await profiles.record(
        station_id,
        body.evse_id,
        body.purpose,
        body.stack_level,
        body.model_dump(mode="json"),
        uow=uow,
        clock=clock,
    )
    assert row.id is not None
    op = profiles.SetChargingProfile(body.evse_id, replace(draft, id=row.id))
    command = await send_and_wait(
        station_id, op, version, request, uow=uow, clock=clock, gateway=gateway, runner=runner
    )
    installed = command.status == CommandStatus.ACCEPTED
    new_status = ProfileStatus.INSTALLED if installed else ProfileStatus.REJECTED
    await profiles.set_status([row.id], new_status, uow=uow, clock=clock)
    if not installed:
        answer = (command.response or {}).get("status") or command.error
        raise HTTPException(409, f"Station did not install profile {row.id}: {answer}")
    row.status = new_status
    return ProfileOut.model_validate(row, from_attributes=True)


@router.get("/charging-profiles")
async def list_profiles(
    station_id: StationId, session: SessionDep, status: ProfileStatus | None = None
) -> list[ProfileOut]:
    query = select(ChargingProfileRow).where(col(ChargingProfileRow.station_id) == station_id)
    if status is not None:
        query = query.where(col(ChargingProfileRow.status) == status)
    rows = (await session.execute(query.order_by(col(ChargingProfileRow.id)))).scalars()
    return [ProfileOut.model_validate(r, from_attributes=True) for r in rows]


@router.delete("/charging-profiles")
async def clear_profiles(
    station_id: StationId,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
    profile_id: Annotated[int | None, Query()] = None,
    evse_id: Annotated[int | None, Query(ge=0)] = None,
    purpose: Purpose | None = None,
    stack_level: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """Clear by id or by criteria; what the station accepted is marked Cleared."""
    version = await booted_version(session, station_id)
    op = ClearChargingProfile(profile_id, evse_id, purpose, stack_level)
    command = await send_and_wait(
        station_id, op, version, request, uow=uow, clock=clock, gateway=gateway, runner=runner
    )
    if command.status != CommandStatus.ACCEPTED:
        answer = (command.response or {}).get("status") or command.error
        raise HTTPException(409, f"Station cleared nothing: {answer}")
    cleared = await profiles.matching(station_id, op, uow=uow)
    await profiles.set_status(cleared, ProfileStatus.CLEARED, uow=uow, clock=clock)
    return {"command_id": command.id, "cleared": cleared}


@router.post("/composite-schedule")
async def composite_schedule(
    station_id: StationId,
    body: CompositeIn,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> dict[str, Any]:
    """The schedule the station will actually follow, as it computes it."""
    version = await booted_version(session, station_id)
    op = GetCompositeSchedule(body.evse_id, body.duration_s, body.unit)
    command = await send_and_wait(
        station_id, op, version, request, uow=uow, clock=clock, gateway=gateway, runner=runner
    )
    if command.status != CommandStatus.ACCEPTED:
        answer = (command.response or {}).get("status") or command.error
        raise HTTPException(409, f"Station gave no schedule: {answer}")
    return {"command_id": command.id, "response": command.response}
