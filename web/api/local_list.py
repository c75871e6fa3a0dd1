"""Operator API for a station's local authorisation list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel

from chargepoints import local_list
from chargepoints.errors import StationNotFound
from chargepoints.local_list import GetLocalListVersion
from chargepoints.model import CommandStatus
from chargepoints.tables import LocalListRow
from web.api.dispatch import booted_version, send_and_wait
from web.deps import ClockDep, CommandsDep, GatewayDep, SessionDep, UowDep

router = APIRouter(prefix="/api/v1/operator/stations/{station_id}/local-list", tags=["local list"])
StationId = Annotated[str, Path(max_length=48)]


class LocalListUpdate(BaseModel):
    differential: bool = False


class LocalListState(BaseModel):
    version: int | None
    entries: int
    sent_at: datetime | None
    command_id: int | None = None
    update_type: str | None = None
    sent_entries: int | None = None


@router.get("")
async def current(station_id: StationId, session: SessionDep) -> LocalListState:
    """The list the station last accepted, as the CSMS recorded it."""
    row = await session.get(LocalListRow, station_id)
    if row is None:
        return LocalListState(version=None, entries=0, sent_at=None)
    return LocalListState(version=row.version, entries=len(row.entries), sent_at=row.sent_at)


@router.post("")
async def send(
    station_id: StationId,
    body: LocalListUpdate,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> LocalListState:
    """Send the id token table as the station's local list; on VersionMismatch send it in full."""
    version = await booted_version(session, station_id)
    try:
        op, entries = await local_list.prepare(
            station_id, differential=body.differential, uow=uow, clock=clock
        )
    except StationNotFound:
        raise HTTPException(404, f"Station {station_id} not found") from None
    command = await send_and_wait(
        station_id, op, version, request, uow=uow, clock=clock, gateway=gateway, runner=runner
    )
    if command.status != CommandStatus.ACCEPTED:
        answer = (command.response or {}).get("status") or command.error
        raise HTTPException(409, f"Station did not take list version {op.version}: {answer}")
    await local_list.record_accepted(station_id, op.version, entries, uow=uow, clock=clock)
    return LocalListState(
        version=op.version,
        entries=len(entries),
        sent_at=clock.now(),
        command_id=command.id,
        update_type="Full" if op.full else "Differential",
        sent_entries=len(op.entries),
    )


@router.post("/version")
async def station_version(
    station_id: StationId,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> dict[str, Any]:
    """Ask the station which list version it holds (GetLocalListVersion)."""
    version = await booted_version(session, station_id)
    command = await send_and_wait(
        station_id,
        GetLocalListVersion(),
        version,
        request,
        uow=uow,
        clock=clock,
        gateway=gateway,
        runner=runner,
    )
    if command.status != CommandStatus.ACCEPTED or command.response is None:
        raise HTTPException(409, f"Station did not answer: {command.error}")
    response = command.response
    return {"command_id": command.id, "version": response.get("listVersion", response.get("versionNumber"))}
