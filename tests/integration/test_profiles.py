"""Charging profiles: stored, translated per version, installed or rejected, cleared, composite."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from emulator import Station, StationSpec
from tests.builders import a_station, a_token, boot16, boot201, start16
from tests.conftest import LiveServer
from tests.wire import WireStation

PROFILES = "/api/v1/operator/stations/CP-1/charging-profiles"
DAILY = {
    "evse_id": 0,
    "purpose": "ChargingStationMaxProfile",
    "kind": "Recurring",
    "recurrency": "Daily",
    "start": "2026-11-24T00:00:00Z",
    "unit": "A",
    "periods": [{"start_s": 0, "limit": 32}, {"start_s": 61200, "limit": 16, "phases": 3}],
}


async def exchange(
    api: httpx.AsyncClient,
    station: WireStation,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    reply: dict[str, Any],
) -> tuple[httpx.Response, list[Any]]:
    request = asyncio.create_task(api.request(method, path, json=body))
    frame = await station.recv()
    await station.send_raw(f'[3,"{frame[1]}",{json.dumps(reply)}]')
    return await request, frame


async def test_1_6_station_max_profile_and_tx_profile(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    await a_token(server.system, "TAG-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        made, frame = await exchange(api, station, "POST", PROFILES, DAILY, {"status": "Accepted"})
        tx_id = (await station.ok("StartTransaction", start16()))["transactionId"]
        tx_body = {
            "evse_id": 1,
            "purpose": "TxProfile",
            "kind": "Relative",
            "transaction_id": tx_id,
            "unit": "W",
            "periods": [{"start_s": 0, "limit": 7400}],
        }
        refused, tx_frame = await exchange(api, station, "POST", PROFILES, tx_body, {"status": "Rejected"})
        listed = (await api.get(PROFILES)).json()
    assert made.status_code == 201 and made.json()["status"] == "Installed"
    assert frame[3] == {
        "connectorId": 0,
        "csChargingProfiles": {
            "chargingProfileId": made.json()["id"],
            "stackLevel": 0,
            "chargingProfileKind": "Recurring",
            "recurrencyKind": "Daily",
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "startSchedule": "2026-11-24T00:00:00.000Z",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 32.0},
                    {"startPeriod": 61200, "limit": 16.0, "numberPhases": 3},
                ],
            },
        },
    }
    assert tx_frame[3]["csChargingProfiles"]["transactionId"] == tx_id
    assert refused.status_code == 409
    assert [p["status"] for p in listed] == ["Installed", "Rejected"]


async def test_2_0_1_set_clear_and_composite(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1", subprotocols=("ocpp2.0.1",)) as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot201())
        per_evse = {**DAILY, "evse_id": 1, "purpose": "TxDefaultProfile"}  # a station maximum is on 0 only
        made, frame = await exchange(api, station, "POST", PROFILES, per_evse, {"status": "Accepted"})
        cleared, clear_frame = await exchange(
            api, station, "DELETE", f"{PROFILES}?evse_id=1", None, {"status": "Accepted"}
        )
        schedule = {
            "status": "Accepted",
            "schedule": {
                "evseId": 1,
                "duration": 3600,
                "scheduleStart": "2026-11-24T00:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32}],
            },
        }
        composite, composite_frame = await exchange(
            api,
            station,
            "POST",
            "/api/v1/operator/stations/CP-1/composite-schedule",
            {"evse_id": 1, "duration_s": 3600},
            schedule,
        )
        listed = (await api.get(PROFILES)).json()
    profile = frame[3]["chargingProfile"]
    assert frame[3]["evseId"] == 1 and profile["chargingProfilePurpose"] == "TxDefaultProfile"
    assert profile["chargingSchedule"][0]["chargingSchedulePeriod"][1] == {
        "startPeriod": 61200,
        "limit": 16.0,
        "numberPhases": 3,
    }
    assert clear_frame[3] == {"chargingProfileCriteria": {"evseId": 1}}
    assert cleared.json()["cleared"] == [made.json()["id"]] and listed[0]["status"] == "Cleared"
    assert composite_frame[3] == {"evseId": 1, "duration": 3600}
    assert composite.json()["response"]["schedule"]["chargingSchedulePeriod"][0]["limit"] == 32


async def test_invalid_profiles_are_422_before_anything_is_sent(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        bad = [
            {**DAILY, "periods": [{"start_s": 10, "limit": 16}]},
            {**DAILY, "recurrency": None},
            {**DAILY, "purpose": "TxProfile"},
            {**DAILY, "unit": "kW"},
            {**DAILY, "purpose": "ChargingStationExternalConstraints"},
        ]
        answers = [await api.post(PROFILES, json=body) for body in bad]
        stored = (await api.get(PROFILES)).json()
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 422]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert [e["msg"] for e in answers[0].json()["errors"]] == [
        "periods[0].start_s is 10; the first period must start at 0."
    ]
    assert stored == []


@pytest.mark.parametrize(
    ("version", "changes", "expected"),
    [
        ("1.6", {"periods": [{"start_s": 0, "limit": 16.05}]}, ["periods[0].limit is 16.05; OCPP 1.6"]),
        ("2.0.1", {"evse_id": 1}, ["evse_id is 1; a ChargingStationMaxProfile"]),
        (
            "2.0.1",
            {"purpose": "ChargingStationExternalConstraints"},
            ["purpose ChargingStationExternalConstraints"],
        ),
        (
            "1.6",
            {"purpose": "TxDefaultProfile", "transaction_id": 7, "kind": "Relative", "recurrency": "Daily"},
            ["recurrency is only for Recurring", "start must be empty", "transaction is set"],
        ),
    ],
)
async def test_a_422_names_every_field_the_version_objects_to(
    server: LiveServer, version: str, changes: dict[str, Any], expected: list[str]
) -> None:
    await a_station(server.system, "CP-1")
    subprotocols = ("ocpp1.6",) if version == "1.6" else ("ocpp2.0.1",)
    async with (
        await WireStation.connect(server.ws, "CP-1", subprotocols=subprotocols) as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16() if version == "1.6" else boot201())
        refused = await api.post(PROFILES, json={**DAILY, **changes})
    assert refused.status_code == 422
    found = [e["msg"] for e in refused.json()["errors"]]
    assert len(found) == len(expected) and all(m.startswith(e) for m, e in zip(found, expected, strict=True))


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def station_max() -> dict[str, Any]:
    """25 A a phase for the station, 16 A from 17:00 to midnight, every day."""
    periods = [{"start_s": 0, "limit": 25}, {"start_s": 17 * 3600, "limit": 16, "phases": 3}]
    return {**DAILY, "start": today().isoformat(), "periods": periods}


def evse_default() -> dict[str, Any]:
    """20 A for every session on EVSE 1."""
    periods = [{"start_s": 0, "limit": 20}]
    return {"evse_id": 1, "purpose": "TxDefaultProfile", "start": today().isoformat(), "periods": periods}


def expected(begin: datetime, duration_s: int = 86_400) -> list[dict[str, Any]]:
    """The lower of the two: 20 A, but 16 A on 3 phases from 17:00 until midnight."""

    def limit(moment: datetime) -> dict[str, Any]:
        return {"limit": 16.0, "phases": 3} if moment.hour >= 17 else {"limit": 20.0, "phases": None}

    day, end = begin.replace(hour=0, minute=0, second=0, microsecond=0), begin + timedelta(seconds=duration_s)
    edges = [day + timedelta(hours=hours) for hours in (17, 24, 41)]
    steps = [{"start_s": 0, **limit(begin)}]
    steps += [{"start_s": (e - begin) // timedelta(seconds=1), **limit(e)} for e in edges if begin < e < end]
    return steps


async def test_our_composite_of_a_daily_station_maximum_and_a_default(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with httpx.AsyncClient(base_url=server.http) as api:
        async with await WireStation.connect(server.ws, "CP-1") as station:
            await station.ok("BootNotification", boot16())
            for body in (station_max(), evse_default()):
                made, _ = await exchange(api, station, "POST", PROFILES, body, {"status": "Accepted"})
                assert made.status_code == 201, made.text
        # The station is gone: ours needs no round trip.
        schedule = "/api/v1/operator/stations/CP-1/composite-schedule"
        evse = (await api.get(schedule, params={"evse_id": 1, "duration_s": 86_400})).json()
        station_wide = (await api.get(schedule, params={"duration_s": 3600, "unit": "W"})).json()
        unknown = await api.get(
            "/api/v1/operator/stations/CP-9/composite-schedule", params={"duration_s": 60}
        )
    assert evse["computed"] == expected(datetime.fromisoformat(evse["start"]))
    assert evse["unit"] == "A" and evse["duration_s"] == 86_400
    begin = datetime.fromisoformat(station_wide["start"])
    watts = 16 * 230 * 3 if begin.hour >= 17 else 25 * 230 * 3
    assert station_wide["computed"][0] == {
        "start_s": 0,
        "limit": watts,
        "phases": 3 if begin.hour >= 17 else None,
    }
    assert unknown.status_code == 404


@pytest.mark.parametrize("unit", ["A", "W"])
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_our_composite_matches_what_an_emulated_station_follows(
    server: LiveServer, version: str, unit: str
) -> None:
    await a_station(server.system, "EMU-P")
    emulated = Station(StationSpec("EMU-P", version, evse_count=1), server.ws)  # type: ignore[arg-type]
    assert await emulated.connect() == "Accepted"
    try:
        async with httpx.AsyncClient(base_url=server.http) as api:
            for body in (station_max(), evse_default()):
                made = await api.post("/api/v1/operator/stations/EMU-P/charging-profiles", json=body)
                assert made.status_code == 201, made.text
            compared = await api.post(
                "/api/v1/operator/stations/EMU-P/composite-schedule",
                json={"evse_id": 1, "duration_s": 86_400, "unit": unit},
            )
    finally:
        await emulated.close()
    assert compared.status_code == 200, compared.text
    answer = compared.json()
    assert answer["differences"] == []
    reported = answer["response"].get("schedule") or answer["response"]["chargingSchedule"]
    assert len(reported["chargingSchedulePeriod"]) == len(answer["computed"]) == 3
    per_amp = 1 if unit == "A" else 230 * 3
    assert sorted({s["limit"] for s in answer["computed"]}) == [16.0 * per_amp, 20.0 * per_amp]


async def test_a_tenant_keeps_profiles_in_a_library_and_applies_them(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    library = "/api/v1/operator/charging-profile-templates"
    night = {**DAILY, "purpose": "TxDefaultProfile", "periods": [{"start_s": 0, "limit": 16}]}
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        tenant = (await api.post("/api/v1/operator/tenants", json={"name": "Op", "currency": "EUR"})).json()
        body = {"tenant_id": tenant["id"], "name": "Night", "profile": night}
        made = await api.post(library, json=body)
        assert made.status_code == 201, made.text
        assert "evse_id" not in made.json()["definition"]
        assert (await api.post(library, json=body)).status_code == 409
        tx = {**body, "name": "Tx", "profile": {**night, "purpose": "TxProfile", "transaction_id": 1}}
        assert (await api.post(library, json=tx)).status_code == 422
        gap = {**body, "name": "Gap", "profile": {**night, "periods": [{"start_s": 60, "limit": 16}]}}
        refused = await api.post(library, json=gap)
        assert refused.status_code == 422 and refused.json()["errors"]
        other = {**body, "tenant_id": 9999, "name": "Elsewhere"}
        assert (await api.post(library, json=other)).status_code == 404

        applied, frame = await exchange(
            api,
            station,
            "POST",
            f"{library}/{made.json()['id']}/apply",
            {"station_id": "CP-1", "evse_id": 1},
            {"status": "Accepted"},
        )
        assert applied.status_code == 201, applied.text
        assert applied.json()["status"] == "Installed" and applied.json()["evse_id"] == 1
        sent = frame[3]["csChargingProfiles"]
        assert frame[3]["connectorId"] == 1 and sent["chargingProfilePurpose"] == "TxDefaultProfile"
        assert sent["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16.0}]

        changed = await api.put(f"{library}/{made.json()['id']}", json={**body, "name": "Night 2"})
        assert changed.status_code == 200 and changed.json()["name"] == "Night 2"
        listed = (await api.get(library, params={"tenant_id": tenant["id"]})).json()
        assert [t["name"] for t in listed] == ["Night 2"]
        assert (await api.delete(f"{library}/{made.json()['id']}")).status_code == 204
        assert (await api.get(f"{library}/{made.json()['id']}")).status_code == 404
        missing = await api.post(f"{library}/{made.json()['id']}/apply", json={"station_id": "CP-1"})
        assert missing.status_code == 404
