"""Operator API for charging profiles: set (stored, then installed or rejected by the station),
clear, list, and the composite schedule: the station's own, and ours from the profiles it took."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlmodel import col, select

from chargepoints import profiles, queries
from chargepoints.errors import InvalidCommand
from chargepoints.model import CommandStatus
from chargepoints.profiles import ClearChargingProfile, GetCompositeSchedule, Period, Profile, ProfileStatus
from chargepoints.rules.charging_profiles import Step, composite, differences, in_force, problems
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


def as_profile(body: ProfileIn, transaction: dict[str, Any], profile_id: int = 0) -> Profile:
    periods = tuple(Period(p.start_s, p.limit, p.phases) for p in body.periods)
    return Profile(
        profile_id,
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


async def _checked(session: SessionDep, station_id: str, body: ProfileIn, version: str) -> Profile:
    """The profile to send. Everything OCPP `version` objects to is a 422 shaped like every other
    (problem JSON listing each reason in `errors`); a TxProfile's transaction must run here (409)."""
    # Checked with our transaction id standing in, so a misplaced one is a 422, not a lookup.
    draft = as_profile(body, {} if body.transaction_id is None else {"id": body.transaction_id})
    found = problems(draft, body.evse_id, version)
    if found:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": text, "type": "value_error"} for text in found]
        )
    return replace(draft, transaction=await _transaction(session, station_id, body.transaction_id))


async def _transaction(session: SessionDep, station_id: str, transaction_id: int | None) -> dict[str, Any]:
    """The running transaction a TxProfile is for; releases the connection like booted_version."""
    if transaction_id is None:
        return {}
    tx = await session.get(TransactionRow, transaction_id)
    if tx is None or tx.station_id != station_id or tx.state != "Active":
        raise HTTPException(409, f"Transaction {transaction_id} is not running on {station_id}")
    found = {"id": tx.id, "station_tx_id": tx.station_tx_id}
    await session.commit()
    return found


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
    version = await booted_version(session, station_id)
    draft = await _checked(session, station_id, body, version)
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
    """The schedule the station will actually follow, as it computes it, beside ours from the
    profiles it installed and where the two differ (ours counted from the station's start)."""
    version = await booted_version(session, station_id)
    op = GetCompositeSchedule(body.evse_id, body.duration_s, body.unit)
    command = await send_and_wait(
        station_id, op, version, request, uow=uow, clock=clock, gateway=gateway, runner=runner
    )
    if command.status != CommandStatus.ACCEPTED:
        answer = (command.response or {}).get("status") or command.error
        raise HTTPException(409, f"Station gave no schedule: {answer}")
    start, unit, theirs = _reported(command.response or {})
    begin = start or clock.now()
    held, session_start = await _installed(session, station_id, body.evse_id)
    span = (body.evse_id, begin, body.duration_s)
    ours = composite(held, *span, unit or body.unit or "A", session_start=session_start)
    computed = composite(held, *span, body.unit or "A", session_start=session_start)
    return {
        "command_id": command.id,
        "response": command.response,
        "computed": [_step(s) for s in computed],
        "differences": differences(ours, theirs),
    }


@router.get("/composite-schedule")
async def computed_schedule(
    station_id: StationId,
    session: SessionDep,
    clock: ClockDep,
    duration_s: Annotated[int, Query(gt=0, le=7 * 86_400)],
    evse_id: Annotated[int, Query(ge=0)] = 0,
    unit: Literal["A", "W"] = "A",
) -> dict[str, Any]:
    """Our composite schedule from the profiles the station installed, from now; no round trip,
    so it answers for an offline station too."""
    if await queries.station_version(session, station_id) is None:
        raise HTTPException(404, f"Station {station_id} not found")
    begin = clock.now()
    held, session_start = await _installed(session, station_id, evse_id)
    steps = composite(held, evse_id, begin, duration_s, unit, session_start=session_start)
    return {"start": begin, "duration_s": duration_s, "unit": unit, "computed": [_step(s) for s in steps]}


def _step(step: Step) -> dict[str, Any]:
    return {"start_s": step.start_s, "limit": step.limit, "phases": step.phases}


async def _installed(
    session: SessionDep, station_id: str, evse_id: int
) -> tuple[list[tuple[int, Profile]], datetime | None]:
    """The profiles the station holds, as it keeps them, and when the session on the EVSE began."""
    running = None
    if evse_id:
        query = select(TransactionRow).where(
            col(TransactionRow.station_id) == station_id,
            col(TransactionRow.evse_id) == evse_id,
            col(TransactionRow.state) == "Active",
        )
        running = (await session.execute(query.order_by(col(TransactionRow.id).desc()))).scalars().first()
    query_rows = (
        select(ChargingProfileRow)
        .where(
            col(ChargingProfileRow.station_id) == station_id,
            col(ChargingProfileRow.status) == ProfileStatus.INSTALLED,
        )
        .order_by(col(ChargingProfileRow.id))
    )
    history: list[tuple[int, Profile]] = []
    for row in (await session.execute(query_rows)).scalars():
        try:
            body = ProfileIn.model_validate(row.definition)
        except ValidationError:
            continue  # not a profile this API defined (it cannot say what it limits)
        if body.purpose == "TxProfile" and (running is None or body.transaction_id != running.id):
            continue  # a station drops a TxProfile when its transaction ends
        history.append((row.evse_id, as_profile(body, {}, row.id or 0)))
    return in_force(history), None if running is None else running.started_at


def _reported(response: dict[str, Any]) -> tuple[datetime | None, str | None, list[Step]]:
    """(start, unit, steps) of a station's composite schedule: 2.0.1 answers with `schedule`,
    1.6 with `chargingSchedule` (its start there or beside it as `scheduleStart`)."""
    schedule = response.get("schedule") or response.get("chargingSchedule") or {}
    start = schedule.get("scheduleStart") or schedule.get("startSchedule") or response.get("scheduleStart")
    steps = [
        Step(int(p["startPeriod"]), float(p["limit"]), p.get("numberPhases"))
        for p in schedule.get("chargingSchedulePeriod") or []
    ]
    return (
        None if start is None else datetime.fromisoformat(start),
        schedule.get("chargingRateUnit"),
        steps,
    )
