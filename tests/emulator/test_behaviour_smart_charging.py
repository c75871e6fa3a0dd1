"""Charging profiles set through the real server: the power the station delivers obeys them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chargepoints.tables import ConnectorRow, MeterSampleRow, TransactionRow
from tests.conftest import LiveServer
from tests.emulator_selftest.harness import Rig, rig_for, until

VERSIONS = ["1.6", "2.0.1"]


@pytest.fixture
async def rig(server: LiveServer) -> AsyncIterator[Rig]:
    async with rig_for(server) as made:
        yield made


def set_profile(
    version: str,
    evse_id: int,
    *,
    profile_id: int = 1,
    purpose: str = "TxDefaultProfile",
    unit: str = "W",
    periods: tuple[tuple[int, float], ...] = ((0, 11_000),),
    start: datetime | None = None,
) -> dict[str, Any]:
    """A SetChargingProfile payload of either version; without `start` the schedule is Relative."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": offset, "limit": limit} for offset, limit in periods],
    }
    if start is not None:
        schedule["startSchedule"] = start.isoformat().replace("+00:00", "Z")
    profile = {
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative" if start is None else "Absolute",
    }
    if version == "1.6":
        if purpose == "ChargingStationMaxProfile":
            profile["chargingProfilePurpose"] = "ChargePointMaxProfile"
        body = {**profile, "chargingProfileId": profile_id, "chargingSchedule": schedule}
        return {"connectorId": evse_id, "csChargingProfiles": body}
    body = {**profile, "id": profile_id, "chargingSchedule": [{"id": 1, **schedule}]}
    return {"evseId": evse_id, "chargingProfile": body}


def power(rig: Rig, evse_id: int = 1) -> float:
    return rig.stations[0].state.evse(evse_id).power_w


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_default_profile_limits_the_power_until_cleared(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)
    await station.start_transaction(1, "TAG-1")

    reply = await rig.call(
        "CS-1", "SetChargingProfile", set_profile(version, 1, unit="A", periods=((0, 16),))
    )
    assert reply["status"] == "Accepted"
    await until(lambda: power(rig) == pytest.approx(16 * 230 * 3))
    await station.send_meter_values(1, seconds=60)
    samples = await rig.wait_rows(MeterSampleRow, measurand="Power.Active.Import", context="Sample.Periodic")
    assert samples[-1].value == pytest.approx(11_040)

    if version == "1.6":
        query: dict[str, Any] = {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"}
    else:
        query = {"evseId": 1, "duration": 3600, "chargingRateUnit": "W"}
    composite = await rig.call("CS-1", "GetCompositeSchedule", query)
    schedule = composite["chargingSchedule"] if version == "1.6" else composite["schedule"]
    assert composite["status"] == "Accepted"
    assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 11_040.0}]

    clear = {"id": 1} if version == "1.6" else {"chargingProfileId": 1}
    assert (await rig.call("CS-1", "ClearChargingProfile", clear))["status"] == "Accepted"
    await until(lambda: power(rig) == 22_000)
    assert (await rig.call("CS-1", "ClearChargingProfile", clear))["status"] == "Unknown"


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_zero_limit_suspends_charging_and_a_tx_profile_needs_its_transaction(
    rig: Rig, version: str
) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)
    await station.start_transaction(1, "TAG-1")

    no_session = await rig.call("CS-1", "SetChargingProfile", set_profile(version, 2, purpose="TxProfile"))
    assert no_session["status"] == "Rejected"
    zero = set_profile(version, 1, purpose="TxProfile", periods=((0, 0),))
    assert (await rig.call("CS-1", "SetChargingProfile", zero))["status"] == "Accepted"

    await until(lambda: station.state.evse(1).charging_state == "SuspendedEVSE")
    if version == "1.6":
        await rig.wait_rows(ConnectorRow, evse_id=1, charging_state="SuspendedEVSE")
    else:
        await rig.wait_rows(TransactionRow, charging_state="SuspendedEVSE")
    await station.stop_transaction(1)
    assert not station.state.profiles.profiles  # a TxProfile ends with its transaction


@pytest.mark.parametrize("version", VERSIONS)
async def test_power_follows_a_schedule_period_when_it_begins(rig: Rig, version: str) -> None:
    await rig.token("TAG-1")
    station = await rig.station(version)
    await station.start_transaction(1, "TAG-1")
    payload = set_profile(version, 0, periods=((0, 20_000), (1, 5_000)), start=datetime.now(UTC))
    assert (await rig.call("CS-1", "SetChargingProfile", payload))["status"] == "Accepted"
    await until(lambda: power(rig) == 5_000, limit=3.0)


async def test_the_station_maximum_is_shared_by_the_charging_evses(rig: Rig) -> None:
    for token in ("TAG-1", "TAG-2"):  # one token cannot charge twice at once (ConcurrentTx)
        await rig.token(token)
    station = await rig.station("1.6")
    await station.start_transaction(1, "TAG-1")
    await station.start_transaction(2, "TAG-2")

    payload = set_profile("1.6", 0, purpose="ChargingStationMaxProfile", periods=((0, 10_000),))
    assert (await rig.call("CS-1", "SetChargingProfile", payload))["status"] == "Accepted"
    await until(lambda: power(rig, 1) == power(rig, 2) == 5_000)
    await station.stop_transaction(2)
    await until(lambda: power(rig, 1) == 10_000)


async def test_a_remote_start_brings_its_own_profile(rig: Rig) -> None:
    await rig.token("TAG-1")
    station = await rig.station("1.6")
    profile = set_profile("1.6", 1, purpose="TxProfile", periods=((0, 3_000),))["csChargingProfiles"]

    start = {"idTag": "TAG-1", "connectorId": 1, "chargingProfile": profile}
    assert (await rig.call("CS-1", "RemoteStartTransaction", start))["status"] == "Accepted"
    await until(lambda: power(rig) == 3_000)
    assert station.transactions
