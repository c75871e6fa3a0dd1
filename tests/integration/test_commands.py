"""CSMS-initiated commands through the operator API, logged, against a live station."""

from __future__ import annotations

import asyncio

import httpx

from tests.builders import a_station, boot16
from tests.conftest import LiveServer
from tests.wire import WireStation


async def answering(station: WireStation, replies: dict[str, dict[str, object]], count: int) -> list[str]:
    """Answer ``count`` CALLs from the CSMS, checking it never has two outstanding (OCPP-J §4.1.1)."""
    seen = []
    for _ in range(count):
        frame = await station.recv()
        assert frame[0] == 2
        seen.append(frame[2])
        try:
            async with asyncio.timeout(0.05):
                extra = await station.ws.recv()
        except TimeoutError:
            extra = None
        assert extra is None, f"second CALL while {frame[2]} was unanswered: {extra!r}"
        await station.send_raw(f'[3,"{frame[1]}",{_json(replies[frame[2]])}]')
    return seen


def _json(value: object) -> str:
    import json

    return json.dumps(value)


async def test_call_returns_the_response_and_logs_the_command(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        answer = asyncio.create_task(answering(station, {"Reset": {"status": "Accepted"}}, 1))
        response = await api.post(
            "/api/v1/operator/stations/CP-1/call", json={"action": "Reset", "payload": {"type": "Soft"}}
        )
        await answer
        log = (await api.get("/api/v1/operator/commands", params={"station_id": "CP-1"})).json()
    assert response.status_code == 200
    assert response.json()["response"] == {"status": "Accepted"}
    (entry,) = log["items"]
    assert (entry["action"], entry["status"], entry["payload"]) == ("Reset", "accepted", {"type": "Soft"})
    assert entry["requester"].startswith("api@") and entry["completed_at"] is not None


async def test_invalid_payload_and_wrong_direction_are_422_and_nothing_is_sent(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        bad = await api.post(
            "/api/v1/operator/stations/CP-1/call", json={"action": "Reset", "payload": {"type": "Gentle"}}
        )
        wrong = await api.post(
            "/api/v1/operator/stations/CP-1/call", json={"action": "BootNotification", "payload": {}}
        )
    assert bad.status_code == wrong.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


async def test_offline_station_fails_fast_and_is_logged(server: LiveServer) -> None:
    await a_station(server.system, "CP-OFF")
    async with httpx.AsyncClient(base_url=server.http) as api:
        async with asyncio.timeout(3):
            response = await api.post("/api/v1/operator/stations/CP-OFF/call", json={"action": "ClearCache"})
        missing = await api.post("/api/v1/operator/stations/NOPE/call", json={"action": "ClearCache"})
        log = (await api.get("/api/v1/operator/commands", params={"status": "station_offline"})).json()
    assert response.status_code == 409 and "station-offline" in response.json()["detail"]
    assert missing.status_code == 404
    assert log["total"] == 1


async def test_timeout_is_recorded_and_the_late_answer_is_ignored(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        adapter = server.system.connections.get("CP-1")
        assert adapter is not None
        adapter._response_timeout = 0.3
        response = await api.post("/api/v1/operator/stations/CP-1/call", json={"action": "ClearCache"})
        late = await station.recv()
        await station.send_raw(f'[3,"{late[1]}",{{"status":"Accepted"}}]')
    assert response.status_code == 504
    async with httpx.AsyncClient(base_url=server.http) as api:
        (entry,) = (await api.get("/api/v1/operator/commands")).json()["items"]
    assert entry["status"] == "timed_out" and entry["response"] is None


async def test_queued_commands_to_one_station_are_serialised_and_all_resolve(server: LiveServer) -> None:
    await a_station(server.system, "CP-1")
    replies = {
        "ClearCache": {"status": "Accepted"},
        "Reset": {"status": "Rejected"},
        "GetConfiguration": {"configurationKey": []},
        "UnlockConnector": {"status": "Unlocked"},
        "TriggerMessage": {"status": "Accepted"},
    }
    bodies = [
        {"action": "ClearCache"},
        {"action": "Reset", "payload": {"type": "Hard"}},
        {"action": "GetConfiguration"},
        {"action": "UnlockConnector", "payload": {"connectorId": 1}},
        {"action": "TriggerMessage", "payload": {"requestedMessage": "Heartbeat"}},
    ]
    async with (
        await WireStation.connect(server.ws, "CP-1") as station,
        httpx.AsyncClient(base_url=server.http) as api,
    ):
        await station.ok("BootNotification", boot16())
        answer = asyncio.create_task(answering(station, replies, 5))
        queued = await asyncio.gather(
            *(api.post("/api/v1/operator/stations/CP-1/commands", json=body) for body in bodies)
        )
        assert all(r.status_code == 202 for r in queued)
        finals = [
            (await api.get(f"/api/v1/operator/commands/{r.json()['id']}", params={"wait": 5})).json()
            for r in queued
        ]
        seen = await answer
    assert sorted(seen) == sorted(replies)
    assert {f["action"]: f["status"] for f in finals} == {
        "ClearCache": "accepted",
        "Reset": "rejected",
        "GetConfiguration": "accepted",
        "UnlockConnector": "accepted",
        "TriggerMessage": "accepted",
    }
