"""Sending an operation and waiting for its outcome, for endpoints that answer synchronously."""

from __future__ import annotations

from fastapi import HTTPException, Request

from chargepoints import commands, queries
from chargepoints.errors import InvalidCommand
from chargepoints.operations import Operation
from chargepoints.tables import CommandRow
from web.deps import ClockDep, CommandsDep, GatewayDep, SessionDep, UowDep, actor


async def send_and_wait(
    station_id: str,
    operation: Operation,
    version: str,
    request: Request,
    *,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> CommandRow:
    """Translate for the station's version, log, send and wait for the outcome."""
    try:
        action, payload = gateway.translate(version, operation)
        gateway.check(station_id, action, payload)
    except InvalidCommand as exc:
        raise HTTPException(422, str(exc)) from None
    command_id = await commands.queue_command(
        station_id, action, payload, requester=actor(request), uow=uow, clock=clock
    )
    return await runner.run(command_id)


async def booted_version(session: SessionDep, station_id: str) -> str:
    """The station's OCPP version: 404 if unknown, 409 if it never booted. Releases the
    request's connection afterwards, since SQLite has only one and the command log needs it."""
    version = await queries.station_version(session, station_id)
    await session.commit()
    if version is None:
        raise HTTPException(404, f"Station {station_id} not found")
    if not version:
        raise HTTPException(409, f"Station {station_id} has not booted yet, so its OCPP version is unknown")
    return version
