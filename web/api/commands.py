"""Operator API for CSMS-initiated commands: queue one, call and wait, read the command log."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field

from chargepoints import commands, queries
from chargepoints.errors import InvalidCommand, StationNotFound
from chargepoints.model import CommandStatus
from web.api.operator import Page
from web.deps import ClockDep, CommandsDep, DbId, GatewayDep, PageDep, SessionDep, UowDep, actor

router = APIRouter(prefix="/api/v1/operator", tags=["commands"])
StationId = Annotated[str, Path(max_length=48)]

# Where each final status lands in HTTP terms for the synchronous call endpoint.
_CALL_ERRORS = {
    CommandStatus.STATION_OFFLINE: (409, "station-offline"),
    CommandStatus.TIMED_OUT: (504, "station-timeout"),
    CommandStatus.FAILED: (502, "station-call-failed"),
}


class CommandRequest(BaseModel):
    action: str = Field(max_length=50, examples=["Reset"])
    payload: dict[str, Any] = Field(default_factory=dict, examples=[{"type": "Soft"}])


async def _queue(
    station_id: str, body: CommandRequest, request: Request, uow: UowDep, clock: ClockDep, gateway: GatewayDep
) -> int:
    try:
        gateway.check(station_id, body.action, body.payload)
    except InvalidCommand as exc:
        raise HTTPException(422, str(exc)) from None
    try:
        return await commands.queue_command(
            station_id, body.action, body.payload, requester=actor(request), uow=uow, clock=clock
        )
    except StationNotFound:
        raise HTTPException(404, f"Station {station_id} not found") from None


@router.post("/stations/{station_id}/commands", status_code=status.HTTP_202_ACCEPTED)
async def queue_command(
    station_id: StationId,
    body: CommandRequest,
    request: Request,
    uow: UowDep,
    clock: ClockDep,
    runner: CommandsDep,
    session: SessionDep,
    gateway: GatewayDep,
) -> queries.CommandPublic:
    """Queue any CSMS-initiated message; poll ``GET /commands/{id}?wait=`` for its outcome."""
    command_id = await _queue(station_id, body, request, uow, clock, gateway)
    runner.start(command_id)
    found = await queries.command(session, command_id)
    assert found is not None
    return found


@router.post("/stations/{station_id}/call")
async def call(
    station_id: StationId,
    body: CommandRequest,
    request: Request,
    uow: UowDep,
    clock: ClockDep,
    runner: CommandsDep,
    gateway: GatewayDep,
) -> dict[str, Any]:
    """Send any CSMS-initiated message (schema-checked for the station's version) and return
    the station's response. It is logged like every other command."""
    command_id = await _queue(station_id, body, request, uow, clock, gateway)
    row = await runner.run(command_id)
    error = _CALL_ERRORS.get(CommandStatus(row.status))
    if error is not None:
        code, kind = error
        raise HTTPException(code, f"{kind}: {row.error} (command {command_id})")
    return {"command_id": command_id, "status": row.status, "response": row.response}


@router.get("/commands", response_model=Page[queries.CommandPublic])
async def list_commands(
    session: SessionDep,
    page: PageDep,
    station_id: Annotated[str | None, Query(max_length=48)] = None,
    status: CommandStatus | None = None,
) -> Page[queries.CommandPublic]:
    items, total = await queries.list_commands(
        session, station_id=station_id, status=status, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/commands/{command_id}")
async def get_command(
    command_id: DbId,
    session: SessionDep,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for a final status")] = 0,
) -> queries.CommandPublic:
    """The command; with ``wait`` it answers as soon as the command is final (long polling)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        found = await queries.command(session, command_id)
        if found is None:
            raise HTTPException(404, f"Command {command_id} not found")
        if CommandStatus(found.status).final or loop.time() >= deadline:
            return found
        await session.rollback()  # end the read transaction so the next read sees new commits
        await asyncio.sleep(0.1)
