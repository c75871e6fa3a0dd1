"""The running cost of a 1.6 session: published as an event, sent to the station by DataTransfer."""

from __future__ import annotations

import asyncio
import json

import pytest

from chargepoints import events
from csms.settings import Settings
from tariffs import services as tariff_services
from tests.builders import a_station, a_token, boot16, iso, meter16, start16
from tests.conftest import LiveServer
from tests.wire import WireStation

VENDOR = "org.example.csms"
FLAT = {
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
            "energy_fee": "0.40",
            "service_fee": "0.10",
        }
    ],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cost_update_interval": 0.01, "cost_data_transfer_vendor": VENDOR})


async def priced_station(server: LiveServer, station_id: str) -> None:
    system = server.system
    await a_station(system, station_id)
    await a_token(system, "TAG-1")
    tenant = await tariff_services.create_tenant("Op", "EUR", "test", uow=system.uow(), clock=system.clock)
    assert tenant.id is not None
    view = await tariff_services.create_tariff(
        tenant.id, "Flat", FLAT, None, "test", uow=system.uow(), clock=system.clock
    )
    assert view.tariff.id is not None
    target = tariff_services.Target(station_id=station_id)
    await tariff_services.assign(view.tariff.id, target, "test", uow=system.uow(), clock=system.clock)


async def test_running_cost_reaches_the_bus_and_the_station(server: LiveServer) -> None:
    await priced_station(server, "CP-LIVE")
    published: list[events.SessionCostUpdated] = []

    async def collect(event: events.Event) -> None:
        if isinstance(event, events.SessionCostUpdated):
            published.append(event)

    server.system.bus.subscribe(collect)
    async with await WireStation.connect(server.ws, "CP-LIVE") as station:
        await station.ok("BootNotification", boot16())
        start = start16(idTag="TAG-1", meterStart=1000, timestamp=iso())
        tx_id = (await station.ok("StartTransaction", start))["transactionId"]
        await asyncio.sleep(0.01)
        await station.send_raw(json.dumps([2, "mv-1", "MeterValues", meter16(tx_id, 3500)]))
        frames = [await station.recv(), await station.recv()]  # the answer, and the CSMS's call
        answer = next(frame for frame in frames if frame[1] == "mv-1")
        call = next(frame for frame in frames if frame[0] == 2)
        await station.send_raw(json.dumps([3, call[1], {"status": "Accepted"}]))

    assert answer[0] == 3
    assert call[2] == "DataTransfer"
    assert call[3]["vendorId"] == VENDOR and call[3]["messageId"] == "RunningCost"
    # 2.5 kWh at 0.40 + 0.10
    assert json.loads(call[3]["data"]) == {"transactionId": str(tx_id), "cost": "1.25", "currency": "EUR"}
    async with asyncio.timeout(5):  # over Redis the event comes back through the subscription
        while not published:
            await asyncio.sleep(0.01)
    assert [(e.transaction_id, e.currency, e.total) for e in published] == [(tx_id, "EUR", "1.25")]
