"""Offline: transaction messages wait in the outbox and reach the real server in order afterwards;
the local list and the cache authorise drivers meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chargepoints.tables import TransactionEventRow, TransactionRow
from emulator import Station
from tests.conftest import LiveServer
from tests.emulator_selftest.harness import Rig, rig_for, until


@pytest.fixture
async def rig(server: LiveServer) -> AsyncIterator[Rig]:
    async with rig_for(server) as made:
        yield made


async def offline(rig: Rig, station: Station) -> None:
    await station.go_offline()
    await until(lambda: not rig.server.system.connections.is_connected(station.spec.station_id))


async def test_v201_events_queued_offline_arrive_in_order_marked_offline(rig: Rig) -> None:
    await rig.token("TAG-1")
    station = await rig.station("2.0.1")
    await station.start_transaction(1, "TAG-1")

    await offline(rig, station)
    for _ in range(2):
        await station.send_meter_values(1, seconds=60)
    await station.stop_transaction(1)
    assert len(station.state.outbox) == 3
    assert await station.go_online() == "Accepted"

    rows = await rig.wait_rows(TransactionEventRow, 4)
    assert [(r.seq_no, r.event_type, r.offline) for r in rows] == [
        (0, "Started", False),
        (1, "Updated", True),
        (2, "Updated", True),
        (3, "Ended", True),
    ]
    [session] = await rig.wait_rows(TransactionRow, state="Ended")
    assert session.energy_wh == pytest.approx(22_000 * 120 / 3600, abs=2)
    assert len(await rig.sent("BootNotification")) == 1  # a reconnect is not a reboot


async def test_v16_offline_session_is_delivered_with_the_id_the_server_issues(rig: Rig) -> None:
    await rig.token("TAG-1")
    station = await rig.station("1.6")
    entry = {"idTag": "TAG-1", "idTagInfo": {"status": "Accepted"}}
    local_list = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry]}
    assert (await rig.call("CS-1", "SendLocalList", local_list))["status"] == "Accepted"
    assert (await rig.call("CS-1", "GetLocalListVersion", {}))["listVersion"] == 1

    await offline(rig, station)
    await station.plug_in(1)
    assert await station.swipe("OTHER") == "Invalid"
    assert await station.swipe("TAG-1") == "Accepted"
    assert station.transactions[1].startswith("pending")
    await station.send_meter_values(1, seconds=60)
    await station.unplug(1)
    await station.go_online()

    [session] = await rig.wait_rows(TransactionRow, state="Ended")
    assert (session.id_token, session.stop_reason) == ("TAG-1", "EVDisconnected")
    assert session.energy_wh == pytest.approx(22_000 * 60 / 3600, abs=2)
    [meter] = await rig.sent("MeterValues")
    [stop] = await rig.sent("StopTransaction")
    assert meter["transactionId"] == stop["transactionId"] == session.id


async def test_v16_a_start_refused_after_the_fact_stops_deauthorized(rig: Rig) -> None:
    station = await rig.station("1.6")
    change = {"key": "AllowOfflineTxForUnknownId", "value": "true"}
    assert (await rig.call("CS-1", "ChangeConfiguration", change))["status"] == "Accepted"

    await offline(rig, station)
    await station.plug_in(1)
    assert await station.swipe("STRANGER") == "Accepted"  # unknown, but allowed offline
    await station.go_online()

    [session] = await rig.wait_rows(TransactionRow, state="Ended")
    assert session.stop_reason == "DeAuthorized"
    await until(lambda: not station.transactions)


async def test_v16_a_dropped_link_keeps_messages_for_the_next_connection(rig: Rig) -> None:
    await rig.token("TAG-1")
    station = await rig.station("1.6")
    await station.start_transaction(1, "TAG-1")
    adapter = rig.server.system.connections.get("CS-1")
    assert adapter is not None
    await adapter.close_connection("test")
    await station.wait_disconnected()

    await station.send_meter_values(1, seconds=60)
    assert len(station.state.outbox) == 1
    assert await station.connect() == "Accepted"
    [meter] = await rig.wait_sent("MeterValues")
    assert meter["transactionId"] == int(station.transactions[1])


async def test_v201_offline_authorisation_uses_the_list_and_the_cache(rig: Rig) -> None:
    for token in ("TAG-1", "TAG-2"):
        await rig.token(token)
    station = await rig.station("2.0.1")
    entry = {"idToken": {"idToken": "TAG-1", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}
    local_list = {"versionNumber": 3, "updateType": "Full", "localAuthorizationList": [entry]}
    assert (await rig.call("CS-1", "SendLocalList", local_list))["status"] == "Accepted"
    assert (await rig.call("CS-1", "GetLocalListVersion", {}))["versionNumber"] == 3
    assert await station.authorize("TAG-2") == "Accepted"  # now in the cache

    await offline(rig, station)
    assert [await station.authorize(t) for t in ("TAG-1", "TAG-2", "TAG-3")] == [
        "Accepted",
        "Accepted",
        "Invalid",
    ]
    await station.go_online()
    assert (await rig.call("CS-1", "ClearCache", {}))["status"] == "Accepted"
    await offline(rig, station)
    assert await station.authorize("TAG-2") == "Invalid"
