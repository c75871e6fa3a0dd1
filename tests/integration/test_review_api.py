"""The review queue and the CDR API, over HTTP against sessions sent over the wire."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from chargepoints import cdrs, review
from chargepoints.tables import EvseRow
from csms.audit import AuditRow
from csms.bootstrap import System
from tests.builders import a_station, a_token
from tests.conftest import LiveServer
from tests.fakes import FakeClock
from tests.integration.test_cdrs import (
    a_tariff_for,
    at,
    booted16,
    cdrs_of,
    flat,
    plain_session,
    register16,
    start16,
    stop16,
    transaction,
)

API = "/api/v1/operator"
PROBLEM = "application/problem+json"


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    await a_station(server.system, "CP-1")
    await a_token(server.system, "TAG-1")
    async with httpx.AsyncClient(base_url=server.http) as client:
        yield client


async def audit_of(system: System, tx_id: int) -> list[AuditRow]:
    async with system.sessions() as session:
        query = select(AuditRow).where(col(AuditRow.subject) == f"transaction:{tx_id}")
        return list((await session.execute(query)).scalars())


async def decide(api: httpx.AsyncClient, tx_id: int, **body: Any) -> httpx.Response:
    return await api.post(f"{API}/sessions/{tx_id}/review", json=body)


async def test_a_flagged_session_gets_no_cdr_until_accepted(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    system = server.system
    await a_tariff_for(system, "CP-1", {**flat(), "session_fee": "1.00"})
    async with await booted16(server) as station:
        tx_id = await start16(station, 10_000, at("10:00"))
        await stop16(station, tx_id, 10_000, at("10:45"))
        await stop16(station, tx_id, 10_000, at("10:45"))  # resent: still for the operator to decide

    queue = (await api.get(f"{API}/sessions/review")).json()
    assert queue["total"] == 1
    (item,) = queue["items"]
    assert (item["id"], item["station_id"], item["energy_wh"], item["state"]) == (tx_id, "CP-1", 0, "Ended")
    assert item["reasons"] == [{"code": "no_energy", "text": "no energy delivered in 45 min"}]
    assert await cdrs.sweep(uow=system.uow(), clock=system.clock) == 0
    assert await cdrs_of(system) == []

    accepted = await decide(api, tx_id, action="accept")
    assert accepted.status_code == 200, accepted.text
    outcome = accepted.json()
    assert (outcome["transaction_id"], outcome["review_state"]) == (tx_id, "accepted")
    assert (outcome["cdr"]["energy_wh"], outcome["cdr"]["total"]) == (0, "1.00")
    (cdr,) = await cdrs_of(system)
    assert cdr.id == outcome["cdr"]["id"] and (await transaction(system, tx_id)).review_state == "accepted"
    assert (await api.get(f"{API}/cdrs/{cdr.id}")).json() == outcome["cdr"]
    (entry,) = await audit_of(system, tx_id)
    assert (entry.actor, entry.action) == ("api@127.0.0.1", "session.accepted")
    assert entry.details == {
        "note": None,
        "reasons": ["no_energy"],
        "cdr_id": cdr.id,
        "energy_wh": 0,
        "measured_wh": 0,
    }

    again = await decide(api, tx_id, action="void", note="changed my mind")
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert "not awaiting review (accepted)" in again.json()["detail"]
    assert (await api.get(f"{API}/sessions/review")).json()["total"] == 0
    assert len(await cdrs_of(system)) == 1


async def test_a_correction_is_billed_and_kept(server: LiveServer, api: httpx.AsyncClient) -> None:
    system = server.system
    await a_tariff_for(system, "CP-1", flat())
    async with await booted16(server) as station:
        tx_id = await start16(station, 10_000, at("10:00"))
        async with system.sessions() as session:
            await session.execute(
                update(EvseRow).where(col(EvseRow.station_id) == "CP-1").values(max_power_w=3_700)
            )
            await session.commit()
        await register16(station, tx_id, 14_000, at("10:30"))
        await stop16(station, tx_id, 18_000, at("11:00"))

    (item,) = (await api.get(f"{API}/sessions/review")).json()["items"]
    assert item["reasons"] == [
        {
            "code": "excess_energy",
            "text": "8,000 Wh in 1 h 00 min is more than the 3,700 W EVSE can deliver (4,070 Wh at most)",
        }
    ]
    corrected = await decide(api, tx_id, action="correct", energy_wh=3_000, note="meter swapped")
    assert corrected.status_code == 200, corrected.text
    cdr = corrected.json()["cdr"]
    assert (cdr["energy_wh"], cdr["corrected_from_wh"], cdr["correction_note"]) == (
        3_000,
        8_000,
        "meter swapped",
    )
    assert (cdr["meter_start_wh"], cdr["meter_stop_wh"]) == (10_000, 18_000)
    assert (cdr["subtotal"], cdr["total"]) == ("0.90", "0.90")  # 3 kWh * 0.30
    assert (await transaction(system, tx_id)).review_state == "corrected"
    (entry,) = await audit_of(system, tx_id)
    assert entry.action == "session.corrected"
    assert (entry.details["note"], entry.details["energy_wh"], entry.details["measured_wh"]) == (
        "meter swapped",
        3_000,
        8_000,
    )


async def test_a_voided_session_is_never_billed(server: LiveServer, api: httpx.AsyncClient) -> None:
    system = server.system
    async with await booted16(server) as station:
        tx_id = await start16(station, 10_000, at("10:00"), tag="STRANGER")
        await stop16(station, tx_id, 18_000, at("11:50"))
    (item,) = (await api.get(f"{API}/sessions/review")).json()["items"]
    assert item["reasons"] == [{"code": "unknown_token", "text": "started with Unknown token"}]

    voided = await decide(api, tx_id, action="void", note="test plug-in by the installer")
    assert voided.status_code == 200, voided.text
    assert voided.json() == {"transaction_id": tx_id, "review_state": "voided", "cdr": None}
    assert await cdrs.sweep(uow=system.uow(), clock=system.clock) == 0
    assert await cdrs_of(system) == []
    assert (await transaction(system, tx_id)).review_state == "voided"
    (entry,) = await audit_of(system, tx_id)
    assert (entry.action, entry.details) == (
        "session.voided",
        {"note": "test plug-in by the installer", "reasons": ["unknown_token"]},
    )


async def test_review_errors_are_problem_json(server: LiveServer, api: httpx.AsyncClient) -> None:
    async with await booted16(server) as station:
        billed = await plain_session(station)
    unknown = await decide(api, 999, action="accept")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    not_flagged = await decide(api, billed, action="accept")
    assert not_flagged.status_code == 409 and "not flagged" in not_flagged.json()["detail"]
    for body in (
        {"action": "refund"},
        {"action": "correct", "note": "no energy given"},
        {"action": "correct", "energy_wh": -1, "note": "negative"},
        {"action": "void"},
        {"action": "void", "note": ""},
        {"action": "accept", "energy_wh": 5},
    ):
        bad = await api.post(f"{API}/sessions/{billed}/review", json=body)
        assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM, body
    assert await audit_of(server.system, billed) == []


async def test_a_session_whose_stop_never_came(server: LiveServer, api: httpx.AsyncClient) -> None:
    system = server.system
    await a_tariff_for(system, "CP-1", flat())
    await a_token(system, "TAG-2")
    async with await booted16(server) as station:
        lost = await start16(station, 10_000, at("10:00"))
        await register16(station, lost, 12_000, at("10:40"))
        late = await start16(station, 20_000, at("10:05"), tag="TAG-2")  # the same connector: quirky
    after = timedelta(hours=24)
    assert await review.flag_stale(uow=system.uow(), clock=system.clock, after=after) == 0
    tomorrow = FakeClock(system.clock.now() + timedelta(hours=25))
    assert await review.flag_stale(uow=system.uow(), clock=tomorrow, after=after) == 2
    assert await review.flag_stale(uow=system.uow(), clock=tomorrow, after=after) == 0
    queue = (await api.get(f"{API}/sessions/review")).json()
    assert [item["id"] for item in queue["items"]] == [lost, late]
    assert [r["code"] for r in queue["items"][0]["reasons"]] == ["stop_missing"]
    assert queue["items"][0]["reasons"][0]["text"].startswith("no stop received: nothing heard since")

    accepted = await decide(api, lost, action="accept", note="closed at the last reading")
    cdr = accepted.json()["cdr"]
    assert accepted.status_code == 200 and cdr["ended_at"] == "2026-11-23T10:40:00Z"
    assert (cdr["energy_wh"], cdr["total"]) == (2_000, "0.60")
    # The other stop arrives after all: the session leaves the queue and is billed as usual.
    async with await booted16(server) as station:
        await stop16(station, late, 21_000, at("12:00"))
    assert (await transaction(system, late)).review_state is None
    assert [(row.transaction_id, row.energy_wh) for row in await cdrs_of(system)] == [
        (lost, 2_000),
        (late, 1_000),
    ]
    assert (await api.get(f"{API}/sessions/review")).json()["total"] == 0


async def test_cdrs_are_listed_filtered_and_exported(server: LiveServer, api: httpx.AsyncClient) -> None:
    await a_station(server.system, "CP-2")
    await a_tariff_for(server.system, "CP-1", flat())
    async with await booted16(server) as station:
        first = await plain_session(station)
        second = await start16(station, 18_000, at("13:00"))
        await stop16(station, second, 19_000, at("14:00"))
    async with await booted16(server, "CP-2") as station:
        other = await plain_session(station, 0, 5_000)

    everything = (await api.get(f"{API}/cdrs")).json()
    assert everything["total"] == 3 and [c["transaction_id"] for c in everything["items"]] == [
        other,
        second,
        first,
    ]
    mine = (await api.get(f"{API}/cdrs", params={"station_id": "CP-1", "limit": 1, "offset": 1})).json()
    assert (mine["total"], [c["transaction_id"] for c in mine["items"]]) == (2, [first])
    window = {"from": "2026-11-23T12:00:00Z", "to": "2026-11-23T14:00:00+00:00"}
    assert (await api.get(f"{API}/cdrs", params=window)).json()["total"] == 0  # "to" is exclusive
    window["to"] = "2026-11-23T14:00:01Z"
    assert [c["transaction_id"] for c in (await api.get(f"{API}/cdrs", params=window)).json()["items"]] == [
        second
    ]
    naive = await api.get(f"{API}/cdrs", params={"from": "2026-11-23T12:00:00"})
    assert naive.status_code == 422 and naive.headers["content-type"] == PROBLEM
    assert (await api.get(f"{API}/cdrs/999")).status_code == 404

    export = await api.get(f"{API}/cdrs.csv", params={"station_id": "CP-1"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert 'filename="cdrs.csv"' in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["transaction_id"], r["energy_wh"], r["currency"], r["total"]) for r in rows] == [
        (str(first), "8000", "EUR", "2.40"),
        (str(second), "1000", "EUR", "0.30"),
    ]
    assert rows[0]["started_at"] == "2026-11-23T10:00:00+00:00" and rows[0]["tariff_id"] != ""
    unpriced = list(
        csv.DictReader(io.StringIO((await api.get(f"{API}/cdrs.csv", params={"station_id": "CP-2"})).text))
    )
    assert [(r["transaction_id"], r["currency"], r["total"]) for r in unpriced] == [(str(other), "", "0.00")]
