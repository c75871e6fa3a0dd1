"""Read models for drivers: stations near a point and one station's detail.

A driver sees only the stations of sites that belong to the driver's tenant, and never a station
an operator has set Rejected (taken out of service); anything else reads as "not found". An
offline station's last reported status is stale, so it shows its EVSEs Unavailable and counts
none as available.

Search scales to many sites: SQL keeps the sites inside a latitude/longitude box around the
point (the box holds the circle), and the exact great-circle distance finishes in Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select
from sqlmodel.sql.expression import Select

from chargepoints.feedback_tables import ReviewRow
from chargepoints.model import ConnectorStatus, RegistrationStatus
from chargepoints.ports import StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.rules.opening_hours import is_open
from chargepoints.tables import ConnectorRow, EvseRow, SiteRow, StationRow
from tariffs.pricing import band_at, next_change
from tariffs.services import tariff_for

EARTH_RADIUS_M = 6_371_008.8  # the mean radius: haversine is good to about 0.5 % with it
CHUNK = 500  # ids per IN (...): far below every database's bound-parameter limit
UNKNOWN = "Unknown"  # the status of an EVSE no connector has reported for
_STATUS_ORDER = ("Occupied", "Reserved", "Available", "Faulted", "Unavailable")  # ConnectorStatus
T = TypeVar("T")


class PricePeriod(SQLModel):
    """One band of the station's tariff: fees per kWh, net of tax, in the tariff's currency.

    ``starts_at`` is None for the band in force now; ``ends_at`` is None when no other band
    comes within a week (a flat tariff)."""

    band: str
    energy_fee: Decimal
    service_fee: Decimal
    currency: str
    starts_at: datetime | None
    ends_at: datetime | None


class StationPrice(SQLModel):
    now: PricePeriod
    next: PricePeriod | None


class Rating(SQLModel):
    average: float | None
    count: int


class NearbyStation(SQLModel):
    station_id: str
    site_name: str
    address: str | None
    latitude: float
    longitude: float
    distance_m: int
    online: bool
    evses_available: int
    evses_total: int
    connector_types: list[str]
    max_power_kw: float | None
    price: PricePeriod | None
    rating: Rating


class ConnectorInfo(SQLModel):
    connector_id: int
    type: str | None
    status: str
    max_power_kw: float | None


class EvseInfo(SQLModel):
    evse_id: int
    status: str
    max_power_kw: float | None
    qr: str
    connectors: list[ConnectorInfo]


class StationInfo(SQLModel):
    station_id: str
    site_name: str
    address: str | None
    latitude: float | None
    longitude: float | None
    time_zone: str
    online: bool
    last_seen_at: datetime | None
    evses: list[EvseInfo]
    price: StationPrice | None
    opening_hours: dict[str, Any] | None
    open_now: bool | None
    photos: list[str]
    rating: Rating


@dataclass(frozen=True, slots=True)
class Search:
    """Where and what a driver looks for; a connector must meet every filter given."""

    latitude: float
    longitude: float
    radius_m: float
    connector_type: str | None = None
    min_power_w: float | None = None
    available_now: bool = False


@dataclass(frozen=True, slots=True)
class _Found:
    distance_m: float
    station: StationRow
    site: SiteRow


@dataclass(frozen=True, slots=True)
class _Evse:
    evse_id: int
    status: str
    max_power_w: int | None
    connectors: tuple[ConnectorRow, ...]
    power: Mapping[int, int | None]  # each connector's, falling back to the EVSE's


async def nearby(
    search: Search,
    *,
    tenant_id: int,
    uow: UnitOfWork,
    gateway: StationGateway,
    at: datetime,
    limit: int,
    offset: int,
) -> tuple[list[NearbyStation], int]:
    """The tenant's stations within the radius that pass the filters, nearest first (one page),
    and how many there are in all. Prices and ratings are looked up for the page only."""
    async with uow:
        query = _visible(tenant_id).where(_in_box(search))
        found = [
            _Found(distance, station, site)
            for station, site in (await uow.session.execute(query)).all()
            if (distance := _distance_m(search, site)) <= search.radius_m
        ]
        ids = [entry.station.id for entry in found]
        evses, online = await _evses(uow.session, ids), await gateway.connected(ids)
        matches = [e for e in found if _matches(search, evses.get(e.station.id, []), e.station.id in online)]
        matches.sort(key=lambda entry: (entry.distance_m, entry.station.id))
        page = matches[offset : offset + limit]
        ratings = await _ratings(uow.session, [entry.station.id for entry in page])
        items = []
        for entry in page:
            station_id = entry.station.id
            price = await _price(uow, station_id, at)
            items.append(
                _nearby_item(
                    entry, evses.get(station_id, []), station_id in online, price, ratings.get(station_id)
                )
            )
    return items, len(matches)


def _nearby_item(
    entry: _Found, evses: list[_Evse], online: bool, price: StationPrice | None, rating: Rating | None
) -> NearbyStation:
    assert entry.site.latitude is not None and entry.site.longitude is not None
    return NearbyStation(
        station_id=entry.station.id,
        site_name=entry.site.name,
        address=entry.site.address,
        latitude=entry.site.latitude,
        longitude=entry.site.longitude,
        distance_m=round(entry.distance_m),
        online=online,
        evses_available=sum(evse.status == ConnectorStatus.AVAILABLE for evse in evses) if online else 0,
        evses_total=len(evses),
        connector_types=sorted({row.type for evse in evses for row in evse.connectors if row.type}),
        max_power_kw=_kw(max(filter(None, map(_evse_power, evses)), default=None)),
        price=None if price is None else price.now,
        rating=rating or Rating(average=None, count=0),
    )


async def station_detail(
    station_id: str,
    *,
    tenant_id: int,
    uow: UnitOfWork,
    gateway: StationGateway,
    at: datetime,
    qr_for: Callable[[str, int], str],
) -> StationInfo | None:
    """The station as a driver sees it, or None if the driver may not see it. ``qr_for`` gives
    the payload printed on an EVSE (the edge knows the public URL)."""
    async with uow:
        found = await _visible_one(uow.session, station_id, tenant_id)
        if found is None:
            return None
        station, site = found
        online = station_id in await gateway.connected([station_id])
        evses = (await _evses(uow.session, [station_id])).get(station_id, [])
        ratings = await _ratings(uow.session, [station_id])
        return StationInfo(
            station_id=station_id,
            site_name=site.name,
            address=site.address,
            latitude=site.latitude,
            longitude=site.longitude,
            time_zone=site.time_zone,
            online=online,
            last_seen_at=station.last_seen_at,
            evses=[_evse_info(station_id, evse, online, qr_for) for evse in evses],
            price=await _price(uow, station_id, at),
            opening_hours=site.opening_hours,
            open_now=is_open(site.opening_hours, at, ZoneInfo(site.time_zone)),
            photos=list(site.photos),
            rating=ratings.get(station_id, Rating(average=None, count=0)),
        )


async def visible_station(session: AsyncSession, station_id: str, *, tenant_id: int) -> StationRow | None:
    """The station if a driver of the tenant may see it."""
    found = await _visible_one(session, station_id, tenant_id)
    return None if found is None else found[0]


async def _visible_one(
    session: AsyncSession, station_id: str, tenant_id: int
) -> tuple[StationRow, SiteRow] | None:
    found = (await session.execute(_visible(tenant_id).where(col(StationRow.id) == station_id))).first()
    return None if found is None else (found[0], found[1])


def _visible(tenant_id: int) -> Select[StationRow, SiteRow]:
    return (
        select(StationRow, SiteRow)
        .join(SiteRow, col(SiteRow.id) == col(StationRow.site_id))
        .where(
            col(SiteRow.tenant_id) == tenant_id,
            col(StationRow.registration_status) != RegistrationStatus.REJECTED,
        )
    )


def _in_box(search: Search) -> ColumnElement[bool]:
    """Sites inside the latitude/longitude box that holds the search circle; across the
    antimeridian the longitudes wrap, and near a pole every longitude is in."""
    lat, lon = col(SiteRow.latitude), col(SiteRow.longitude)
    angle = search.radius_m / EARTH_RADIUS_M
    d_lat = math.degrees(angle)
    low, high = search.latitude - d_lat, search.latitude + d_lat
    ratio = math.sin(angle) / math.cos(math.radians(search.latitude)) if abs(search.latitude) < 90 else 2.0
    box = and_(lat.is_not(None), lon.is_not(None), lat >= low, lat <= high)
    if low <= -90 or high >= 90 or ratio >= 1:
        return box
    d_lon = math.degrees(math.asin(ratio))
    west, east = search.longitude - d_lon, search.longitude + d_lon
    if west < -180:
        return and_(box, or_(lon >= west + 360, lon <= east))
    if east > 180:
        return and_(box, or_(lon >= west, lon <= east - 360))
    return and_(box, lon >= west, lon <= east)


def _distance_m(search: Search, site: SiteRow) -> float:
    """Great-circle distance by the haversine formula."""
    assert site.latitude is not None and site.longitude is not None
    lat1, lat2 = math.radians(search.latitude), math.radians(site.latitude)
    d_lat, d_lon = lat2 - lat1, math.radians(site.longitude - search.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


async def _evses(session: AsyncSession, station_ids: Sequence[str]) -> dict[str, list[_Evse]]:
    """Each station's EVSEs with their connectors, in id order (EVSE 0, the station, left out)."""
    connectors: dict[tuple[str, int], list[ConnectorRow]] = {}
    powers: dict[tuple[str, int], int | None] = {}
    for chunk in _chunks(station_ids):
        query = select(ConnectorRow).where(
            col(ConnectorRow.station_id).in_(chunk), col(ConnectorRow.evse_id) > 0
        )
        for row in (await session.execute(query.order_by(col(ConnectorRow.connector_id)))).scalars():
            connectors.setdefault((row.station_id, row.evse_id), []).append(row)
        query_evses = select(EvseRow).where(col(EvseRow.station_id).in_(chunk), col(EvseRow.evse_id) > 0)
        for evse in (await session.execute(query_evses)).scalars():
            powers[evse.station_id, evse.evse_id] = evse.max_power_w
    found: dict[str, list[_Evse]] = {}
    for key in sorted(connectors.keys() | powers.keys()):
        rows = tuple(connectors.get(key, ()))
        evse_power = powers.get(key)
        power = {row.connector_id: row.max_power_w or evse_power for row in rows}
        status = _evse_status([row.status for row in rows])
        found.setdefault(key[0], []).append(_Evse(key[1], status, evse_power, rows, power))
    return found


def _evse_status(statuses: Sequence[str]) -> str:
    """One connector in use makes the EVSE busy (it charges through one connector at a time);
    one free connector makes it free, though another is faulted."""
    return next((str(status) for status in _STATUS_ORDER if status in statuses), UNKNOWN)


def _matches(search: Search, evses: Iterable[_Evse], online: bool) -> bool:
    """Whether one connector meets every filter of the search."""
    wanted = search.connector_type.casefold() if search.connector_type else None
    for evse in evses:
        if search.available_now and not (online and evse.status == ConnectorStatus.AVAILABLE):
            continue
        for connector in evse.connectors:
            power = evse.power[connector.connector_id]
            if wanted is not None and (connector.type or "").casefold() != wanted:
                continue
            if search.min_power_w is not None and (power is None or power < search.min_power_w):
                continue
            return True
    return False


def _evse_power(evse: _Evse) -> int | None:
    return max((p for p in (evse.max_power_w, *evse.power.values()) if p is not None), default=None)


def _evse_info(station_id: str, evse: _Evse, online: bool, qr_for: Callable[[str, int], str]) -> EvseInfo:
    return EvseInfo(
        evse_id=evse.evse_id,
        status=evse.status if online else ConnectorStatus.UNAVAILABLE,
        max_power_kw=_kw(_evse_power(evse)),
        qr=qr_for(station_id, evse.evse_id),
        connectors=[
            ConnectorInfo(
                connector_id=row.connector_id,
                type=row.type,
                status=row.status if online else ConnectorStatus.UNAVAILABLE,
                max_power_kw=_kw(evse.power[row.connector_id]),
            )
            for row in evse.connectors
        ],
    )


def _kw(watts: int | None) -> float | None:
    return None if watts is None else watts / 1000


async def _ratings(session: AsyncSession, station_ids: Sequence[str]) -> dict[str, Rating]:
    found: dict[str, Rating] = {}
    for chunk in _chunks(station_ids):
        query = (
            select(ReviewRow.station_id, func.avg(ReviewRow.rating), func.count())
            .where(col(ReviewRow.station_id).in_(chunk))
            .group_by(col(ReviewRow.station_id))
        )
        for station_id, average, count in (await session.execute(query)).all():
            found[station_id] = Rating(average=round(float(average), 2), count=count)
    return found


async def _price(uow: UnitOfWork, station_id: str, at: datetime) -> StationPrice | None:
    """The band of the station's tariff in force at ``at`` and the one after it, if any."""
    pinned = await tariff_for(uow, station_id, None, at)
    if pinned is None:
        return None
    tariff, zone = pinned.tariff, ZoneInfo(pinned.time_zone)

    def period(start: datetime, starts_at: datetime | None) -> PricePeriod:
        band = band_at(tariff, start, zone)
        return PricePeriod(
            band=band.name,
            energy_fee=band.energy_fee,
            service_fee=band.service_fee,
            currency=tariff.currency,
            starts_at=starts_at,
            ends_at=next_change(tariff, start, zone),
        )

    now = period(at, None)
    return StationPrice(now=now, next=None if now.ends_at is None else period(now.ends_at, now.ends_at))


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
