"""Bulk operations for operators: one operation for a selection of stations, tracked as a job.

POST answers 202 with the job at once; its commands run in the background with bounded
concurrency, and ``GET /api/v1/operator/bulk/{id}?wait=`` shows each station's progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Self

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, StringConstraints, model_validator

from chargepoints import bulk, queries
from chargepoints.errors import StationNotFound
from chargepoints.operations import Operation, Reset, ResetKind
from web.api.operations import ChangeConfigurationIn
from web.deps import ClockDep, CommandsDep, GatewayDep, PageDep, SessionDep, UowDep, actor

router = APIRouter(prefix="/api/v1/operator/bulk", tags=["bulk operations"])
CONCURRENCY = 20
"""Calls in flight per job: enough to get through a fleet quickly, few enough that one job
cannot crowd out the database pool or the event loop."""
StationIdStr = Annotated[str, StringConstraints(min_length=1, max_length=48)]


class Selection(BaseModel):
    """Either explicit stations or every station of a site."""

    station_ids: list[StationIdStr] | None = Field(default=None, min_length=1, max_length=10_000)
    site_id: int | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if (self.station_ids is None) == (self.site_id is None):
            raise ValueError("give either station_ids or site_id")
        return self


class BulkConfigurationIn(ChangeConfigurationIn, Selection):
    pass


class BulkResetIn(Selection):
    kind: ResetKind = Field(default=ResetKind.ON_IDLE, description="OnIdle waits for sessions to end")


class Launch:
    """Queues a job for the selected stations and starts it once the response is on its way."""

    def __init__(
        self,
        request: Request,
        background: BackgroundTasks,
        session: SessionDep,
        uow: UowDep,
        clock: ClockDep,
        gateway: GatewayDep,
        runner: CommandsDep,
    ) -> None:
        self.request, self.background, self.session, self.uow = request, background, session, uow
        self.clock, self.gateway, self.runner = clock, gateway, runner

    async def stations(self, selection: Selection) -> list[str]:
        if selection.station_ids is not None:
            return list(dict.fromkeys(selection.station_ids))
        assert selection.site_id is not None
        found = await queries.site_station_ids(self.session, selection.site_id)
        if found is None:
            raise HTTPException(404, f"Site {selection.site_id} not found")
        if not found:
            raise HTTPException(422, f"Site {selection.site_id} has no stations")
        return found

    async def __call__(self, kind: str, operations: Mapping[str, Operation]) -> queries.BulkJobPublic:
        await self.session.commit()  # release the connection: SQLite has one, and queueing needs it
        try:
            job = await bulk.queue_job(
                kind,
                operations,
                requester=actor(self.request),
                uow=self.uow,
                gateway=self.gateway,
                clock=self.clock,
            )
        except StationNotFound as exc:
            raise HTTPException(404, f"Stations not found: {exc}") from None
        self.background.add_task(
            bulk.run_job, job, run=self.runner.run, gateway=self.gateway, concurrency=CONCURRENCY
        )
        found = await queries.bulk_job(self.session, job.id, limit=50, offset=0)
        await self.session.commit()  # and again, before the job starts and needs it
        assert found is not None
        return found


LaunchDep = Annotated[Launch, Depends()]


@router.post("/configuration", status_code=status.HTTP_202_ACCEPTED)
async def configuration(body: BulkConfigurationIn, launch: LaunchDep) -> queries.BulkJobPublic:
    """Change one setting: 1.6 stations get ChangeConfiguration of ``key``, 2.0.1 stations
    SetVariables of ``variable``; a station whose version has no name for it is skipped."""
    operation = body.operation()
    return await launch("configuration", dict.fromkeys(await launch.stations(body), operation))


@router.post("/reset", status_code=status.HTTP_202_ACCEPTED)
async def reset(body: BulkResetIn, launch: LaunchDep) -> queries.BulkJobPublic:
    operation = Reset(body.kind)
    return await launch("reset", dict.fromkeys(await launch.stations(body), operation))


@router.get("/{job_id}")
async def get_job(
    job_id: int,
    session: SessionDep,
    page: PageDep,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for the job to be done")] = 0,
) -> queries.BulkJobPublic:
    """Counts per status over all stations and one page of stations; with ``wait`` it answers as
    soon as every command is final (long polling)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        found = await queries.bulk_job(session, job_id, limit=page.limit, offset=page.offset)
        if found is None:
            raise HTTPException(404, f"Bulk job {job_id} not found")
        if found.done or loop.time() >= deadline:
            return found
        await session.rollback()  # end the read transaction so the next read sees new commits
        await asyncio.sleep(0.1)
