"""Use cases for CSMS-initiated commands, each one recorded in the command log.

A command is queued first (so the log shows it even if the process dies), then sent through the
StationGateway, and its outcome stored: accepted, rejected, timed out, failed or station offline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from chargepoints.errors import (
    ClusterUnavailable,
    CommandTimedOut,
    InvalidCommand,
    StationCallError,
    StationNotFound,
    StationOffline,
)
from chargepoints.model import CommandStatus
from chargepoints.ports import Clock, StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.rules.commands import outcome
from chargepoints.tables import CommandRow

log = logging.getLogger(__name__)


async def queue_command(
    station_id: str,
    action: str,
    payload: Mapping[str, Any],
    *,
    requester: str,
    uow: UnitOfWork,
    clock: Clock,
) -> int:
    async with uow:
        if await uow.chargepoints.station(station_id) is None:
            raise StationNotFound(station_id)
        row = CommandRow(
            station_id=station_id,
            action=action,
            payload=dict(payload),
            requester=requester,
            status=CommandStatus.QUEUED,
            created_at=clock.now(),
        )
        uow.chargepoints.add(row)
        await uow.chargepoints.flush()
        assert row.id is not None
        command_id = row.id
        await uow.commit()
    return command_id


async def run_command(
    command_id: int, *, uow: Callable[[], UnitOfWork], gateway: StationGateway, clock: Clock
) -> CommandRow:
    """Send a queued command and record how it ended; never raises for the station's answer."""
    async with uow() as unit:
        row = await unit.session.get(CommandRow, command_id)
        if row is None:
            raise LookupError(f"command {command_id} does not exist")
        row.status, row.sent_at = CommandStatus.SENT, clock.now()
        station_id, action, payload = row.station_id, row.action, dict(row.payload)
        await unit.commit()
    response: dict[str, Any] | None = None
    try:
        response = await gateway.call(station_id, action, payload)
        status, error = outcome(response), None
    except StationOffline:
        status, error = CommandStatus.STATION_OFFLINE, f"station {station_id} is not connected"
    except CommandTimedOut as exc:
        status, error = CommandStatus.TIMED_OUT, str(exc) or "no answer in time"
    except (StationCallError, InvalidCommand, ClusterUnavailable) as exc:
        status, error = CommandStatus.FAILED, str(exc)
    except Exception as exc:  # e.g. the socket broke mid-send: record it, never leave it "sent"
        log.exception("command %s to %s failed unexpectedly", command_id, station_id)
        status, error = CommandStatus.FAILED, f"{type(exc).__name__}: {exc}"
    return await _finish(command_id, status, response, error, uow=uow, clock=clock)


async def _finish(
    command_id: int,
    status: CommandStatus,
    response: dict[str, Any] | None,
    error: str | None,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
) -> CommandRow:
    async with uow() as unit:
        row = await unit.session.get(CommandRow, command_id)
        assert row is not None
        row.status, row.response, row.completed_at = status, response, clock.now()
        row.error = None if error is None else error[:500]
        await unit.commit()
    return row
