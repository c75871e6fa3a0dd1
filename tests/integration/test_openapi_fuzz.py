"""Schemathesis against the app's own /openapi.json: no generated request, valid or not, may get a
server error. A station that exists (in the driver's tenant) but is offline is one of the path
values tried, so command endpoints meet it as well as unknown stations.

Cases are drawn with a fixed seed and sent in-process through httpx's ASGI transport on the test's
event loop (the system's connections belong to that loop). Driver endpoints get a logged-in
driver's token, the auth endpoints none (a fuzzed logout would log the driver out).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.schemas import APIOperation

from chargepoints import admin
from csms import bootstrap
from csms.app import create_app
from csms.settings import Settings
from tests.accounts import Driver, a_driver
from tests.builders import a_station

EXAMPLES = 6
KNOWN_STATION = "CP-FUZZ"
BASE_URL = "http://csms.test"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the schema and the routes are the same on both; once is enough


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "data"),
        response_timeout=1,
        rate_limit_per_minute=0,
        rate_limit_ip_per_minute=0,
    )


@pytest.fixture
async def driver(system: bootstrap.System) -> Driver:
    driver = await a_driver(system)
    site_id = await admin.put_site("Fuzz", uow=system.uow(), clock=system.clock, tenant_id=driver.tenant_id)
    await a_station(system, KNOWN_STATION, site_id=site_id)
    return driver


@pytest.fixture
async def client(system: bootstrap.System) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(system.settings, system=system)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def draw(operation: APIOperation, mode: GenerationMode, **fixed: Any) -> list[Case]:
    """Cases for one operation: generation only, so Hypothesis never runs on the event loop."""
    drawn: list[Case] = []

    @hypothesis.settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def collect(case: Case) -> None:
        drawn.append(case)

    with contextlib.suppress(Unsatisfiable):  # negative cases of an operation with no inputs
        collect()
    return drawn


def cases(schema: Any) -> list[Case]:
    drawn: list[Case] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            drawn += draw(operation, mode)
        if any(p.name == "station_id" for p in operation.path_parameters):
            drawn += draw(operation, GenerationMode.POSITIVE, path_parameters={"station_id": KNOWN_STATION})
    return drawn


async def send(client: httpx.AsyncClient, case: Case, headers: dict[str, str]) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    kwargs.pop("cookies", None)  # the API takes none, and httpx wants them on the client
    data = kwargs.pop("data", None)
    if isinstance(data, bytes | str):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    return await client.request(**kwargs)


def headers_for(path: str, driver: Driver) -> dict[str, str]:
    operator_or_auth = path.startswith(("/api/v1/operator/", "/api/v1/auth/"))
    return {} if operator_or_auth or not path.startswith("/api/v1/") else driver.headers


async def test_no_request_gets_a_server_error(client: httpx.AsyncClient, driver: Driver) -> None:
    spec = (await client.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(spec)
    failures = []
    for case in cases(schema):
        response = await send(client, case, headers_for(case.path, driver))
        if response.status_code >= 500:
            curl = case.as_curl_command(base_url=BASE_URL)
            failures.append(f"{response.status_code} {case.method} {case.formatted_path}:\n  {curl[:2000]}")
    assert not failures, "\n".join(failures)
