"""A driver's whole journey against an emulated station: sign up by SMS, add a car, find the
station nearby, plug in, scan its QR code, watch the session live, stop it from the app, and
read the priced order with its CDR lines and receipt."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedOK

from chargepoints import admin
from chargepoints.admin import StationSpec as StationProvision
from emulator import Station, StationSpec
from tariffs import services as tariff_services
from tests.accounts import Outbox, a_tenant
from tests.conftest import LiveServer

PHONE = "+8613912345678"
PASSWORD = "a long enough passphrase"
HERE = (31.2304, 121.4737)
FEES = {"energy_fee": "1.20", "service_fee": "0.30"}
TARIFF = {
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
        }
        | FEES
    ],
    "tax_rate": "0.06",
}


async def operator_setup(server: LiveServer) -> int:
    """What the operator did before: a tenant, a site 300 m from the driver, a station, a tariff."""
    system = server.system
    tenant_id = await a_tenant(system)
    site_id = await admin.put_site(
        "Riverside",
        uow=system.uow(),
        clock=system.clock,
        tenant_id=tenant_id,
        latitude=HERE[0] + 0.0027,
        longitude=HERE[1],
        time_zone="Asia/Shanghai",
    )
    await admin.put_station(StationProvision("EMU-J", site_id=site_id), uow=system.uow(), clock=system.clock)
    view = await tariff_services.create_tariff(
        tenant_id, "Standard", TARIFF, None, "test", uow=system.uow(), clock=system.clock
    )
    assert view.tariff.id is not None
    target = tariff_services.Target(site_id=site_id)
    await tariff_services.assign(view.tariff.id, target, "test", uow=system.uow(), clock=system.clock)
    return tenant_id


async def sign_up(api: httpx.AsyncClient, outbox: Outbox, tenant_id: int) -> dict[str, str]:
    sent = await api.post(
        "/api/v1/auth/sms-codes", json={"tenant_id": tenant_id, "phone": PHONE, "purpose": "register"}
    )
    assert sent.status_code == 202, sent.text
    body = {"tenant_id": tenant_id, "phone": PHONE, "code": outbox.code_for(PHONE), "password": PASSWORD}
    registered = await api.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    return {"Authorization": f"Bearer {registered.json()['access_token']}"}


async def snapshot(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def until(ws: ClientConnection, done: Any) -> dict[str, Any]:
    """Snapshots until one satisfies ``done``."""
    while not done(current := await snapshot(ws)):
        pass
    return current


async def billed(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(100):
        order: dict[str, Any] = (await api.get(path, headers=headers)).json()
        if order["status"] == "completed":
            return order
        await asyncio.sleep(0.1)
    raise AssertionError(f"the order was never billed: {order}")


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_driver_charges_from_the_app(server: LiveServer, version: str) -> None:
    tenant_id = await operator_setup(server)
    server.system.sms = outbox = Outbox()
    emulated = Station(StationSpec("EMU-J", version, evse_count=1), server.ws)  # type: ignore[arg-type]
    assert await emulated.connect() == "Accepted"
    try:
        async with httpx.AsyncClient(base_url=server.http, timeout=30) as api:
            me = await sign_up(api, outbox, tenant_id)
            car = await api.post(
                "/api/v1/me/vehicles", json={"plate": "沪A12345", "battery_wh": 75_000}, headers=me
            )
            assert car.status_code == 201, car.text

            nearby = await api.get("/api/v1/stations", params={"lat": HERE[0], "lon": HERE[1]}, headers=me)
            found = nearby.json()["items"]
            assert [s["station_id"] for s in found] == ["EMU-J"] and 250 < found[0]["distance_m"] < 350
            detail = (await api.get("/api/v1/stations/EMU-J", headers=me)).json()
            qr = detail["evses"][0]["qr"]

            await emulated.plug_in(1)
            started = await api.post("/api/v1/sessions", json={"qr": qr}, headers=me)
            assert started.status_code == 201, started.text
            tx_id = started.json()["transaction_id"]
            soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
            needs = {"departure_at": soon, "energy_wh": 50_000}  # more than it can get: full power
            planned = await api.put(f"/api/v1/sessions/{tx_id}/charging-needs", json=needs, headers=me)
            assert planned.status_code == 200 and planned.json()["source"] == "app", planned.text

            token = me["Authorization"].removeprefix("Bearer ")
            url = (
                server.http.replace("http://", "ws://")
                + f"/api/v1/sessions/{tx_id}/live?access_token={token}"
            )
            async with connect(url) as ws:
                first = await snapshot(ws)
                await emulated.send_meter_values(1, seconds=300)
                middle = await until(ws, lambda s: s["energy_wh"] > 0 and s["cost"] not in (None, "0.00"))
                await emulated.send_meter_values(1, seconds=300)
                later = await until(ws, lambda s: s["energy_wh"] > middle["energy_wh"])
                stopping = await api.post(f"/api/v1/sessions/{tx_id}/stop", headers=me)
                assert stopping.status_code == 202, stopping.text
                ended = await until(ws, lambda s: s["state"] == "Ended")
                with pytest.raises(ConnectionClosedOK):
                    await snapshot(ws)

            order = await billed(api, f"/api/v1/me/orders/{tx_id}", me)
            receipt = await api.get(f"/api/v1/me/orders/{tx_id}/receipt", headers=me)
            orders = (await api.get("/api/v1/me/orders", headers=me)).json()
    finally:
        await emulated.close()

    assert first["state"] == "Active" and first["transaction_id"] == tx_id
    assert later["energy_wh"] > middle["energy_wh"] > 0 and later["power_w"] and later["soc"] is not None
    assert middle["currency"] == "CNY" and Decimal(middle["cost"]) > 0
    assert ended["energy_wh"] >= later["energy_wh"] and ended["ended_at"] is not None

    energy = Decimal(order["energy_wh"]) / 1000
    assert order["energy_wh"] == ended["energy_wh"]
    kinds = {line["kind"]: line for line in order["lines"]}
    assert Decimal(kinds["energy"]["quantity"]) == energy and kinds["energy"]["band"] == "all day"
    net = energy * (Decimal(FEES["energy_fee"]) + Decimal(FEES["service_fee"]))
    assert Decimal(order["subtotal"]) == net.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(order["total"]) == Decimal(order["subtotal"]) + Decimal(order["tax"]) > 0
    assert receipt.status_code == 200 and f"{order['total']} CNY" in receipt.text
    assert [o["transaction_id"] for o in orders["items"]] == [tx_id]
