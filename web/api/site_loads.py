"""Operator API for site load management: the site's limit, a building meter's feed, and what
each session was given and drew over time."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer

from chargepoints import site_loads
from chargepoints.load_tables import AllocationRow, SiteLoadRow, SiteLoadSampleRow
from tariffs.currency import plain
from web.deps import ClockDep, DbId, PublisherDep, SessionDep, UowDep, actor

router = APIRouter(prefix="/api/v1/operator/sites/{site_id}/load", tags=["load management"])
Amount = Annotated[Decimal, Field(ge=0, le=Decimal(10) ** 9, decimal_places=3)]
Number = Annotated[Decimal, PlainSerializer(plain, return_type=str)]
"""A decimal as the shortest string, the same from either database ("12", not "12.000000")."""


class LoadIn(BaseModel):
    max_import: Amount = Field(description="The most the site may import: A per phase, or W")
    unit: Literal["A", "W"] = "A"
    min_current_a: Annotated[Decimal, Field(ge=0, le=80, decimal_places=1)] = Field(
        default=Decimal(6),
        description="Below this a vehicle cannot charge; a session gets 0 or at least this",
    )
    enabled: bool = True


class FeedIn(BaseModel):
    limit: Amount = Field(description="What the site may import now, in the site's unit")
    valid_for_s: int = Field(default=300, ge=1, le=86_400, description="After this the fixed maximum applies")


class AllocationOut(BaseModel):
    transaction_id: int
    station_id: str
    limit_a: Number
    status: str
    attempts: int
    sent_at: datetime | None


class LoadOut(BaseModel):
    site_id: int
    unit: str
    max_import: Number
    dynamic_limit: Number | None
    dynamic_until: datetime | None
    min_current_a: Number
    enabled: bool
    effective_limit: Number
    allocations: list[AllocationOut]


class SampleOut(BaseModel):
    at: datetime
    unit: str
    limit: Number
    allocated_a: Number
    measured_a: Number | None
    sessions: dict[str, dict[str, Any]]


def _out(row: SiteLoadRow, allocations: list[AllocationRow], now: datetime) -> LoadOut:
    return LoadOut(
        **row.model_dump(exclude={"updated_at"}),
        effective_limit=site_loads.effective_limit(row, now),
        allocations=[AllocationOut.model_validate(a, from_attributes=True) for a in allocations],
    )


def _missing(exc: Exception) -> HTTPException:
    return HTTPException(404, str(exc))


@router.get("")
async def get_load(site_id: DbId, session: SessionDep, clock: ClockDep) -> LoadOut:
    """The site's limit now and what each running session was given."""
    try:
        row = await site_loads.settings_of(session, site_id)
    except site_loads.SiteNotFound as exc:
        raise _missing(exc) from None
    if row is None:
        raise HTTPException(404, f"Site {site_id} has no load limit")
    return _out(row, await site_loads.allocations(session, site_id), clock.now())


@router.put("")
async def set_load(
    site_id: DbId,
    body: LoadIn,
    request: Request,
    uow: UowDep,
    session: SessionDep,
    clock: ClockDep,
    publisher: PublisherDep,
) -> LoadOut:
    """Set the site's grid connection; its sessions are shared out again at once."""
    if body.unit == "A" and body.min_current_a > body.max_import > 0:
        raise HTTPException(422, "min_current_a is above the site's maximum")
    wanted = site_loads.LoadSettings(body.max_import, body.unit, body.min_current_a, body.enabled)
    try:
        row = await site_loads.configure(
            site_id, wanted, actor(request), uow=uow, clock=clock, publisher=publisher
        )
    except site_loads.SiteNotFound as exc:
        raise _missing(exc) from None
    return _out(row, await site_loads.allocations(session, site_id), clock.now())


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def remove_load(
    site_id: DbId, request: Request, uow: UowDep, clock: ClockDep, publisher: PublisherDep
) -> None:
    """Stop managing the site's load."""
    try:
        await site_loads.remove(site_id, actor(request), uow=uow, clock=clock, publisher=publisher)
    except site_loads.NoSiteLimit as exc:
        raise _missing(exc) from None


@router.post("/feed")
async def feed_limit(
    site_id: DbId, body: FeedIn, uow: UowDep, session: SessionDep, clock: ClockDep, publisher: PublisherDep
) -> LoadOut:
    """A building meter's word on what the site may import now (e.g. every few seconds)."""
    try:
        row = await site_loads.feed(
            site_id,
            body.limit,
            timedelta(seconds=body.valid_for_s),
            uow=uow,
            clock=clock,
            publisher=publisher,
        )
    except site_loads.NoSiteLimit as exc:
        raise _missing(exc) from None
    return _out(row, await site_loads.allocations(session, site_id), clock.now())


@router.get("/history")
async def load_history(
    site_id: DbId,
    session: SessionDep,
    clock: ClockDep,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> list[SampleOut]:
    """The limit, the allocation per session and the measured current over time (default: the
    last hour)."""
    until = until or clock.now() + timedelta(seconds=1)
    since = since or until - timedelta(hours=1)
    try:
        rows: list[SiteLoadSampleRow] = await site_loads.history(session, site_id, since, until, limit)
    except site_loads.SiteNotFound as exc:
        raise _missing(exc) from None
    return [SampleOut.model_validate(r, from_attributes=True) for r in rows]
