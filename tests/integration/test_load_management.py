"""Load management against stations at the frame level: the TxProfile each session gets, a
station that refuses it (retried and flagged), charging needs from the EV, and the operator API."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import select

from chargepoints import admin
from chargepoints.alarm_tables import AlarmRow
from chargepoints.load_tables import AllocationRow, ChargingNeedRow
from csms.bootstrap import System
from csms.settings import Settings
from tests.accounts import a_driver
from tests.builders import a_station, a_token, boot16, boot201, iso, mid_day_zone, start16, tx_event
from tests.conftest import LiveServer
from tests.wire import WireStation


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"load_debounce": 0.01, "load_retry": 0.2})


async def profile_call(station: WireStation, answer: str) -> dict[str, Any]:
    """Take the next SetChargingProfile the CSMS sends and answer it."""
    frame = await asyncio.wait_for(station.recv(), 10)
    assert frame[2] == "SetChargingProfile", frame
    await station.send_raw(json.dumps([3, frame[1], {"status": answer}]))
    payload: dict[str, Any] = frame[3]
    return payload


async def rows(system: System, table: type[Any]) -> list[Any]:
    async with system.sessions() as session:
        return list((await session.execute(select(table))).scalars())


async def eventually(system: System, table: type[Any], check: Any) -> list[Any]:
    for _ in range(100):
        await system.load.settled()
        found = await rows(system, table)
        if check(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never true: {found}")


async def test_a_refused_profile_is_sent_again_and_flagged_until_taken(server: LiveServer) -> None:
    system = server.system
    site_id = await admin.put_site("Yard", uow=system.uow(), clock=system.clock)
    await a_station(system, "CP-1", site_id=site_id)
    await a_token(system, "TAG-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        made = await api.put(f"/api/v1/operator/sites/{site_id}/load", json={"max_import": "20"})
        assert made.status_code == 200, made.text
        tx_id = (await station.ok("StartTransaction", start16()))["transactionId"]

        first = await profile_call(station, "Rejected")
        profile = first["csChargingProfiles"]
        assert first["connectorId"] == 1 and profile["chargingProfilePurpose"] == "TxProfile"
        assert profile["transactionId"] == tx_id
        assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 20.0}]
        alarms = await eventually(system, AlarmRow, lambda found: found and found[0].resolved_at is None)
        assert alarms[0].kind == "profile" and alarms[0].error_code == "Rejected"

        again = await profile_call(station, "Accepted")  # retried after CSMS_LOAD_RETRY
        assert again["csChargingProfiles"]["chargingProfileId"] == profile["chargingProfileId"]
        await eventually(system, AlarmRow, lambda found: found[0].resolved_at is not None)
        allocation = (await eventually(system, AllocationRow, lambda f: f and f[0].status == "Accepted"))[0]
        assert allocation.limit_a == Decimal(20) and allocation.attempts == 2

        fed = await api.post(f"/api/v1/operator/sites/{site_id}/load/feed", json={"limit": "12"})
        assert fed.json()["effective_limit"] == "12"
        lower = await profile_call(station, "Accepted")
        await system.load.settled()
        assert lower["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 12.0

        state = (await api.get(f"/api/v1/operator/sites/{site_id}/load")).json()
        assert [(a["transaction_id"], a["limit_a"]) for a in state["allocations"]] == [(tx_id, "12")]
        history = (await api.get(f"/api/v1/operator/sites/{site_id}/load/history")).json()
        assert [h["limit"] for h in history][-2:] == ["20", "12"]


async def test_an_ev_that_needs_little_waits_for_the_cheap_band(server: LiveServer) -> None:
    system = server.system
    zone = mid_day_zone(datetime.now(UTC))  # it is 12:xx there, and cheap from 14:00
    site_id = await admin.put_site("Home", uow=system.uow(), clock=system.clock, time_zone=zone.key)
    await a_station(system, "CP-2", site_id=site_id)
    await a_token(system, "TAG-2")
    fees = {"service_fee": "0", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    definition = {
        "bands": [
            {"name": "day", "start": "00:00", "end": "14:00", "energy_fee": "0.50", **fees},
            {"name": "cheap", "start": "14:00", "end": "24:00", "energy_fee": "0.10", **fees},
        ]
    }
    async with httpx.AsyncClient(base_url=server.http) as api:
        tenant = (await api.post("/api/v1/operator/tenants", json={"name": "Op", "currency": "EUR"})).json()
        tariff = await api.post(
            "/api/v1/operator/tariffs",
            json={"tenant_id": tenant["id"], "name": "TOU", "definition": definition},
        )
        assert tariff.status_code == 201, tariff.text
        await api.put(
            f"/api/v1/operator/tariffs/{tariff.json()['id']}/assignments", json={"site_id": site_id}
        )
    async with await WireStation.connect(server.ws, "CP-2", subprotocols=["ocpp2.0.1"]) as station:
        await station.ok("BootNotification", boot201())
        started = tx_event(
            "Started",
            "TX-2",
            0,
            evse={"id": 1, "connectorId": 1},
            idToken={"idToken": "TAG-2", "type": "ISO14443"},
        )
        await station.ok("TransactionEvent", started)
        departure = datetime.now(UTC) + timedelta(hours=6)
        needs = {
            "requestedEnergyTransfer": "AC_three_phase",
            "departureTime": iso(departure),
            "acChargingParameters": {
                "energyAmount": 5000,
                "evMinCurrent": 6,
                "evMaxCurrent": 32,
                "evMaxVoltage": 400,
            },
        }
        answer = await station.ok("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": needs})
        assert answer == {"status": "Accepted"}
        sent = await profile_call(station, "Accepted")
        schedule = sent["chargingProfile"]["chargingSchedule"][0]
        assert sent["evseId"] == 1 and sent["chargingProfile"]["transactionId"] == "TX-2"
        assert schedule["chargingSchedulePeriod"][0]["limit"] == 0.0  # not yet: 14:00 is cheaper
        need = (await rows(system, ChargingNeedRow))[0]
        assert (need.energy_wh, need.source) == (5000, "ev")

        unknown = await station.ok("NotifyEVChargingNeeds", {"evseId": 2, "chargingNeeds": needs})
        assert unknown == {"status": "Rejected"}
        no_departure = {"requestedEnergyTransfer": "AC_three_phase"}
        vague = await station.ok("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": no_departure})
        assert vague == {"status": "Rejected"}


async def test_operator_and_driver_api_refuse_bad_input(server: LiveServer) -> None:
    system = server.system
    site_id = await admin.put_site("Lot", uow=system.uow(), clock=system.clock)
    driver = await a_driver(system)
    load = f"/api/v1/operator/sites/{site_id}/load"
    needs = "/api/v1/sessions/12345/charging-needs"
    async with httpx.AsyncClient(base_url=server.http) as api:
        assert (await api.get("/api/v1/operator/sites/9999/load")).status_code == 404
        assert (await api.get(load)).status_code == 404
        assert (await api.post(f"{load}/feed", json={"limit": "5"})).status_code == 404
        negative = await api.put(load, json={"max_import": "-1"})
        assert negative.status_code == 422
        too_low = await api.put(load, json={"max_import": "4"})
        assert too_low.status_code == 422 and "min_current_a" in too_low.json()["detail"]
        watts = await api.put(
            f"/api/v1/operator/sites/{site_id}/load", json={"max_import": "43000", "unit": "W"}
        )
        assert watts.status_code == 200 and watts.json()["unit"] == "W"
        assert (await api.delete(load)).status_code == 204
        assert (await api.delete(load)).status_code == 404

        auth = {"Authorization": f"Bearer {driver.access_token}"}
        body = {"departure_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(), "energy_wh": 8000}
        missing = await api.put(needs, json=body, headers=auth)
        assert missing.status_code == 404
        past = {**body, "departure_at": "2020-01-01T00:00:00Z"}
        assert (await api.put(needs, json=past, headers=auth)).status_code == 422
        assert (await api.put(needs, json=body)).status_code == 401
