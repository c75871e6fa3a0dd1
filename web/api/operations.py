"""Typed operator commands: one endpoint per operation, the same for 1.6 and 2.0.1 stations.

Each is queued in the command log and answered 202 with the command; ``GET
/api/v1/operator/commands/{id}?wait=`` gives the outcome.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, Field

from chargepoints import commands, queries
from chargepoints.errors import InvalidCommand
from chargepoints.operations import ClearCache, Operation, Reset, ResetKind
from web.deps import ClockDep, CommandsDep, GatewayDep, SessionDep, UowDep

router = APIRouter(prefix="/api/v1/operator/stations/{station_id}", tags=["operations"])
StationId = Annotated[str, Path(max_length=48)]


async def operate(
    station_id: str,
    operation: Operation,
    request: Request,
    *,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> queries.CommandPublic:
    """Translate for the station's version, queue, start, and return the queued command."""
    version = await queries.station_version(session, station_id)
    await session.commit()  # release the connection: SQLite has one, and queueing needs it
    if version is None:
        raise HTTPException(404, f"Station {station_id} not found")
    if version == "":
        raise HTTPException(409, f"Station {station_id} has not booted yet, so its OCPP version is unknown")
    try:
        action, payload = gateway.translate(version, operation)
        gateway.check(station_id, action, payload)
    except InvalidCommand as exc:
        raise HTTPException(422, str(exc)) from None
    requester = f"api@{request.client.host if request.client else 'unknown'}"
    command_id = await commands.queue_command(
        station_id, action, payload, requester=requester, uow=uow, clock=clock
    )
    runner.start(command_id)
    queued = await queries.command(session, command_id)
    assert queued is not None
    return queued


class ResetIn(BaseModel):
    kind: ResetKind = Field(default=ResetKind.ON_IDLE, description="OnIdle waits for sessions to end")
    evse_id: int | None = Field(default=None, ge=1, description="2.0.1 only: reset one EVSE")


@router.post("/reset", status_code=status.HTTP_202_ACCEPTED)
async def reset(
    station_id: StationId,
    body: ResetIn,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> queries.CommandPublic:
    return await operate(
        station_id,
        Reset(body.kind, body.evse_id),
        request,
        session=session,
        uow=uow,
        clock=clock,
        gateway=gateway,
        runner=runner,
    )


@router.post("/clear-cache", status_code=status.HTTP_202_ACCEPTED)
async def clear_cache(
    station_id: StationId,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> queries.CommandPublic:
    return await operate(
        station_id,
        ClearCache(),
        request,
        session=session,
        uow=uow,
        clock=clock,
        gateway=gateway,
        runner=runner,
    )
