"""Operator read API: pagination, problem JSON errors, health."""

from __future__ import annotations

import httpx

from tests.builders import a_station
from tests.conftest import LiveServer


async def test_health_reports_database_and_connections(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as api:
        response = await api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "connections": 0, "database": "ok"}


async def test_unknown_station_and_transaction_are_problem_json(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as api:
        station = await api.get("/api/v1/operator/stations/NOPE")
        transaction = await api.get("/api/v1/operator/transactions/999")
    for response in (station, transaction):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404 and response.json()["title"] == "Not Found"


async def test_bad_query_is_422_problem_json(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as api:
        response = await api.get("/api/v1/operator/stations", params={"limit": 0})
        state = await api.get("/api/v1/operator/transactions", params={"state": "Sideways"})
    assert response.status_code == 422 and state.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


async def test_station_detail_without_connection(server: LiveServer) -> None:
    await a_station(server.system, "CP-1", password="a-long-password-1")
    async with httpx.AsyncClient(base_url=server.http) as api:
        detail = (await api.get("/api/v1/operator/stations/CP-1")).json()
    assert detail["connected"] is False and detail["password_set"] is True and detail["evses"] == []
    assert "password_hash" not in detail
