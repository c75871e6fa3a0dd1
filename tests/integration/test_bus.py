"""Events reach every node: over Redis between two bus instances, in-process on one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from chargepoints import events
from csms.bus import InProcessBus, RedisBus, decode, encode
from tests import backends


def test_events_survive_the_wire_format() -> None:
    event = events.MeterValuesRecorded("CP-1", 1, 7, 1234.5, 7200.0, datetime(2026, 1, 1, tzinfo=UTC))
    assert decode(encode(event)) == event


async def test_in_process_bus_delivers_and_isolates_failing_handlers() -> None:
    bus, seen = InProcessBus(), []

    async def broken(event: events.Event) -> None:
        raise RuntimeError("viewer crashed")

    async def record(event: events.Event) -> None:
        seen.append(event)

    bus.subscribe(broken)
    bus.subscribe(record)
    await bus.publish(events.StationBooted("CP-1", "Accepted"))
    assert seen == [events.StationBooted("CP-1", "Accepted")]


async def test_redis_bus_carries_events_between_nodes() -> None:
    backends.require_redis()
    channel = f"csms:test:{uuid.uuid4().hex}"
    node_a, node_b = (
        RedisBus(backends.REDIS_URL, channel=channel),
        RedisBus(backends.REDIS_URL, channel=channel),
    )
    received: asyncio.Queue[events.Event] = asyncio.Queue()

    async def on_b(event: events.Event) -> None:
        await received.put(event)

    node_b.subscribe(on_b)
    await node_a.start()
    await node_b.start()
    try:
        sent = events.TransactionEnded("CP-9", 42, 1500, "Local")
        await node_a.publish(sent)
        async with asyncio.timeout(5):
            assert await received.get() == sent
    finally:
        await node_a.stop()
        await node_b.stop()
