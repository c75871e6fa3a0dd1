"""Scan to charge over the driver API: each outcome of a start, stopping, and following a session
by polling, WebSocket and server-sent events. Other drivers' sessions and other operators'
stations do not exist for a driver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chargepoints import admin
from chargepoints.admin import EvseSpec, StationSpec
from chargepoints.driver_sessions import Driver as DriverRef
from csms.accounts import queries as accounts_queries
from csms.bootstrap import System
from csms.settings import Settings
from tariffs import services as tariff_services
from tests.accounts import Driver, a_driver
from tests.builders import boot16, boot201, energy, iso, start16, tx_event
from tests.conftest import LiveServer
from tests.wire import WireStation
from web.qr import qr_payload

API = "/api/v1/sessions"
PROBLEM = "application/problem+json"
FLAT = {
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "24:00",
            "energy_fee": "1.00",
        }
    ]
}
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
STATUS16 = {"Occupied": "Preparing", "Available": "Available", "Faulted": "Faulted"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Short waits, so the no-answer outcomes take a second; no running cost sent to stations."""
    return settings.model_copy(update={"response_timeout": 1.0, "start_wait": 1.0, "cost_update_interval": 0})


@dataclass
class World:
    server: LiveServer
    api: httpx.AsyncClient
    driver: Driver
    other: Driver  # another driver of the same operator
    stranger: Driver  # a driver of another operator

    @property
    def system(self) -> System:
        return self.server.system


async def a_charger(system: System, station_id: str, tenant_id: int, *, priced: bool = False) -> int:
    """A station with EVSE 1 at a site of the tenant's, priced at a flat 1.00 per kWh if ``priced``."""
    uow, clock = system.uow(), system.clock
    site_id = await admin.put_site(f"Site {station_id}", uow=uow, clock=clock, tenant_id=tenant_id)
    await admin.create_station(StationSpec(station_id, site_id=site_id), [EvseSpec(1)], uow=uow, clock=clock)
    if priced:
        view = await tariff_services.create_tariff(
            tenant_id, f"Flat {station_id}", FLAT, None, "test", uow=system.uow(), clock=system.clock
        )
        assert view.tariff.id is not None
        target = tariff_services.Target(site_id=site_id)
        await tariff_services.assign(view.tariff.id, target, "test", uow=system.uow(), clock=system.clock)
    return site_id


async def app_token(system: System, user_id: int) -> str:
    async with system.uow() as uow:
        return await accounts_queries.app_token(uow.session, user_id)


async def online(
    server: LiveServer, station_id: str, version: str = "1.6", status: str = "Occupied"
) -> WireStation:
    """The station connected and booted, its EVSE 1 in ``status`` (Occupied: a cable is in)."""
    station = await WireStation.connect(server.ws, station_id, subprotocols=(SUBPROTOCOL[version],))
    if version == "1.6":
        await station.ok("BootNotification", boot16())
        error = "OtherError" if status == "Faulted" else "NoError"
        await station.ok(
            "StatusNotification", {"connectorId": 1, "errorCode": error, "status": STATUS16[status]}
        )
    else:
        await station.ok("BootNotification", boot201())
        notification = {"timestamp": iso(), "connectorStatus": status, "evseId": 1, "connectorId": 1}
        await station.ok("StatusNotification", notification)
    return station


async def answer(station: WireStation, frame: list[Any], status: str = "Accepted") -> None:
    await station.send_raw(json.dumps([3, frame[1], {"status": status}]))


async def begin(station: WireStation, frame: list[Any], version: str) -> None:
    """The station starts the session a remote start asked for, the way its version does."""
    if version == "1.6":
        await station.ok("StartTransaction", start16(idTag=frame[3]["idTag"], timestamp=iso()))
        return
    info = {"transactionId": "TX-1", "remoteStartId": frame[3]["remoteStartId"]}
    started = tx_event(
        "Started",
        "TX-1",
        0,
        triggerReason="RemoteStart",
        idToken=frame[3]["idToken"],
        evse={"id": 1, "connectorId": 1},
        transactionInfo=info,
        meterValue=energy(1000),
    )
    await station.ok("TransactionEvent", started)


async def scan(
    world: World,
    station: WireStation,
    version: str = "1.6",
    *,
    reply: str | None = "Accepted",
    starts: bool = True,
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, list[Any]]:
    """Post the station's QR code; the station answers ``reply`` (None: nothing) and starts."""
    body = {"qr": qr_payload(world.server.http, station.station_id, 1)}
    posted = asyncio.create_task(world.api.post(API, json=body, headers=headers or world.driver.headers))
    frame = await station.recv()
    if reply is not None:
        await answer(station, frame, reply)
        if starts and reply == "Accepted":
            await begin(station, frame, version)
    return await posted, frame


async def charging(world: World, station: WireStation, version: str = "1.6") -> int:
    response, _ = await scan(world, station, version)
    assert response.status_code == 201, response.text
    transaction_id: int = response.json()["transaction_id"]
    return transaction_id


def meter(transaction_id: int, wh: int, soc: float) -> dict[str, Any]:
    sampled = [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
        {"value": str(soc), "measurand": "SoC", "unit": "Percent", "location": "EV"},
    ]
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": iso(), "sampledValue": sampled}],
    }


def stopped(transaction_id: int, wh: int) -> dict[str, Any]:
    return {"transactionId": transaction_id, "meterStop": wh, "timestamp": iso(), "reason": "Remote"}


@pytest.fixture
async def world(server: LiveServer) -> AsyncIterator[World]:
    system = server.system
    driver = await a_driver(system)
    other = await a_driver(system, tenant_id=driver.tenant_id, phone="+8613800000002")
    stranger = await a_driver(system, phone="+8613800000003")
    await a_charger(system, "CP-1", driver.tenant_id, priced=True)
    await a_charger(system, "CP-X", stranger.tenant_id)
    async with httpx.AsyncClient(base_url=server.http, timeout=15) as api:
        yield World(server, api, driver, other, stranger)


def assert_outcome(response: httpx.Response, status: int, outcome: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["outcome"] == outcome and body["message"]
    if status >= 400:
        assert response.headers["content-type"] == PROBLEM
        assert body["status"] == status and body["detail"] == body["message"]
    return body


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_scanning_a_plugged_in_evse_starts_with_the_app_token(world: World, version: str) -> None:
    token = await app_token(world.system, world.driver.user_id)
    async with await online(world.server, "CP-1", version) as station:
        response, frame = await scan(world, station, version)
        commands = await world.api.get("/api/v1/operator/commands", params={"station_id": "CP-1"})

    body = assert_outcome(response, 201, "started")
    assert body["station_id"] == "CP-1" and body["evse_id"] == 1 and isinstance(body["transaction_id"], int)
    if version == "1.6":
        assert frame[2:] == ["RemoteStartTransaction", {"idTag": token, "connectorId": 1}]
    else:
        assert frame[2] == "RequestStartTransaction"
        assert frame[3]["idToken"] == {"idToken": token, "type": "Central"} and frame[3]["evseId"] == 1
    assert commands.json()["items"][0]["requester"] == f"driver:{world.driver.user_id}"
    polled = await world.api.get(f"{API}/{body['transaction_id']}", headers=world.driver.headers)
    assert polled.json()["state"] == "Active" and polled.json()["station_id"] == "CP-1"


async def test_station_and_evse_typed_in_work_like_the_qr_code(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        body = {"station_id": "CP-1", "evse_id": 1}
        posted = asyncio.create_task(world.api.post(API, json=body, headers=world.driver.headers))
        frame = await station.recv()
        await answer(station, frame)
        await begin(station, frame, "1.6")
        assert_outcome(await posted, 201, "started")


async def test_an_offline_station_is_409(world: World) -> None:
    response = await world.api.post(
        API, json={"station_id": "CP-1", "evse_id": 1}, headers=world.driver.headers
    )
    assert_outcome(response, 409, "station_offline")


@pytest.mark.parametrize(
    ("status", "outcome", "words"),
    [
        ("Available", "not_plugged", "Plug the cable into connector 1, then scan again."),
        ("Faulted", "evse_unavailable", "out of service"),
    ],
)
async def test_an_evse_not_ready_is_409_and_says_what_to_do(
    world: World, status: str, outcome: str, words: str
) -> None:
    async with await online(world.server, "CP-1", status=status):
        response = await world.api.post(
            API, json={"station_id": "CP-1", "evse_id": 1}, headers=world.driver.headers
        )
        commands = await world.api.get("/api/v1/operator/commands", params={"station_id": "CP-1"})
    assert words in assert_outcome(response, 409, outcome)["message"]
    assert commands.json()["total"] == 0  # nothing was sent to the station


async def test_an_evse_someone_charges_at_is_busy(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        await station.ok("StartTransaction", start16(idTag="SOMEONE", timestamp=iso()))
        response = await world.api.post(
            API, json={"station_id": "CP-1", "evse_id": 1}, headers=world.driver.headers
        )
    body = assert_outcome(response, 409, "evse_busy")
    assert body["transaction_id"] is None  # not the driver's session: its id is none of their business


async def test_a_refused_start_is_409(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        response, _ = await scan(world, station, reply="Rejected")
    assert "Rejected" in assert_outcome(response, 409, "rejected")["message"]


async def test_a_station_that_does_not_answer_is_504(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        response, _ = await scan(world, station, reply=None)
    assert_outcome(response, 504, "no_answer")


async def test_a_station_that_accepts_but_never_starts_is_504(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        response, _ = await scan(world, station, starts=False)
    assert "accepted" in assert_outcome(response, 504, "no_answer")["message"]


async def test_the_payment_guard_can_refuse_before_anything_is_sent(world: World) -> None:
    class EmptyWallet:
        async def refusal(self, driver: DriverRef, station_id: str) -> str | None:
            return f"Top up your wallet to charge at {station_id}"

    world.system.payments = EmptyWallet()
    async with await online(world.server, "CP-1"):
        response = await world.api.post(
            API, json={"station_id": "CP-1", "evse_id": 1}, headers=world.driver.headers
        )
    assert (
        assert_outcome(response, 402, "payment_required")["message"] == "Top up your wallet to charge at CP-1"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"station_id": "CP-X", "evse_id": 1},  # another operator's station
        {"station_id": "CP-NOWHERE", "evse_id": 1},
        {"station_id": "CP-1", "evse_id": 9},
    ],
)
async def test_stations_the_driver_cannot_see_are_404(world: World, body: dict[str, Any]) -> None:
    async with await online(world.server, "CP-X"):
        response = await world.api.post(API, json=body, headers=world.driver.headers)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "body",
    [
        {"qr": "https://example.com/menu"},
        {"qr": "https://example.com/c/CP-1/1", "station_id": "CP-1", "evse_id": 1},
        {"station_id": "CP-1"},
        {"station_id": "CP\u00001", "evse_id": 1},  # not a station id (PostgreSQL text cannot hold NUL)
        {"station_id": "CP-1", "evse_id": 2**40},  # beyond any id the database can hold
        {"qr": "https://example.com/c/CP-1/1099511627776"},
        {},
    ],
)
async def test_a_malformed_start_is_422(world: World, body: dict[str, Any]) -> None:
    response = await world.api.post(API, json=body, headers=world.driver.headers)
    assert response.status_code == 422, response.text


async def test_starting_needs_a_driver_login(world: World) -> None:
    operator = await a_driver(
        world.system, tenant_id=world.driver.tenant_id, phone="+8613800000004", role="operator"
    )
    body = {"station_id": "CP-1", "evse_id": 1}
    anonymous = await world.api.post(API, json=body)
    forged = await world.api.post(API, json=body, headers={"Authorization": "Bearer not-a-token"})
    not_a_driver = await world.api.post(API, json=body, headers=operator.headers)
    assert anonymous.status_code == forged.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert not_a_driver.status_code == 403


async def test_a_retried_start_with_the_same_key_starts_once(world: World) -> None:
    headers = {**world.driver.headers, "Idempotency-Key": "scan-7f3a"}
    async with await online(world.server, "CP-1") as station:
        first, _ = await scan(world, station, headers=headers)
        again = await world.api.post(
            API, json={"qr": qr_payload(world.server.http, "CP-1", 1)}, headers=headers
        )
        commands = await world.api.get("/api/v1/operator/commands", params={"station_id": "CP-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert commands.json()["total"] == 1


async def test_the_driver_stops_their_own_session(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        others = await world.api.post(f"{API}/{tx_id}/stop", headers=world.other.headers)
        stranger = await world.api.post(f"{API}/{tx_id}/stop", headers=world.stranger.headers)
        anonymous = await world.api.post(f"{API}/{tx_id}/stop")
        stopping = asyncio.create_task(world.api.post(f"{API}/{tx_id}/stop", headers=world.driver.headers))
        frame = await station.recv()
        await answer(station, frame)
        response = await stopping
        await station.ok("StopTransaction", stopped(tx_id, 4000))
        again = await world.api.post(f"{API}/{tx_id}/stop", headers=world.driver.headers)

    assert frame[2:] == ["RemoteStopTransaction", {"transactionId": tx_id}]
    assert assert_outcome(response, 202, "stopping")["transaction_id"] == tx_id
    assert others.status_code == stranger.status_code == 404 and anonymous.status_code == 401
    assert again.status_code == 409


async def test_a_refused_stop_says_so(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        stopping = asyncio.create_task(world.api.post(f"{API}/{tx_id}/stop", headers=world.driver.headers))
        await answer(station, await station.recv(), "Rejected")
        assert_outcome(await stopping, 409, "rejected")


async def test_polling_shows_energy_power_soc_and_cost(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        nothing = await world.api.get(f"{API}/current", headers=world.driver.headers)
        tx_id = await charging(world, station)
        await station.ok("MeterValues", meter(tx_id, 3500, 56.5))
        polled = await world.api.get(f"{API}/{tx_id}", headers=world.driver.headers)
        current = await world.api.get(f"{API}/current", headers=world.driver.headers)
        not_others = await world.api.get(f"{API}/current", headers=world.other.headers)
        current_anonymous = await world.api.get(f"{API}/current")
        others = await world.api.get(f"{API}/{tx_id}", headers=world.other.headers)
        stranger = await world.api.get(f"{API}/{tx_id}", headers=world.stranger.headers)
        anonymous = await world.api.get(f"{API}/{tx_id}")

    assert nothing.status_code == 404
    progress = polled.json()
    assert progress["state"] == "Active" and progress["energy_wh"] == 2500  # meterStart 1000 (builder)
    assert progress["power_w"] == 7200 and progress["soc"] == 56.5 and progress["duration_s"] >= 0
    assert (progress["cost"], progress["currency"]) == ("2.50", "CNY")
    assert current.json()["transaction_id"] == tx_id
    assert not_others.status_code == 404 and current_anonymous.status_code == 401
    assert others.status_code == stranger.status_code == 404 and anonymous.status_code == 401


def live_url(world: World, transaction_id: int, token: str | None) -> str:
    url = world.server.http.replace("http://", "ws://") + f"{API}/{transaction_id}/live"
    return url if token is None else f"{url}?access_token={token}"


async def received(ws: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        snapshot: dict[str, Any] = json.loads(await ws.recv())
    return snapshot


async def gone_from_hub(system: System, transaction_id: int) -> bool:
    for _ in range(50):
        if system.live.viewers(transaction_id) == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_websocket_pushes_progress_until_the_session_ends(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        async with connect(live_url(world, tx_id, world.driver.access_token)) as ws:
            first = await received(ws)
            await station.ok("MeterValues", meter(tx_id, 2000, 40.0))
            metered = await received(ws)
            priced = await received(ws)  # the running cost follows the reading
            await station.ok("StopTransaction", stopped(tx_id, 2600))
            last = await received(ws)
            with pytest.raises(ConnectionClosed) as closed:
                await received(ws)

    assert (first["state"], first["energy_wh"], first["cost"]) == ("Active", 0, "0.00")
    assert (metered["energy_wh"], metered["power_w"], metered["soc"]) == (1000, 7200, 40.0)
    assert (priced["cost"], priced["currency"]) == ("1.00", "CNY")
    assert last["state"] == "Ended" and last["energy_wh"] == 1600 and last["ended_at"] is not None
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert await gone_from_hub(world.system, tx_id)


async def test_a_viewer_who_leaves_is_forgotten(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        async with connect(live_url(world, tx_id, world.driver.access_token)) as ws:
            await received(ws)
            assert world.system.live.viewers(tx_id) == 1
        assert await gone_from_hub(world.system, tx_id)


@pytest.mark.parametrize(
    ("who", "code"), [("nobody", 4401), ("forger", 4401), ("other", 4404), ("stranger", 4404)]
)
async def test_the_websocket_closes_for_the_wrong_viewer(world: World, who: str, code: int) -> None:
    tokens = {
        "nobody": None,
        "forger": "not-a-token",
        "other": world.other.access_token,
        "stranger": world.stranger.access_token,
    }
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        async with connect(live_url(world, tx_id, tokens[who])) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await received(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def events_of(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


async def test_server_sent_events_follow_the_session_to_its_end(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        url = f"{API}/{tx_id}/events"
        async with world.api.stream(
            "GET", url, params={"access_token": world.driver.access_token}
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = events_of(response)
            first = await anext(stream)
            await station.ok("MeterValues", meter(tx_id, 1500, 30.0))
            metered = await anext(stream)
            await station.ok("StopTransaction", stopped(tx_id, 1500))
            rest = [snapshot async for snapshot in stream]

    assert first["state"] == "Active" and metered["energy_wh"] == 500
    assert rest[-1]["state"] == "Ended" and rest[-1]["energy_wh"] == 500
    assert await gone_from_hub(world.system, tx_id)


async def test_server_sent_events_need_the_drivers_own_session(world: World) -> None:
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        url = f"{API}/{tx_id}/events"
        anonymous = await world.api.get(url)
        others = await world.api.get(url, headers=world.other.headers)
        stranger = await world.api.get(url, params={"access_token": world.stranger.access_token})
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM
    assert others.status_code == stranger.status_code == 404


async def test_use_case_answers_name_the_session_the_driver_already_runs(world: World) -> None:
    """A second scan of the EVSE the driver charges at points to that session."""
    async with await online(world.server, "CP-1") as station:
        tx_id = await charging(world, station)
        response = await world.api.post(
            API, json={"station_id": "CP-1", "evse_id": 1}, headers=world.driver.headers
        )
    assert assert_outcome(response, 409, "evse_busy")["transaction_id"] == tx_id
