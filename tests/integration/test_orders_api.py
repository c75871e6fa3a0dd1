"""A driver's orders: their sessions (app token and linked cards) with CDR totals, one order
itemised, and the HTML receipt; other drivers' orders do not exist for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chargepoints import admin
from chargepoints.admin import EvseSpec, StationSpec
from csms.bootstrap import System
from tariffs import services as tariff_services
from tests.accounts import Driver, a_driver
from tests.builders import boot16, iso, start16
from tests.conftest import LiveServer
from tests.integration.test_driver_sessions_api import app_token
from tests.wire import WireStation

ORDERS = "/api/v1/me/orders"
PROBLEM = "application/problem+json"
SITE = "Depot <script>alert(1)</script>"
PRICED = {
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
            "energy_fee": "1.00",
            "service_fee": "0.20",
        }
    ],
    "tax_rate": "0.10",
}


@dataclass
class World:
    server: LiveServer
    api: httpx.AsyncClient
    driver: Driver
    other: Driver
    stranger: Driver

    @property
    def system(self) -> System:
        return self.server.system


async def priced_charger(system: System, station_id: str, tenant_id: int) -> None:
    """A station at a site in Shanghai, under a tariff valid since yesterday (sessions start in the past)."""
    uow, clock = system.uow(), system.clock
    site_id = await admin.put_site(SITE, uow=uow, clock=clock, tenant_id=tenant_id, time_zone="Asia/Shanghai")
    await admin.create_station(StationSpec(station_id, site_id=site_id), [EvseSpec(1)], uow=uow, clock=clock)
    since = clock.now() - timedelta(days=1)
    view = await tariff_services.create_tariff(
        tenant_id, "Standard", PRICED, since, "test", uow=uow, clock=clock
    )
    assert view.tariff.id is not None
    target = tariff_services.Target(site_id=site_id)
    await tariff_services.assign(view.tariff.id, target, "test", uow=uow, clock=clock)


@pytest.fixture
async def world(server: LiveServer) -> AsyncIterator[World]:
    system = server.system
    driver = await a_driver(system)
    other = await a_driver(system, tenant_id=driver.tenant_id, phone="+8613800000002")
    stranger = await a_driver(system, phone="+8613800000003")
    await priced_charger(system, "CP-1", driver.tenant_id)
    async with httpx.AsyncClient(base_url=server.http) as api:
        yield World(server, api, driver, other, stranger)


async def session(
    station: WireStation, token: str, *, minutes_ago: int, wh: int | None, connector: int = 1
) -> int:
    """A 1.6 session of ``token`` that began ``minutes_ago`` at 1000 Wh; stopped now at ``wh``
    (None: still running)."""
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    start = start16(idTag=token, connectorId=connector, meterStart=1000, timestamp=iso(started))
    tx_id: int = (await station.ok("StartTransaction", start))["transactionId"]
    if wh is not None:
        stop = {"transactionId": tx_id, "meterStop": wh, "timestamp": iso(), "reason": "Local"}
        await station.ok("StopTransaction", stop)
    return tx_id


async def test_orders_are_the_drivers_sessions_newest_first(world: World) -> None:
    card = await world.api.post(
        "/api/v1/me/id-tokens", json={"token": "CARD-1"}, headers=world.driver.headers
    )
    assert card.status_code == 201, card.text
    mine = await app_token(world.system, world.driver.user_id)
    theirs = await app_token(world.system, world.other.user_id)
    async with await WireStation.connect(world.server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        billed = await session(station, mine, minutes_ago=60, wh=3500)
        await session(station, theirs, minutes_ago=30, wh=2000)
        running = await session(station, "CARD-1", minutes_ago=5, wh=None, connector=2)

    listed = await world.api.get(ORDERS, headers=world.driver.headers)
    second = await world.api.get(ORDERS, params={"limit": 1, "offset": 1}, headers=world.driver.headers)
    strangers = await world.api.get(ORDERS, headers=world.stranger.headers)

    page = listed.json()
    assert page["total"] == 2 and [o["transaction_id"] for o in page["items"]] == [running, billed]
    now, done = page["items"]
    assert (now["status"], now["total"], now["energy_wh"]) == ("charging", None, 0)
    assert (done["status"], done["total"], done["currency"], done["energy_wh"]) == (
        "completed",
        "3.30",
        "CNY",
        2500,
    )
    assert done["site_name"] == SITE and done["station_id"] == "CP-1"
    assert [o["transaction_id"] for o in second.json()["items"]] == [billed]
    assert strangers.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


async def test_an_order_is_itemised_from_its_cdr(world: World) -> None:
    token = await app_token(world.system, world.driver.user_id)
    async with await WireStation.connect(world.server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        tx_id = await session(station, token, minutes_ago=60, wh=3500)

    order = (await world.api.get(f"{ORDERS}/{tx_id}", headers=world.driver.headers)).json()

    assert order["status"] == "completed" and order["cdr_id"] is not None
    assert (order["subtotal"], order["tax"], order["total"], order["currency"]) == (
        "3.00",
        "0.30",
        "3.30",
        "CNY",
    )
    assert order["energy_wh"] == 2500 and order["time_zone"] == "Asia/Shanghai"
    assert 3590 <= order["total_s"] <= 3610 and order["charging_s"] == order["total_s"]
    lines = {(line["kind"], line["band"]): line for line in order["lines"]}
    energy, service = lines[("energy", "all day")], lines[("service", "all day")]
    assert Decimal(energy["quantity"]) == Decimal("2.5") and Decimal(energy["amount"]) == Decimal("2.5")
    assert Decimal(service["unit_price"]) == Decimal("0.20") and Decimal(service["amount"]) == Decimal("0.5")


async def test_a_session_under_review_has_no_total_yet(world: World) -> None:
    token = await app_token(world.system, world.driver.user_id)
    async with await WireStation.connect(world.server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        tx_id = await session(station, token, minutes_ago=30, wh=1000)  # half an hour, no energy

    order = (await world.api.get(f"{ORDERS}/{tx_id}", headers=world.driver.headers)).json()
    receipt = await world.api.get(f"{ORDERS}/{tx_id}/receipt", headers=world.driver.headers)

    assert (order["status"], order["total"], order["lines"]) == ("in_review", None, [])
    assert receipt.status_code == 409 and receipt.headers["content-type"] == PROBLEM


async def test_the_receipt_is_html_with_the_figures_and_escaped_names(world: World) -> None:
    token = await app_token(world.system, world.driver.user_id)
    async with await WireStation.connect(world.server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        tx_id = await session(station, token, minutes_ago=65, wh=3500)

    receipt = await world.api.get(f"{ORDERS}/{tx_id}/receipt", headers=world.driver.headers)

    assert receipt.status_code == 200 and receipt.headers["content-type"].startswith("text/html")
    page = receipt.text
    assert "<script>alert" not in page and "Depot &lt;script&gt;alert(1)&lt;/script&gt;" in page
    for text in ("T-", "CP-1, connector 1", "2.500 kWh", "1 h 05 min", "Energy (all day)", "3.30 CNY"):
        assert text in page, text
    assert "Asia/Shanghai" in page


@pytest.mark.parametrize("path", ["", "/receipt"])
async def test_other_drivers_orders_are_404(world: World, path: str) -> None:
    token = await app_token(world.system, world.driver.user_id)
    async with await WireStation.connect(world.server.ws, "CP-1") as station:
        await station.ok("BootNotification", boot16())
        tx_id = await session(station, token, minutes_ago=60, wh=3500)

    answers: dict[str, Any] = {
        "other": await world.api.get(f"{ORDERS}/{tx_id}{path}", headers=world.other.headers),
        "stranger": await world.api.get(f"{ORDERS}/{tx_id}{path}", headers=world.stranger.headers),
        "unknown": await world.api.get(f"{ORDERS}/{tx_id + 100}{path}", headers=world.driver.headers),
    }
    anonymous = await world.api.get(f"{ORDERS}/{tx_id}{path}")

    for who, response in answers.items():
        assert response.status_code == 404, who
        assert response.headers["content-type"] == PROBLEM
    assert anonymous.status_code == 401


async def test_listing_orders_needs_a_driver_login(world: World) -> None:
    operator = await a_driver(
        world.system, tenant_id=world.driver.tenant_id, phone="+8613800000004", role="operator"
    )
    assert (await world.api.get(ORDERS)).status_code == 401
    assert (await world.api.get(ORDERS, headers=operator.headers)).status_code == 403
