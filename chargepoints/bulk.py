"""Bulk operations: an operation for each of many stations, every one a command in the log.

A job is queued in one transaction (an item per station, naming its command or why none could
be sent), then its commands run with bounded concurrency, so a fleet-wide change neither opens
thousands of calls at once nor waits for each station in turn. Any station -> operation mapping
makes a job, whatever the operation.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chargepoints import queries
from chargepoints.errors import InvalidCommand, StationNotFound
from chargepoints.model import CommandStatus
from chargepoints.operations import Operation
from chargepoints.ports import Clock, StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.tables import BulkJobItemRow, BulkJobRow, CommandRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueuedJob:
    id: int
    commands: dict[str, int]
    """Station id -> command id, for the stations that got a command."""


async def queue_job(
    kind: str,
    operations: Mapping[str, Operation],
    *,
    requester: str,
    uow: UnitOfWork,
    gateway: StationGateway,
    clock: Clock,
) -> QueuedJob:
    """Queue one command per station. A station whose version cannot take its operation (or
    that never booted) gets an item with the reason instead; an unknown station refuses the
    whole job with StationNotFound naming every unknown id, so a typo queues nothing."""
    async with uow:
        versions = await queries.station_versions(uow.session, operations)
        missing = [station_id for station_id in operations if station_id not in versions]
        if missing:
            raise StationNotFound(", ".join(missing))
        now = clock.now()
        job = BulkJobRow(kind=kind, requester=requester, created_at=now)
        uow.chargepoints.add(job)
        commands: dict[str, CommandRow] = {}
        refused: dict[str, str] = {}
        for station_id, operation in operations.items():
            try:
                action, payload = _message(station_id, versions[station_id], operation, gateway)
            except InvalidCommand as exc:
                refused[station_id] = str(exc)[:500]
                continue
            commands[station_id] = CommandRow(
                station_id=station_id,
                action=action,
                payload=payload,
                requester=requester,
                status=CommandStatus.QUEUED,
                created_at=now,
            )
        uow.chargepoints.add_all(commands.values())
        await uow.chargepoints.flush()
        assert job.id is not None
        queued = {station_id: row.id for station_id, row in commands.items() if row.id is not None}
        uow.chargepoints.add_all(
            [BulkJobItemRow(job_id=job.id, station_id=s, command_id=c) for s, c in queued.items()]
            + [BulkJobItemRow(job_id=job.id, station_id=s, error=e) for s, e in refused.items()]
        )
        await uow.commit()
    return QueuedJob(job.id, queued)


def _message(
    station_id: str, version: str, operation: Operation, gateway: StationGateway
) -> tuple[str, dict[str, Any]]:
    if not version:
        raise InvalidCommand(f"station {station_id} has not booted yet, so its OCPP version is unknown")
    action, payload = gateway.translate(version, operation)
    gateway.check(station_id, action, payload)
    return action, payload


async def run_job(
    job: QueuedJob,
    *,
    run: Callable[[int], Awaitable[object]],
    gateway: StationGateway,
    concurrency: int,
) -> None:
    """Run the job's commands through ``run``, at most ``concurrency`` at a time.

    Offline stations go first: their commands end at once as station_offline, so the job's
    progress shows them without their waiting behind stations that take their time to answer.
    """
    online = await gateway.connected(job.commands)
    pending = deque(sorted(job.commands.items(), key=lambda item: item[0] in online))

    async def worker() -> None:
        while pending:
            station_id, command_id = pending.popleft()
            try:
                await run(command_id)
            except Exception:  # one lost command (a database hiccup, say) must not strand the rest
                log.exception("bulk job %s: command %s to %s failed", job.id, command_id, station_id)

    async with asyncio.TaskGroup() as workers:
        for _ in range(min(concurrency, len(pending))):
            workers.create_task(worker())
