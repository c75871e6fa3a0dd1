"""Stations for drivers: search nearby, one station with its live status, prices, opening hours
and QR codes, and its reviews. Only stations of the driver's tenant exist here; any other is 404."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from chargepoints import driver_queries, feedback
from chargepoints.driver_queries import NearbyStation, Search, StationInfo
from chargepoints.feedback import ReviewPublic
from web.api.operator import Page
from web.deps import NO_NUL, ClockDep, CurrentDriver, GatewayDep, PageDep, SessionDep, SettingsDep, UowDep
from web.qr import base_url, qr_payload

router = APIRouter(prefix="/api/v1/stations", tags=["stations"])
StationId = Annotated[str, Path(max_length=48, pattern=NO_NUL)]


@router.get("", response_model=Page[NearbyStation])
async def search(
    driver: CurrentDriver,
    uow: UowDep,
    gateway: GatewayDep,
    clock: ClockDep,
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, degrees")],
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, degrees")],
    radius_km: Annotated[float, Query(gt=0, le=100, allow_inf_nan=False)] = 10,
    connector_type: Annotated[str | None, Query(max_length=20, pattern=NO_NUL, examples=["cType2"])] = None,
    min_power_kw: Annotated[float | None, Query(ge=0, le=10_000, allow_inf_nan=False)] = None,
    available_now: Annotated[bool, Query(description="Only stations online with an EVSE free")] = False,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 20,
    offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
) -> Page[NearbyStation]:
    """The stations within ``radius_km`` of the point, nearest first; each with the price in force
    now. Filters apply to one connector together: type, power, and free now."""
    criteria = Search(
        latitude=lat,
        longitude=lon,
        radius_m=radius_km * 1000,
        connector_type=connector_type,
        min_power_w=None if min_power_kw is None else min_power_kw * 1000,
        available_now=available_now,
    )
    items, total = await driver_queries.nearby(
        criteria,
        tenant_id=driver.tenant_id,
        uow=uow,
        gateway=gateway,
        at=clock.now(),
        limit=limit,
        offset=offset,
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{station_id}")
async def get_station(
    station_id: StationId,
    driver: CurrentDriver,
    request: Request,
    uow: UowDep,
    gateway: GatewayDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> StationInfo:
    """EVSEs with their connectors and QR codes, whether the station is online, the price now and
    next, opening hours (and whether it is open now, in the site's zone), photos and rating."""
    found = await driver_queries.station_detail(
        station_id,
        tenant_id=driver.tenant_id,
        uow=uow,
        gateway=gateway,
        at=clock.now(),
        qr_for=partial(qr_payload, base_url(settings, request)),
    )
    if found is None:
        raise HTTPException(404, f"Station {station_id} not found")
    return found


@router.get("/{station_id}/reviews", response_model=Page[ReviewPublic])
async def reviews(
    station_id: StationId, driver: CurrentDriver, session: SessionDep, page: PageDep
) -> Page[ReviewPublic]:
    """Drivers' reviews of their sessions at the station, newest first."""
    found = await feedback.station_reviews(
        session, station_id, tenant_id=driver.tenant_id, limit=page.limit, offset=page.offset
    )
    if found is None:
        raise HTTPException(404, f"Station {station_id} not found")
    items, total = found
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
