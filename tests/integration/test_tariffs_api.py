"""Tariffs through the operator API: versions, assignments, the lookups sessions use, previews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from chargepoints import admin
from csms.audit import AuditRow
from tariffs import services
from tariffs.services import PinnedTariff
from tests.builders import a_station
from tests.conftest import LiveServer

API = "/api/v1/operator"
START = "2026-01-01T00:00:00Z"
PROBLEM = "application/problem+json"


def flat(name: str = "all day", fee: str = "0.30", **terms: Any) -> dict[str, Any]:
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {
        "bands": [{"name": name, "days": days, "start": "00:00", "end": "24:00", "energy_fee": fee}],
        **terms,
    }


def two_bands(day_start: str = "08:00") -> dict[str, Any]:
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {
        "bands": [
            {"name": "night", "days": days, "start": "00:00", "end": "08:00", "energy_fee": "0.20"},
            {
                "name": "day",
                "days": days,
                "start": day_start,
                "end": "24:00",
                "energy_fee": "0.40",
                "service_fee": "0.05",
            },
        ],
        "session_fee": "1.00",
        "idle_fee": {"per_minute": "0.10", "grace_minutes": 5},
        "tax_rate": "0.10",
    }


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def a_tenant(api: httpx.AsyncClient, name: str = "Volt GmbH", currency: str = "EUR") -> int:
    made = await api.post(f"{API}/tenants", json={"name": name, "currency": currency})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def a_tariff(
    api: httpx.AsyncClient, tenant_id: int, name: str, definition: dict[str, Any], valid_from: str = START
) -> dict[str, Any]:
    body = {"tenant_id": tenant_id, "name": name, "valid_from": valid_from, "definition": definition}
    made = await api.post(f"{API}/tariffs", json=body)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def lookup(
    server: LiveServer, station_id: str, evse_id: int | None, at: datetime
) -> PinnedTariff | None:
    async with server.system.uow() as uow:
        return await services.tariff_for(uow, station_id, evse_id, at)


async def tariff_id_for(server: LiveServer, station_id: str, evse_id: int | None, at: datetime) -> int | None:
    found = await lookup(server, station_id, evse_id, at)
    return None if found is None else found.tariff_id


async def test_the_most_specific_assignment_wins(server: LiveServer, api: httpx.AsyncClient) -> None:
    clock = server.system.clock
    site = await admin.put_site("Depot", uow=server.system.uow(), clock=clock, time_zone="Europe/Vienna")
    await a_station(server.system, "CP-1", site_id=site)
    await a_station(server.system, "CP-2")
    tenant = await a_tenant(api)
    ids = {}
    for name, fee in (("site", "0.30"), ("station", "0.40"), ("evse", "0.50")):
        ids[name] = (await a_tariff(api, tenant, name, flat(fee=fee)))["id"]
    targets = {"site": {"site_id": site}, "station": {"station_id": "CP-1"}}
    targets["evse"] = {"station_id": "CP-1", "evse_id": 2}
    for name, target in targets.items():
        assigned = await api.put(f"{API}/tariffs/{ids[name]}/assignments", json=target)
        assert assigned.status_code == 200, assigned.text
        assert assigned.json() == {"site_id": None, "station_id": None, "evse_id": None, **target}

    now = clock.now()
    picked = {evse: await lookup(server, "CP-1", evse, now) for evse in (2, 1, None)}
    assert [p.tariff_id if p else None for p in picked.values()] == [
        ids["evse"],
        ids["station"],
        ids["station"],
    ]
    evse = picked[2]
    assert evse is not None and evse.time_zone == "Europe/Vienna"
    assert evse.tariff.currency == "EUR" and evse.tariff.bands[0].energy_fee == Decimal("0.50")
    assert await lookup(server, "CP-2", 1, now) is None
    assert await lookup(server, "CP-404", 1, now) is None
    later = (now + timedelta(days=1)).isoformat()
    future = (await a_tariff(api, tenant, "future", flat(), valid_from=later))["id"]
    await api.put(f"{API}/tariffs/{future}/assignments", json={"station_id": "CP-1", "evse_id": 1})
    assert await tariff_id_for(server, "CP-1", 1, now) == ids["station"]  # not in force yet
    assert await tariff_id_for(server, "CP-1", 1, now + timedelta(days=2)) == future

    archived = await api.post(f"{API}/tariffs/{ids['evse']}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert await tariff_id_for(server, "CP-1", 2, now) == ids["station"]
    gone = await api.request("DELETE", f"{API}/tariffs/{ids['station']}/assignments", json=targets["station"])
    assert gone.status_code == 204
    assert await tariff_id_for(server, "CP-1", 2, now) == ids["site"]
    await api.put(f"{API}/tariffs/{ids['station']}/assignments", json={"station_id": "CP-2"})
    unsited = await lookup(server, "CP-2", 1, now)
    assert unsited is not None and (unsited.tariff_id, unsited.time_zone) == (ids["station"], "UTC")


async def test_a_new_tariff_for_a_target_replaces_the_old(server: LiveServer, api: httpx.AsyncClient) -> None:
    site = await admin.put_site("Depot", uow=server.system.uow(), clock=server.system.clock)
    await a_station(server.system, "CP-1", site_id=site)
    tenant = await a_tenant(api)
    first, second = [(await a_tariff(api, tenant, name, flat()))["id"] for name in ("first", "second")]
    for tariff_id in (first, second):
        replaced = await api.put(f"{API}/tariffs/{tariff_id}/assignments", json={"site_id": site})
        assert replaced.status_code == 200
    assert await tariff_id_for(server, "CP-1", None, server.system.clock.now()) == second
    assert (await api.get(f"{API}/tariffs/{first}")).json()["assignments"] == []
    assert (await api.get(f"{API}/tariffs/{second}")).json()["assignments"] == [
        {"site_id": site, "station_id": None, "evse_id": None}
    ]

    listed = (await api.get(f"{API}/tariffs", params={"tenant_id": tenant, "limit": 1, "offset": 1})).json()
    assert listed["total"] == 2 and [t["name"] for t in listed["items"]] == ["second"]
    other = await a_tenant(api, "Other", "CHF")
    assert (await api.get(f"{API}/tariffs", params={"tenant_id": other})).json()["total"] == 0


async def test_a_new_version_changes_nothing_before_it(server: LiveServer, api: httpx.AsyncClient) -> None:
    await a_station(server.system, "CP-1")
    tenant = await a_tenant(api)
    tariff = await a_tariff(api, tenant, "standard", flat(fee="0.30"))
    first_id = tariff["versions"][0]["id"]
    assert tariff["currency"] == "EUR" and tariff["versions"][0]["version"] == 1
    assert tariff["versions"][0]["definition"]["bands"][0]["end"] == "24:00"
    await api.put(f"{API}/tariffs/{tariff['id']}/assignments", json={"station_id": "CP-1"})
    now = server.system.clock.now()
    starts = (now + timedelta(hours=1)).isoformat()

    made = await api.post(
        f"{API}/tariffs/{tariff['id']}/versions", json={"valid_from": starts, "definition": flat(fee="0.45")}
    )
    assert made.status_code == 201, made.text
    second = made.json()
    assert second["version"] == 2 and datetime.fromisoformat(second["valid_from"]) == datetime.fromisoformat(
        starts
    )

    before, after = (
        await lookup(server, "CP-1", 1, now),
        await lookup(server, "CP-1", 1, now + timedelta(hours=2)),
    )
    assert before is not None and after is not None
    assert (before.version_id, before.tariff.bands[0].energy_fee) == (first_id, Decimal("0.30"))
    assert (after.version_id, after.tariff.bands[0].energy_fee) == (second["id"], Decimal("0.45"))
    async with server.system.uow() as uow:
        again = await services.pinned(uow, first_id, "CP-1")
    assert again == before

    url = f"{API}/tariffs/{tariff['id']}/versions"
    for valid_from in (now - timedelta(minutes=10), now + timedelta(minutes=30)):
        refused = await api.post(url, json={"valid_from": valid_from.isoformat(), "definition": flat()})
        assert refused.status_code == 409 and "history is never rewritten" in refused.json()["detail"]
    detail = (await api.get(f"{API}/tariffs/{tariff['id']}")).json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    await api.post(f"{API}/tariffs/{tariff['id']}/archive")
    archived = await api.post(url, json={"definition": flat()})
    assert archived.status_code == 409 and "archived" in archived.json()["detail"]


@pytest.mark.parametrize(
    ("bands", "band", "words"),
    [
        ([("day", "00:00", "12:00"), ("evening", "11:00", "24:00")], "evening", "overlap"),
        ([("morning", "00:00", "08:00"), ("rest", "09:00", "24:00")], "morning", "no band covers"),
    ],
)
async def test_overlaps_and_gaps_are_422_naming_the_band(
    api: httpx.AsyncClient, bands: list[tuple[str, str, str]], band: str, words: str
) -> None:
    tenant = await a_tenant(api)
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    definition = {
        "bands": [
            {"name": name, "days": days, "start": start, "end": end, "energy_fee": "0.3"}
            for name, start, end in bands
        ]
    }
    refused = await api.post(
        f"{API}/tariffs", json={"tenant_id": tenant, "name": "x", "definition": definition}
    )
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["band"] == band and repr(band) in problem["detail"] and words in problem["detail"]
    assert (await api.get(f"{API}/tariffs")).json()["total"] == 0


async def test_bad_requests_are_refused(api: httpx.AsyncClient) -> None:
    tenant = await a_tenant(api)
    body = {"tenant_id": tenant, "name": "x", "definition": flat()}
    assert (
        await api.post(f"{API}/tariffs", json={**body, "valid_from": "2026-01-01T00:00:00"})
    ).status_code == 422
    assert (await api.post(f"{API}/tariffs", json={**body, "definition": flat(fee=0.3)})).status_code == 422
    negative = await api.post(f"{API}/tariffs", json={**body, "definition": flat(fee="-0.1")})
    assert negative.status_code == 422 and negative.json()["band"] == "all day"
    assert (await api.post(f"{API}/tenants", json={"name": "Y", "currency": "eur"})).status_code == 422
    tariff = await a_tariff(api, tenant, "x", flat())
    for target in ({}, {"site_id": 1, "station_id": "CP-1"}, {"evse_id": 1}):
        wrong = await api.put(f"{API}/tariffs/{tariff['id']}/assignments", json=target)
        assert wrong.status_code == 422 and wrong.headers["content-type"] == PROBLEM


async def test_unknown_ids_are_404_and_duplicates_409(server: LiveServer, api: httpx.AsyncClient) -> None:
    tenant = await a_tenant(api)
    tariff = await a_tariff(api, tenant, "standard", flat())
    url = f"{API}/tariffs/{tariff['id']}"
    await a_station(server.system, "CP-1")
    missing = [
        await api.post(f"{API}/tariffs", json={"tenant_id": 999, "name": "x", "definition": flat()}),
        await api.get(f"{API}/tariffs/999"),
        await api.post(f"{API}/tariffs/999/versions", json={"definition": flat()}),
        await api.post(f"{API}/tariffs/999/archive"),
        await api.put(f"{url}/assignments", json={"station_id": "CP-404"}),
        await api.put(f"{url}/assignments", json={"site_id": 999}),
        await api.put(f"{API}/tariffs/999/assignments", json={"station_id": "CP-1"}),
        await api.request("DELETE", f"{url}/assignments", json={"station_id": "CP-1"}),
        await api.get(
            f"{API}/tariffs/999/price",
            params={"started_at": START, "ended_at": "2026-01-01T01:00:00Z", "energy_wh": 1},
        ),
    ]
    assert [r.status_code for r in missing] == [404] * len(missing)
    assert all(r.headers["content-type"] == PROBLEM for r in missing)
    assert "Tenant 999" in missing[0].json()["detail"] and "CP-404" in missing[4].json()["detail"]
    twin = await api.post(
        f"{API}/tariffs", json={"tenant_id": tenant, "name": "standard", "definition": flat()}
    )
    assert twin.status_code == 409
    assert (
        await api.post(f"{API}/tenants", json={"name": "Volt GmbH", "currency": "EUR"})
    ).status_code == 409
    tenants = (await api.get(f"{API}/tenants")).json()
    assert tenants["total"] == 1 and tenants["items"][0]["currency"] == "EUR"


async def test_preview_prices_a_two_band_session(server: LiveServer, api: httpx.AsyncClient) -> None:
    tenant = await a_tenant(api)
    tariff = await a_tariff(api, tenant, "tou", two_bands())
    url = f"{API}/tariffs/{tariff['id']}/price"
    # 07:00-09:00 UTC, 10 kWh evenly: 5 kWh at night, 5 by day, then 15 minutes idle (5 free).
    session = {"started_at": "2026-03-02T07:00:00Z", "ended_at": "2026-03-02T09:00:00Z", "energy_wh": 10_000}
    priced = await api.get(url, params={**session, "idle_minutes": 15})
    assert priced.status_code == 200, priced.text
    body = priced.json()
    assert (body["version"], body["time_zone"], body["currency"]) == (1, "UTC", "EUR")
    lines = {
        (line["kind"], line["band"]): (Decimal(line["quantity"]), Decimal(line["amount"]))
        for line in body["lines"]
    }
    assert lines == {
        ("energy", "night"): (Decimal(5), Decimal("1.00")),
        ("energy", "day"): (Decimal(5), Decimal("2.00")),
        ("service", "day"): (Decimal(5), Decimal("0.25")),
        ("idle", None): (Decimal(10), Decimal("1.00")),
        ("session", None): (Decimal(1), Decimal("1.00")),
    }
    # 5.25 net; 10 % tax is 0.525, rounded half-up once.
    assert (body["subtotal"], body["tax"], body["total"]) == ("5.25", "0.53", "5.78")

    # In Vienna (UTC+1 in March) the whole session falls in the day band: 10 kWh * 0.45 + 1.00.
    site = await admin.put_site(
        "Wien", uow=server.system.uow(), clock=server.system.clock, time_zone="Europe/Vienna"
    )
    for where in ({"time_zone": "Europe/Vienna"}, {"site_id": site}):
        local = (await api.get(url, params={**session, **where})).json()
        assert (local["time_zone"], local["subtotal"], local["tax"], local["total"]) == (
            "Europe/Vienna",
            "5.50",
            "0.55",
            "6.05",
        )

    refused = [
        await api.get(url, params={**session, "started_at": "2026-03-02T07:00:00"}),
        await api.get(url, params={**session, "ended_at": "2026-03-02T06:00:00Z"}),
        await api.get(url, params={**session, "time_zone": "Mars/Olympus"}),
        await api.get(url, params={**session, "time_zone": "UTC", "site_id": site}),
    ]
    assert [r.status_code for r in refused] == [422] * 4
    assert (await api.get(url, params={**session, "version": 2})).status_code == 404
    early = {**session, "started_at": "2025-12-31T22:00:00Z", "ended_at": "2025-12-31T23:00:00Z"}
    assert (await api.get(url, params=early)).status_code == 404
    assert (await api.get(url, params={**session, "site_id": 999})).status_code == 404


async def test_every_change_is_audited(server: LiveServer, api: httpx.AsyncClient) -> None:
    await a_station(server.system, "CP-1")
    tenant = await a_tenant(api)
    tariff = await a_tariff(api, tenant, "standard", flat())
    url = f"{API}/tariffs/{tariff['id']}"
    await api.post(f"{url}/versions", json={"definition": flat(fee="0.35")})
    await api.put(f"{url}/assignments", json={"station_id": "CP-1", "evse_id": 1})
    await api.request("DELETE", f"{url}/assignments", json={"station_id": "CP-1", "evse_id": 1})
    await api.post(f"{url}/archive")
    await api.post(f"{url}/archive")  # already archived: nothing changes, nothing to record
    async with server.system.sessions() as session:
        rows = (await session.execute(select(AuditRow).order_by(col(AuditRow.id)))).scalars().all()
    assert [(row.action, row.subject) for row in rows] == [
        ("tenant.create", f"tenant:{tenant}"),
        ("tariff.create", f"tariff:{tariff['id']}"),
        ("tariff.version", f"tariff:{tariff['id']}"),
        ("tariff.version", f"tariff:{tariff['id']}"),
        ("tariff.assign", f"tariff:{tariff['id']}"),
        ("tariff.unassign", f"tariff:{tariff['id']}"),
        ("tariff.archive", f"tariff:{tariff['id']}"),
    ]
    assert all(row.actor == "api@127.0.0.1" for row in rows)
    assert rows[3].details["version"] == 2 and rows[4].details["target"] == "evse:CP-1/1"
