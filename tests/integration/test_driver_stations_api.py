"""Stations for drivers: nearby search (distance, radius, filters), detail with live status, price
now and next, opening hours and QR codes; other tenants' stations do not exist for a driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from chargepoints import admin
from chargepoints.admin import ConnectorSpec, EvseSpec, StationSpec
from chargepoints.model import RegistrationStatus
from csms.accounts.repository import AccountsUnitOfWork
from csms.accounts.services import login_with_password
from csms.bootstrap import System
from tariffs import services
from tariffs.services import Target
from tests.accounts import PASSWORD, Driver, a_driver
from tests.builders import boot16
from tests.conftest import LiveServer
from tests.fakes import FakeClock
from tests.wire import WireStation
from web.qr import parse_qr

API = "/api/v1/stations"
PROBLEM = "application/problem+json"
PHONE = "+8613800000001"
HERE = (31.2304, 121.4737)  # the point drivers search around
NOW = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # Tuesday 10:30 in Shanghai
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TWO_BANDS = {
    "bands": [
        {"name": "night", "days": DAYS, "start": "00:00", "end": "08:00", "energy_fee": "0.20"},
        {
            "name": "day",
            "days": DAYS,
            "start": "08:00",
            "end": "24:00",
            "energy_fee": "0.40",
            "service_fee": "0.05",
        },
    ]
}


@dataclass
class World:
    api: httpx.AsyncClient
    server: LiveServer
    clock: FakeClock
    driver: Driver
    stranger: Driver  # a driver of another tenant
    sites: dict[str, int]


async def a_site(
    system: System, name: str, tenant_id: int, at: tuple[float, float] | None, **fields: Any
) -> int:
    latitude, longitude = at if at is not None else (None, None)
    fields = {"time_zone": "Asia/Shanghai", **fields}
    return await admin.put_site(
        name,
        uow=system.uow(),
        clock=system.clock,
        tenant_id=tenant_id,
        latitude=latitude,
        longitude=longitude,
        **fields,
    )


async def a_charger(
    system: System, station_id: str, site_id: int, *evses: tuple[str, int], **spec: Any
) -> None:
    """A station whose EVSE n has one connector of type and power ``evses[n - 1]``."""
    defined = [
        EvseSpec(n, None, (ConnectorSpec(1, kind, watts),)) for n, (kind, watts) in enumerate(evses, 1)
    ]
    await admin.create_station(
        StationSpec(station_id, site_id=site_id, **spec), defined, uow=system.uow(), clock=system.clock
    )


@pytest.fixture
async def world(server: LiveServer) -> AsyncIterator[World]:
    """Tenant A: NEAR (~560 m, online, type 2 free and CCS busy), MID (~3.3 km, offline), FAR
    (~22 km), a site without coordinates and a retired station; tenant B: a station at NEAR's spot."""
    system = server.system
    clock = FakeClock(NOW)
    system.clock = clock
    driver = await a_driver(system, phone=PHONE)
    stranger = await a_driver(system, phone="+8613800000002")
    assert stranger.tenant_id != driver.tenant_id
    sites = {
        "near": await a_site(
            system, "Near", driver.tenant_id, (HERE[0] + 0.005, HERE[1]), photos=["https://p/1.jpg"]
        ),
        "mid": await a_site(system, "Mid", driver.tenant_id, (HERE[0] + 0.03, HERE[1])),
        "far": await a_site(system, "Far", driver.tenant_id, (HERE[0] + 0.2, HERE[1])),
        "nowhere": await a_site(system, "Nowhere", driver.tenant_id, None),
        "other": await a_site(system, "Other", stranger.tenant_id, (HERE[0] + 0.005, HERE[1])),
    }
    await a_charger(system, "CP-NEAR", sites["near"], ("cType2", 7400), ("cCCS2", 60_000))
    await a_charger(system, "CP-MID", sites["mid"], ("cType2", 22_000))
    await a_charger(system, "CP-FAR", sites["far"], ("cType2", 11_000))
    await a_charger(system, "CP-NOWHERE", sites["nowhere"], ("cType2", 11_000))
    await a_charger(
        system, "CP-OLD", sites["near"], ("cType2", 11_000), registration_status=RegistrationStatus.REJECTED
    )
    await a_charger(system, "CP-OTHER", sites["other"], ("cType2", 11_000))
    async with (
        httpx.AsyncClient(base_url=server.http, headers=driver.headers) as api,
        await WireStation.connect(server.ws, "CP-NEAR") as near,
    ):
        await near.ok("BootNotification", boot16())
        await near.ok("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})
        await near.ok("StatusNotification", {"connectorId": 2, "errorCode": "NoError", "status": "Charging"})
        yield World(api, server, clock, driver, stranger, sites)


async def turn_clock(world: World, to: datetime) -> None:
    """Move time on and log in again: the access token from before has expired by then."""
    world.clock.current = to
    system = world.server.system
    login = await login_with_password(
        world.driver.tenant_id,
        PHONE,
        PASSWORD,
        uow=AccountsUnitOfWork(system.sessions),
        clock=system.clock,
        config=system.auth,
    )
    world.api.headers["Authorization"] = f"Bearer {login.access_token}"


async def found(api: httpx.AsyncClient, **params: Any) -> list[str]:
    got = await api.get(API, params={"lat": HERE[0], "lon": HERE[1], **params})
    assert got.status_code == 200, got.text
    return [item["station_id"] for item in got.json()["items"]]


async def test_search_finds_the_nearest_first_within_the_radius(world: World) -> None:
    got = await world.api.get(API, params={"lat": HERE[0], "lon": HERE[1]})
    assert got.status_code == 200, got.text
    page = got.json()
    assert [item["station_id"] for item in page["items"]] == ["CP-NEAR", "CP-MID"]
    assert page["total"] == 2
    near, mid = page["items"]
    assert 550 <= near["distance_m"] <= 560 and 3300 <= mid["distance_m"] <= 3350
    assert near["site_name"] == "Near" and near["latitude"] == pytest.approx(HERE[0] + 0.005)
    assert (near["online"], near["evses_available"], near["evses_total"]) == (True, 1, 2)
    assert near["connector_types"] == ["cCCS2", "cType2"] and near["max_power_kw"] == 60.0
    assert (mid["online"], mid["evses_available"], mid["evses_total"]) == (False, 0, 1)
    assert near["rating"] == {"average": None, "count": 0} and near["price"] is None
    assert await found(world.api, radius_km=30) == ["CP-NEAR", "CP-MID", "CP-FAR"]
    assert await found(world.api, radius_km=0.5) == []


async def test_search_pages(world: World) -> None:
    got = await world.api.get(
        API, params={"lat": HERE[0], "lon": HERE[1], "radius_km": 30, "limit": 1, "offset": 1}
    )
    assert got.status_code == 200, got.text
    assert [item["station_id"] for item in got.json()["items"]] == ["CP-MID"]
    assert got.json()["total"] == 3


async def test_filters_apply_to_one_connector_together(world: World) -> None:
    assert await found(world.api, connector_type="cCCS2") == ["CP-NEAR"]
    assert await found(world.api, connector_type="ctype2") == ["CP-NEAR", "CP-MID"]
    assert await found(world.api, min_power_kw=20) == ["CP-NEAR", "CP-MID"]
    assert await found(world.api, min_power_kw=30) == ["CP-NEAR"]
    # NEAR's type 2 connector gives only 7.4 kW: the fast type 2 is MID's.
    assert await found(world.api, connector_type="cType2", min_power_kw=20) == ["CP-MID"]


async def test_available_now_wants_an_online_station_with_a_free_evse(world: World) -> None:
    assert await found(world.api, available_now=True) == ["CP-NEAR"]
    # NEAR's only CCS EVSE is charging someone else.
    assert await found(world.api, available_now=True, connector_type="cCCS2") == []
    assert await found(world.api, available_now=True, radius_km=30) == ["CP-NEAR"]


async def test_search_validates_the_point(world: World) -> None:
    for params in (
        {"lat": 91, "lon": 0},
        {"lat": 0, "lon": 181},
        {"lat": 0},
        {"lat": 0, "lon": 0, "radius_km": 101},
    ):
        got = await world.api.get(API, params=params)
        assert got.status_code == 422, params
        assert got.headers["content-type"] == PROBLEM
    assert (await world.api.get(f"{API}/CP%00X")).status_code == 422  # PostgreSQL text cannot hold NUL


async def test_another_tenants_stations_do_not_exist(world: World) -> None:
    assert "CP-OTHER" not in await found(world.api, radius_km=100)
    async with httpx.AsyncClient(base_url=world.server.http, headers=world.stranger.headers) as stranger:
        assert await found(stranger) == ["CP-OTHER"]
        assert (await stranger.get(f"{API}/CP-NEAR")).status_code == 404
        assert (await stranger.get(f"{API}/CP-NEAR/reviews")).status_code == 404
    for station_id in ("CP-OTHER", "CP-OLD", "CP-NONE"):
        got = await world.api.get(f"{API}/{station_id}")
        assert got.status_code == 404, station_id
        assert got.headers["content-type"] == PROBLEM
        assert (await world.api.get(f"{API}/{station_id}/reviews")).status_code == 404


async def test_search_wraps_around_the_antimeridian_and_the_pole(world: World) -> None:
    system, tenant_id = world.server.system, world.driver.tenant_id
    await a_charger(
        system, "CP-FIJI", await a_site(system, "Fiji", tenant_id, (-17.0, 179.999)), ("cType2", 7400)
    )
    await a_charger(
        system, "CP-POLE", await a_site(system, "Pole", tenant_id, (89.5, 10.0)), ("cType2", 7400)
    )
    fiji = await world.api.get(API, params={"lat": -17.0, "lon": -179.999, "radius_km": 1})
    assert [(item["station_id"], item["distance_m"]) for item in fiji.json()["items"]] == [("CP-FIJI", 213)]
    pole = await world.api.get(API, params={"lat": 89.99, "lon": -170.0, "radius_km": 60})
    assert [item["station_id"] for item in pole.json()["items"]] == ["CP-POLE"]


async def test_retired_and_unlocated_stations_are_not_found_nearby(world: World) -> None:
    assert await found(world.api, radius_km=100) == ["CP-NEAR", "CP-MID", "CP-FAR"]
    assert (await world.api.get(f"{API}/CP-NOWHERE")).status_code == 200


async def test_detail_shows_evses_live_status_photos_and_qr_codes(world: World) -> None:
    got = await world.api.get(f"{API}/CP-NEAR")
    assert got.status_code == 200, got.text
    detail = got.json()
    assert detail["online"] is True and detail["last_seen_at"] is not None
    assert (detail["site_name"], detail["time_zone"], detail["photos"]) == (
        "Near",
        "Asia/Shanghai",
        ["https://p/1.jpg"],
    )
    evses = detail["evses"]
    assert [(e["evse_id"], e["status"], e["max_power_kw"]) for e in evses] == [
        (1, "Available", 7.4),
        (2, "Occupied", 60.0),
    ]
    assert evses[1]["connectors"] == [
        {"connector_id": 1, "type": "cCCS2", "status": "Occupied", "max_power_kw": 60.0}
    ]
    for evse in evses:
        assert evse["qr"].startswith(f"{world.server.http}/c/")
        assert parse_qr(evse["qr"]) == ("CP-NEAR", evse["evse_id"])
    offline = (await world.api.get(f"{API}/CP-MID")).json()
    assert offline["online"] is False and offline["last_seen_at"] is None
    assert [e["status"] for e in offline["evses"]] == ["Unavailable"]


async def test_price_now_and_next_in_the_sites_zone(world: World) -> None:
    system = world.server.system
    valid_from = datetime(2026, 1, 1, tzinfo=UTC)
    view = await services.create_tariff(
        world.driver.tenant_id, "TOU", TWO_BANDS, valid_from, "test", uow=system.uow(), clock=system.clock
    )
    assert view.tariff.id is not None
    await services.assign(
        view.tariff.id, Target(site_id=world.sites["near"]), "test", uow=system.uow(), clock=system.clock
    )
    price = (await world.api.get(f"{API}/CP-NEAR")).json()["price"]
    # 10:30 in Shanghai: the day band until midnight there (16:00 UTC), then night until 08:00.
    assert price["now"] == {
        "band": "day",
        "energy_fee": "0.40",
        "service_fee": "0.05",
        "currency": "CNY",
        "starts_at": None,
        "ends_at": "2026-11-24T16:00:00Z",
    }
    assert price["next"] == {
        "band": "night",
        "energy_fee": "0.20",
        "service_fee": "0",
        "currency": "CNY",
        "starts_at": "2026-11-24T16:00:00Z",
        "ends_at": "2026-11-25T00:00:00Z",
    }
    items = (await world.api.get(API, params={"lat": HERE[0], "lon": HERE[1]})).json()["items"]
    assert [(item["station_id"], item["price"] and item["price"]["band"]) for item in items] == [
        ("CP-NEAR", "day"),
        ("CP-MID", None),
    ]
    await turn_clock(world, datetime(2026, 11, 24, 20, 0, tzinfo=UTC))  # 04:00 in Shanghai
    price = (await world.api.get(f"{API}/CP-NEAR")).json()["price"]
    assert (price["now"]["band"], price["now"]["ends_at"]) == ("night", "2026-11-25T00:00:00Z")
    assert (price["next"]["band"], price["next"]["starts_at"]) == ("day", "2026-11-25T00:00:00Z")
    assert (await world.api.get(f"{API}/CP-MID")).json()["price"] is None


async def test_opening_hours_in_the_sites_zone(world: World) -> None:
    system = world.server.system
    hours = {"tue": [["08:00", "12:00"]], "wed": [["22:00", "06:00"]]}
    await admin.put_site("Near", uow=system.uow(), clock=system.clock, opening_hours=hours)
    detail = (await world.api.get(f"{API}/CP-NEAR")).json()
    assert (detail["opening_hours"], detail["open_now"]) == (hours, True)  # Tuesday 10:30 there
    await turn_clock(world, datetime(2026, 11, 24, 5, 0, tzinfo=UTC))  # Tuesday 13:00 there
    assert (await world.api.get(f"{API}/CP-NEAR")).json()["open_now"] is False
    await turn_clock(world, datetime(2026, 11, 25, 20, 0, tzinfo=UTC))  # Thursday 04:00, from Wednesday night
    assert (await world.api.get(f"{API}/CP-NEAR")).json()["open_now"] is True
    mid = (await world.api.get(f"{API}/CP-MID")).json()
    assert (mid["opening_hours"], mid["open_now"]) == (None, True)


async def test_drivers_only(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.server.http) as anonymous:
        for path in (API + "?lat=0&lon=0", f"{API}/CP-NEAR", f"{API}/CP-NEAR/reviews"):
            got = await anonymous.get(path)
            assert got.status_code == 401, path
            assert got.headers["content-type"] == PROBLEM
            assert got.headers["www-authenticate"] == "Bearer"
            bad = await anonymous.get(path, headers={"Authorization": "Bearer not-a-token"})
            assert bad.status_code == 401, path
    operator = await a_driver(world.server.system, phone="+8613800000003", role="operator")
    async with httpx.AsyncClient(base_url=world.server.http, headers=operator.headers) as staff:
        assert (await staff.get(f"{API}/CP-NEAR")).status_code == 403
