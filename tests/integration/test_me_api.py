"""The driver's profile: name and e-mail, vehicles, favourite stations and linked RFID cards.

Another driver's objects, and stations of another tenant, answer 404 as if they did not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from chargepoints import admin
from chargepoints.model import TokenStatus
from chargepoints.tables import IdTokenRow
from csms.accounts.queries import app_token, driver_tokens
from csms.bootstrap import System
from tests.accounts import Driver, a_driver, a_tenant
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

ME = "/api/v1/me"


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


@pytest.fixture
async def driver(server: LiveServer) -> Driver:
    return await a_driver(server.system)


@pytest.fixture
async def neighbour(server: LiveServer, driver: Driver) -> Driver:
    """Another driver of the same tenant."""
    return await a_driver(server.system, tenant_id=driver.tenant_id, phone="+8613800000002")


async def a_site_station(system: System, station_id: str, tenant_id: int | None) -> None:
    site = await admin.put_site(
        f"site of {station_id}", uow=system.uow(), clock=system.clock, tenant_id=tenant_id
    )
    await a_station(system, station_id, site_id=site)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("GET", "/vehicles"),
        ("POST", "/vehicles"),
        ("PATCH", "/vehicles/1"),
        ("DELETE", "/vehicles/1"),
        ("GET", "/favorites"),
        ("PUT", "/favorites/CP-1"),
        ("DELETE", "/favorites/CP-1"),
        ("GET", "/id-tokens"),
        ("POST", "/id-tokens"),
        ("DELETE", "/id-tokens/CARD-1"),
    ],
)
async def test_every_endpoint_needs_a_login(
    server: LiveServer, api: httpx.AsyncClient, method: str, path: str
) -> None:
    anonymous = await api.request(method, ME + path, json={})
    forged = await api.request(method, ME + path, json={}, headers={"Authorization": "Bearer e30.e30.x"})

    assert anonymous.status_code == forged.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert forged.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_the_profile_shows_role_and_invitation_code_and_changes_name_and_email(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    me = (await api.get(ME, headers=driver.headers)).json()
    assert me["id"] == driver.user_id and me["tenant_id"] == driver.tenant_id
    assert me["role"] == "driver" and len(me["invitation_code"]) == 8
    assert me["email"] is None and me["invited_by"] is None

    patched = await api.patch(
        ME, json={"display_name": "Li", "email": "li@example.com"}, headers=driver.headers
    )
    assert patched.status_code == 200
    assert (patched.json()["display_name"], patched.json()["email"]) == ("Li", "li@example.com")

    cleared = await api.patch(ME, json={"email": None}, headers=driver.headers)
    assert (cleared.json()["display_name"], cleared.json()["email"]) == ("Li", None)
    assert (await api.patch(ME, json={"email": "not-an-address"}, headers=driver.headers)).status_code == 422


async def test_role_and_phone_cannot_be_changed_from_the_profile(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    response = await api.patch(
        ME, json={"role": "admin", "phone": "+1555000000", "tenant_id": 99}, headers=driver.headers
    )

    assert response.status_code == 200
    me = response.json()
    assert (me["role"], me["phone"], me["tenant_id"]) == ("driver", "+8613800000001", driver.tenant_id)


async def test_other_roles_see_their_profile_but_not_the_driver_features(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    operator = await a_driver(server.system, role="operator")
    vip = await a_driver(
        server.system, tenant_id=operator.tenant_id, phone="+8613800000003", role="vip_driver"
    )

    assert (await api.get(ME, headers=operator.headers)).json()["role"] == "operator"
    forbidden = await api.get(f"{ME}/vehicles", headers=operator.headers)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    assert (await api.get(f"{ME}/vehicles", headers=vip.headers)).status_code == 200


async def test_vehicles_are_added_listed_changed_and_removed(api: httpx.AsyncClient, driver: Driver) -> None:
    added = await api.post(
        f"{ME}/vehicles",
        json={"plate": "京a-12345", "model": "BYD Han", "battery_wh": 85_400, "connector_type": "GBT"},
        headers=driver.headers,
    )
    assert added.status_code == 201, added.text
    vehicle = added.json()
    assert (vehicle["plate"], vehicle["battery_wh"]) == ("京A12345", 85_400)
    await api.post(f"{ME}/vehicles", json={"plate": "B 2"}, headers=driver.headers)

    page = (await api.get(f"{ME}/vehicles", params={"limit": 1}, headers=driver.headers)).json()
    assert (page["total"], [v["plate"] for v in page["items"]]) == (2, ["京A12345"])

    patched = await api.patch(
        f"{ME}/vehicles/{vehicle['id']}", json={"model": None, "battery_wh": 90_000}, headers=driver.headers
    )
    assert patched.status_code == 200
    assert (patched.json()["model"], patched.json()["battery_wh"], patched.json()["plate"]) == (
        None,
        90_000,
        "京A12345",
    )

    assert (await api.delete(f"{ME}/vehicles/{vehicle['id']}", headers=driver.headers)).status_code == 204
    assert (await api.get(f"{ME}/vehicles", headers=driver.headers)).json()["total"] == 1
    assert (await api.delete(f"{ME}/vehicles/{vehicle['id']}", headers=driver.headers)).status_code == 404


async def test_a_plate_is_registered_once_per_driver(
    api: httpx.AsyncClient, driver: Driver, neighbour: Driver
) -> None:
    first = await api.post(f"{ME}/vehicles", json={"plate": "AB-123"}, headers=driver.headers)
    second = (await api.post(f"{ME}/vehicles", json={"plate": "XY 9"}, headers=driver.headers)).json()

    assert (
        await api.post(f"{ME}/vehicles", json={"plate": "ab 123"}, headers=driver.headers)
    ).status_code == 409
    rename = await api.patch(f"{ME}/vehicles/{second['id']}", json={"plate": "AB123"}, headers=driver.headers)
    assert rename.status_code == 409
    assert (
        await api.patch(f"{ME}/vehicles/{second['id']}", json={"plate": None}, headers=driver.headers)
    ).status_code == 422
    assert first.status_code == 201
    assert (
        await api.post(f"{ME}/vehicles", json={"plate": "AB123"}, headers=neighbour.headers)
    ).status_code == 201


async def test_another_drivers_vehicle_is_not_found(
    api: httpx.AsyncClient, driver: Driver, neighbour: Driver
) -> None:
    theirs = (await api.post(f"{ME}/vehicles", json={"plate": "THEIRS1"}, headers=neighbour.headers)).json()

    patched = await api.patch(
        f"{ME}/vehicles/{theirs['id']}", json={"model": "mine now"}, headers=driver.headers
    )
    deleted = await api.delete(f"{ME}/vehicles/{theirs['id']}", headers=driver.headers)

    assert patched.status_code == deleted.status_code == 404
    assert patched.json()["detail"] == f"Vehicle {theirs['id']} not found"
    assert (await api.get(f"{ME}/vehicles", headers=driver.headers)).json()["total"] == 0
    assert (await api.get(f"{ME}/vehicles", headers=neighbour.headers)).json()["items"][0]["model"] is None


async def test_favourite_stations_of_the_drivers_tenant(
    server: LiveServer, api: httpx.AsyncClient, driver: Driver, neighbour: Driver
) -> None:
    await a_site_station(server.system, "CP-1", driver.tenant_id)
    await a_site_station(server.system, "CP-2", driver.tenant_id)

    for station in ("CP-1", "CP-2", "CP-1"):
        assert (await api.put(f"{ME}/favorites/{station}", headers=driver.headers)).status_code == 204

    page = (await api.get(f"{ME}/favorites", headers=driver.headers)).json()
    assert page["total"] == 2
    assert [(f["station_id"], f["site_name"]) for f in page["items"]] == [
        ("CP-2", "site of CP-2"),
        ("CP-1", "site of CP-1"),
    ]
    assert (await api.get(f"{ME}/favorites", headers=neighbour.headers)).json()["total"] == 0
    assert (await api.delete(f"{ME}/favorites/CP-1", headers=neighbour.headers)).status_code == 404
    assert (await api.delete(f"{ME}/favorites/CP-1", headers=driver.headers)).status_code == 204
    assert [
        f["station_id"] for f in (await api.get(f"{ME}/favorites", headers=driver.headers)).json()["items"]
    ] == ["CP-2"]


async def test_stations_outside_the_drivers_tenant_are_not_found(
    server: LiveServer, api: httpx.AsyncClient, driver: Driver
) -> None:
    other_tenant = await a_tenant(server.system)
    await a_site_station(server.system, "THEIRS", other_tenant)
    await a_site_station(server.system, "NOBODYS", None)
    await a_station(server.system, "NO-SITE")

    for station in ("THEIRS", "NOBODYS", "NO-SITE", "MISSING"):
        response = await api.put(f"{ME}/favorites/{station}", headers=driver.headers)
        assert response.status_code == 404, station
        assert response.json()["detail"] == f"Station {station} not found"


async def test_a_station_that_leaves_the_tenant_leaves_the_favourites(
    server: LiveServer, api: httpx.AsyncClient, driver: Driver
) -> None:
    await a_site_station(server.system, "CP-1", driver.tenant_id)
    await api.put(f"{ME}/favorites/CP-1", headers=driver.headers)

    other_tenant = await a_tenant(server.system)
    await admin.put_site(
        "site of CP-1", uow=server.system.uow(), clock=server.system.clock, tenant_id=other_tenant
    )

    assert (await api.get(f"{ME}/favorites", headers=driver.headers)).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }


async def test_linking_rfid_cards(server: LiveServer, api: httpx.AsyncClient, driver: Driver) -> None:
    await a_token(server.system, "KNOWN-1", status=TokenStatus.BLOCKED)

    new = await api.post(f"{ME}/id-tokens", json={"token": " 04A2B3C4 "}, headers=driver.headers)
    known = await api.post(f"{ME}/id-tokens", json={"token": "KNOWN-1"}, headers=driver.headers)
    again = await api.post(f"{ME}/id-tokens", json={"token": "KNOWN-1"}, headers=driver.headers)

    assert new.status_code == 201
    assert new.json() == {"token": "04A2B3C4", "type": "ISO14443", "status": "Accepted", "app": False}
    assert known.status_code == again.status_code == 200
    assert known.json()["status"] == "Blocked"  # linking does not unblock a card
    listed = (await api.get(f"{ME}/id-tokens", headers=driver.headers)).json()
    assert [(t["token"], t["app"]) for t in listed][1:] == [("KNOWN-1", False), ("04A2B3C4", False)]
    assert listed[0]["app"] is True
    async with server.system.sessions() as session:
        tokens = await driver_tokens(session, driver.user_id)
        app = await app_token(session, driver.user_id)
    assert tokens == [app, "KNOWN-1", "04A2B3C4"]
    assert app.startswith("APP") and len(app) <= 20


async def test_another_drivers_card_cannot_be_taken_or_unlinked(
    server: LiveServer, api: httpx.AsyncClient, driver: Driver, neighbour: Driver
) -> None:
    await api.post(f"{ME}/id-tokens", json={"token": "THEIRS-1"}, headers=neighbour.headers)
    async with server.system.sessions() as session:
        their_app = await app_token(session, neighbour.user_id)

    for card in ("THEIRS-1", their_app):
        taken = await api.post(f"{ME}/id-tokens", json={"token": card}, headers=driver.headers)
        assert taken.status_code == 409, card
        assert (await api.delete(f"{ME}/id-tokens/{card}", headers=driver.headers)).status_code == 404
    async with server.system.sessions() as session:
        assert await driver_tokens(session, neighbour.user_id) == [their_app, "THEIRS-1"]
        assert await driver_tokens(session, driver.user_id) == [await app_token(session, driver.user_id)]


async def test_unlinking_a_card_keeps_the_card_but_not_the_app_token(
    server: LiveServer, api: httpx.AsyncClient, driver: Driver, neighbour: Driver
) -> None:
    await api.post(f"{ME}/id-tokens", json={"token": "CARD-1"}, headers=driver.headers)
    async with server.system.sessions() as session:
        mine = await app_token(session, driver.user_id)

    assert (await api.delete(f"{ME}/id-tokens/CARD-1", headers=driver.headers)).status_code == 204
    assert (await api.delete(f"{ME}/id-tokens/{mine}", headers=driver.headers)).status_code == 409
    assert (await api.delete(f"{ME}/id-tokens/CARD-1", headers=driver.headers)).status_code == 404
    async with server.system.sessions() as session:
        card = (await session.execute(select(IdTokenRow).where(IdTokenRow.token == "CARD-1"))).scalars().one()
        assert await driver_tokens(session, driver.user_id) == [mine]
    assert (card.user_id, card.status) == (None, "Accepted")
    assert (
        await api.post(f"{ME}/id-tokens", json={"token": "CARD-1"}, headers=neighbour.headers)
    ).status_code == 200


async def test_a_card_number_must_fit_an_ocpp_id_tag(api: httpx.AsyncClient, driver: Driver) -> None:
    for bad in ("x" * 21, "has space", ""):
        response = await api.post(f"{ME}/id-tokens", json={"token": bad}, headers=driver.headers)
        assert response.status_code == 422, bad


async def test_a_driver_of_another_tenant_with_the_same_phone_is_someone_else(
    server: LiveServer, api: httpx.AsyncClient, driver: Driver
) -> None:
    await api.post(f"{ME}/vehicles", json={"plate": "MINE1"}, headers=driver.headers)
    twin = await a_driver(server.system)  # same phone, a new tenant

    assert twin.tenant_id != driver.tenant_id
    assert (await api.get(f"{ME}/vehicles", headers=twin.headers)).json()["total"] == 0
    assert (await api.get(ME, headers=twin.headers)).json()["id"] == twin.user_id
