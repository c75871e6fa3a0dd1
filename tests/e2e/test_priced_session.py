"""An emulated session across a tariff band boundary: live cost while charging, then a CDR whose
numbers are worked out here by hand from the meter readings the station sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

import httpx
import pytest

from chargepoints import admin
from csms.settings import Settings
from emulator import Station, StationSpec
from tests.builders import a_station, a_token, mid_day_zone
from tests.conftest import LiveServer

CENT = Decimal("0.01")
BEFORE_FEE, AFTER_FEE, SERVICE_FEE, TAX = Decimal("0.30"), Decimal("0.60"), Decimal("0.10"), Decimal("0.20")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cost_update_interval": 0.01})


def band(name: str, start: str, end: str, fee: Decimal) -> dict[str, Any]:
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    times = {"start": start, "end": end}
    return {"name": name, "days": days, **times, "energy_fee": str(fee), "service_fee": str(SERVICE_FEE)}


def two_bands(boundary: str) -> dict[str, Any]:
    bands = [band("before", "00:00", boundary, BEFORE_FEE), band("after", boundary, "24:00", AFTER_FEE)]
    return {"bands": bands, "tax_rate": str(TAX)}


def steps(readings: list[tuple[datetime, int]]) -> Iterator[tuple[datetime, int, datetime, int]]:
    yield from ((a, wa, b, wb) for (a, wa), (b, wb) in pairwise(readings))


def split_at(boundary: datetime, readings: list[tuple[datetime, int]]) -> tuple[Decimal, Decimal]:
    """Wh before and after the boundary: a step across it shared in proportion to time."""
    before = after = Decimal(0)
    for start, wh_start, end, wh_end in steps(readings):
        rise = Decimal(wh_end - wh_start)
        if end <= boundary:
            before += rise
        elif start >= boundary:
            after += rise
        else:
            share = (
                rise
                * Decimal((boundary - start) / timedelta(microseconds=1))
                / Decimal((end - start) / timedelta(microseconds=1))
            )
            before, after = before + share, after + rise - share
    return before, after


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_session_across_a_band_boundary_is_priced_by_band(server: LiveServer, version: str) -> None:
    zone = mid_day_zone(datetime.now(UTC))
    boundary_local = (datetime.now(zone) + timedelta(seconds=6)).replace(microsecond=0)
    boundary = boundary_local.astimezone(UTC)
    system = server.system
    site_id = await admin.put_site("Depot", uow=system.uow(), clock=system.clock, time_zone=zone.key)
    await a_station(system, "EMU-TOU", site_id=site_id)
    await a_token(system, "TAG-0001")
    async with httpx.AsyncClient(base_url=server.http) as api:
        tenant = (await api.post("/api/v1/operator/tenants", json={"name": "Op", "currency": "EUR"})).json()
        tariff = await api.post(
            "/api/v1/operator/tariffs",
            json={
                "tenant_id": tenant["id"],
                "name": "TOU",
                "definition": two_bands(boundary_local.strftime("%H:%M:%S")),
            },
        )
        assert tariff.status_code == 201, tariff.text
        assigned = await api.put(
            f"/api/v1/operator/tariffs/{tariff.json()['id']}/assignments",
            json={"site_id": site_id},
        )
        assert assigned.status_code == 200, assigned.text

        emulated = Station(StationSpec("EMU-TOU", version, evse_count=1), server.ws)  # type: ignore[arg-type]
        assert await emulated.connect() == "Accepted"
        await emulated.start_transaction(1, "TAG-0001")
        await emulated.send_meter_values(1, seconds=600)
        await asyncio.sleep(max(0.0, (boundary - datetime.now(UTC)).total_seconds()) + 0.5)
        await emulated.send_meter_values(1, seconds=600)
        if version == "2.0.1":  # the running cost reaches the station as CostUpdated
            evse = emulated.state.evse(1)
            for _ in range(50):
                if evse.session is not None and evse.session.total_cost:
                    break
                await asyncio.sleep(0.1)
            assert evse.session is not None and evse.session.total_cost
        await emulated.stop_transaction(1)
        await emulated.close()

        listed = (await api.get("/api/v1/operator/transactions", params={"station_id": "EMU-TOU"})).json()
        tx = (await api.get(f"/api/v1/operator/transactions/{listed['items'][0]['id']}")).json()
        cdrs = (await api.get("/api/v1/operator/cdrs", params={"station_id": "EMU-TOU"})).json()

    readings = sorted(
        (datetime.fromisoformat(s["timestamp"]), round(s["value"]))
        for s in tx["samples"]
        if s["measurand"] == "Energy.Active.Import.Register" and s["phase"] is None
    )
    readings = [(datetime.fromisoformat(tx["started_at"]), tx["meter_start_wh"]), *readings]
    before_wh, after_wh = split_at(boundary, readings)
    assert before_wh > 0 and after_wh > 0, "the session must straddle the boundary"
    net = (before_wh * (BEFORE_FEE + SERVICE_FEE) + after_wh * (AFTER_FEE + SERVICE_FEE)) / 1000
    subtotal = net.quantize(CENT, ROUND_HALF_UP)
    tax = (net * TAX).quantize(CENT, ROUND_HALF_UP)

    assert cdrs["total"] == 1
    cdr = cdrs["items"][0]
    assert cdr["energy_wh"] == tx["meter_stop_wh"] - tx["meter_start_wh"]
    figures = Decimal(cdr["subtotal"]), Decimal(cdr["tax"]), Decimal(cdr["total"])
    assert figures == (subtotal, tax, subtotal + tax)
    energy = {line["band"]: Decimal(line["quantity"]) for line in cdr["lines"] if line["kind"] == "energy"}
    assert abs(energy["before"] - before_wh / 1000) < Decimal("0.000001")
    assert abs(energy["after"] - after_wh / 1000) < Decimal("0.000001")
