"""Reviews (one per own ended session) and complaints (filed by drivers, answered by operators,
audited); another driver's session or another tenant's station does not exist for a driver."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from chargepoints import admin
from chargepoints.admin import EvseSpec, StationSpec
from chargepoints.tables import TransactionRow
from csms.accounts.queries import app_token
from csms.audit import AuditRow
from csms.bootstrap import System
from tests.accounts import Driver, a_driver
from tests.conftest import LiveServer

ME = "/api/v1/me"
OPERATOR = "/api/v1/operator/complaints"
PROBLEM = "application/problem+json"
_tx_ids = itertools.count(1)


@dataclass
class World:
    server: LiveServer
    api: httpx.AsyncClient  # as the driver
    neighbour: httpx.AsyncClient  # another driver of the same tenant
    stranger: httpx.AsyncClient  # a driver of another tenant
    driver: Driver
    stranger_driver: Driver
    ended: int  # the driver's ended session at CP-1
    running: int  # the driver's running session at CP-2
    neighbours: int  # the neighbour's ended session at CP-1


async def a_session(system: System, station_id: str, driver: Driver, *, ended: bool = True) -> int:
    """A session the driver started with their app token, ended an hour later unless told not."""
    async with system.sessions() as session:
        token = await app_token(session, driver.user_id)
        started = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        row = TransactionRow(
            station_id=station_id,
            station_tx_id=f"tx-{next(_tx_ids)}",
            evse_id=1,
            connector_id=1,
            id_token=token,
            state="Ended" if ended else "Active",
            started_at=started,
            ended_at=started + timedelta(hours=1) if ended else None,
            meter_start_wh=0,
            meter_stop_wh=12_000 if ended else None,
            updated_at=started,
        )
        session.add(row)
        await session.commit()
        assert row.id is not None
        return row.id


async def a_station(system: System, station_id: str, tenant_id: int) -> None:
    site_id = await admin.put_site(
        f"Site {station_id}", uow=system.uow(), clock=system.clock, tenant_id=tenant_id
    )
    await admin.create_station(
        StationSpec(station_id, site_id=site_id), [EvseSpec(1)], uow=system.uow(), clock=system.clock
    )


@pytest.fixture
async def world(server: LiveServer) -> AsyncIterator[World]:
    system = server.system
    driver = await a_driver(system)
    neighbour = await a_driver(system, tenant_id=driver.tenant_id, phone="+8613800000002")
    stranger = await a_driver(system, phone="+8613800000003")
    await a_station(system, "CP-1", driver.tenant_id)
    await a_station(system, "CP-2", driver.tenant_id)
    await a_station(system, "CP-X", stranger.tenant_id)
    ended = await a_session(system, "CP-1", driver)
    running = await a_session(system, "CP-2", driver, ended=False)
    neighbours = await a_session(system, "CP-1", neighbour)
    async with (
        httpx.AsyncClient(base_url=server.http, headers=driver.headers) as api,
        httpx.AsyncClient(base_url=server.http, headers=neighbour.headers) as neighbour_api,
        httpx.AsyncClient(base_url=server.http, headers=stranger.headers) as stranger_api,
    ):
        yield World(server, api, neighbour_api, stranger_api, driver, stranger, ended, running, neighbours)


async def test_a_driver_reviews_an_ended_session_once(world: World) -> None:
    review = {"rating": 4, "comment": "  Quick and clean  "}
    made = await world.api.post(f"{ME}/sessions/{world.ended}/review", json=review)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["transaction_id"], body["station_id"], body["rating"], body["comment"]) == (
        world.ended,
        "CP-1",
        4,
        "Quick and clean",
    )
    again = await world.api.post(f"{ME}/sessions/{world.ended}/review", json={"rating": 1})
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    await world.neighbour.post(f"{ME}/sessions/{world.neighbours}/review", json={"rating": 1})
    listed = (await world.api.get("/api/v1/stations/CP-1/reviews")).json()
    assert listed["total"] == 2
    assert [(item["rating"], item["comment"]) for item in listed["items"]] == [
        (1, None),
        (4, "Quick and clean"),
    ]
    station = (await world.api.get("/api/v1/stations/CP-1")).json()
    assert station["rating"] == {"average": 2.5, "count": 2}


async def test_only_the_drivers_own_ended_sessions(world: World) -> None:
    for transaction_id in (world.neighbours, 999_999):
        got = await world.api.post(f"{ME}/sessions/{transaction_id}/review", json={"rating": 5})
        assert got.status_code == 404, transaction_id
        assert got.headers["content-type"] == PROBLEM
    # The same session of the neighbour's, asked for by a driver of another tenant.
    assert (
        await world.stranger.post(f"{ME}/sessions/{world.neighbours}/review", json={"rating": 5})
    ).status_code == 404
    running = await world.api.post(f"{ME}/sessions/{world.running}/review", json={"rating": 5})
    assert running.status_code == 409
    assert "still running" in running.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"rating": 0}, {"rating": 6}, {"rating": 3, "comment": "x" * 1001}, {}, {"rating": "five"}]
)
async def test_reviews_are_validated(world: World, body: dict[str, Any]) -> None:
    got = await world.api.post(f"{ME}/sessions/{world.ended}/review", json=body)
    assert got.status_code == 422
    assert got.headers["content-type"] == PROBLEM


async def test_complaint_lifecycle_is_audited(world: World) -> None:
    about_session = {"category": "billing", "text": "Charged twice", "transaction_id": world.ended}
    made = await world.api.post(f"{ME}/complaints", json=about_session)
    assert made.status_code == 201, made.text
    complaint = made.json()
    assert (complaint["station_id"], complaint["status"], complaint["response"]) == ("CP-1", "open", None)
    assert complaint["tenant_id"] == world.driver.tenant_id
    about_station = {"category": "station_fault", "text": "Screen broken", "station_id": "CP-2"}
    assert (await world.api.post(f"{ME}/complaints", json=about_station)).status_code == 201
    await world.stranger.post(f"{ME}/complaints", json={"category": "other", "text": "App slow"})

    path = f"{OPERATOR}/{complaint['id']}"
    async with httpx.AsyncClient(base_url=world.server.http) as operator:
        listed = (await operator.get(OPERATOR, params={"tenant_id": world.driver.tenant_id})).json()
        assert [item["text"] for item in listed["items"]] == ["Screen broken", "Charged twice"]
        assert (await operator.get(OPERATOR)).json()["total"] == 3
        taken = await operator.patch(path, json={"status": "in_progress"})
        assert taken.status_code == 200, taken.text
        open_ones = (await operator.get(OPERATOR, params={"status": "open"})).json()["items"]
        assert complaint["id"] not in [item["id"] for item in open_ones]
        done = await operator.patch(
            path, json={"status": "resolved", "response": "Refunded the second charge"}
        )
        assert done.json()["status"] == "resolved"
        closed = await operator.patch(path, json={"status": "open"})
        assert closed.status_code == 409
        assert (await operator.patch(path, json={})).status_code == 422
        assert (await operator.patch(f"{OPERATOR}/999999", json={"status": "rejected"})).status_code == 404

    mine = (await world.api.get(f"{ME}/complaints")).json()
    assert mine["total"] == 2
    assert (mine["items"][1]["status"], mine["items"][1]["response"]) == (
        "resolved",
        "Refunded the second charge",
    )
    async with world.server.system.sessions() as session:
        query = (
            select(AuditRow)
            .where(col(AuditRow.subject) == f"complaint:{complaint['id']}")
            .order_by(col(AuditRow.id))
        )
        audit = list((await session.execute(query)).scalars())
    assert [(row.action, row.details["from"], row.details["to"]) for row in audit] == [
        ("complaint.answer", "open", "in_progress"),
        ("complaint.answer", "in_progress", "resolved"),
    ]
    assert audit[1].details["response"] == "Refunded the second charge"
    assert audit[0].actor == "api@127.0.0.1"


async def test_complaints_reach_only_the_drivers_own_things(world: World) -> None:
    cases = [
        ({"transaction_id": world.neighbours}, 404),
        ({"station_id": "CP-X"}, 404),
        ({"station_id": "CP-NONE"}, 404),
        ({"station_id": "CP-2", "transaction_id": world.ended}, 422),
        ({"category": "weather"}, 422),
        ({"text": "   "}, 422),
        ({"text": "a\x00b"}, 422),
    ]
    for extra, status in cases:
        got = await world.api.post(f"{ME}/complaints", json={"category": "other", "text": "Hm", **extra})
        assert got.status_code == status, extra
        assert got.headers["content-type"] == PROBLEM
    await world.api.post(f"{ME}/complaints", json={"category": "access", "text": "Gate locked"})
    assert (await world.neighbour.get(f"{ME}/complaints")).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }


async def test_drivers_only(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.server.http) as anonymous:
        for method, path, body in (
            ("POST", f"{ME}/sessions/{world.ended}/review", {"rating": 5}),
            ("POST", f"{ME}/complaints", {"category": "other", "text": "Hm"}),
            ("GET", f"{ME}/complaints", None),
        ):
            got = await anonymous.request(method, path, json=body)
            assert got.status_code == 401, path
            assert got.headers["www-authenticate"] == "Bearer"
