"""CORS on /api/ only, for the configured origins, without credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from csms import bootstrap
from csms.app import create_app
from csms.settings import Settings

APP = "https://app.example.com"
STATIONS = "/api/v1/operator/stations"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "data"),
        cors_origins=f" {APP}/ , https://admin.example.com",
    )


def client_for(system: bootstrap.System, settings: Settings) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, system=system))
    return httpx.AsyncClient(transport=transport, base_url="http://csms.test")


@pytest.fixture
async def api(system: bootstrap.System) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(system, system.settings) as client:
        yield client


async def test_a_preflight_from_a_configured_origin_is_allowed(api: httpx.AsyncClient) -> None:
    headers = {
        "Origin": APP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, idempotency-key, content-type",
    }
    response = await api.options("/api/v1/sessions", headers=headers)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "idempotency-key" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


async def test_answers_expose_the_headers_apps_need(api: httpx.AsyncClient) -> None:
    response = await api.get(STATIONS, headers={"Origin": APP})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "idempotent-replayed"} <= exposed
    assert "access-control-allow-credentials" not in response.headers


async def test_other_origins_and_paths_get_no_cors_headers(api: httpx.AsyncClient) -> None:
    stranger = await api.get(STATIONS, headers={"Origin": "https://evil.example.com"})
    health = await api.get("/health", headers={"Origin": APP})
    preflight = await api.options(
        STATIONS, headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"}
    )

    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in health.headers
    assert preflight.status_code == 400


async def test_without_origins_there_is_no_cors(system: bootstrap.System) -> None:
    settings = system.settings.model_copy(update={"cors_origins": ""})
    async with client_for(system, settings) as api:
        response = await api.get(STATIONS, headers={"Origin": APP})
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]


async def test_refusals_carry_cors_headers_so_the_app_can_read_them(system: bootstrap.System) -> None:
    settings = system.settings.model_copy(update={"rate_limit_per_minute": 1})
    async with client_for(system, settings) as api:
        await api.get("/api/v1/stations", headers={"Origin": APP})
        refused = await api.get("/api/v1/stations", headers={"Origin": APP})
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == APP
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()
