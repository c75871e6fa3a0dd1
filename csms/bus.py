"""The event bus: in-process for one node, Redis pub/sub when several nodes share the work.

Events are the dataclasses of ``chargepoints.events``; over Redis they travel as JSON with their
type name, so every node's subscribers (live views, smart charging) see every node's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chargepoints import events

log = logging.getLogger(__name__)

Handler = Callable[[events.Event], Awaitable[None]]
CHANNEL = "csms:events"
_EVENT_TYPES: dict[str, type[events.Event]] = {
    cls.__name__: cls
    for cls in vars(events).values()
    if isinstance(cls, type) and issubclass(cls, events.Event) and cls is not events.Event
}


class InProcessBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def publish(self, event: events.Event) -> None:
        await self._deliver(event)

    async def _deliver(self, event: events.Event) -> None:
        for handler in self._handlers:
            try:
                await handler(event)
            except Exception:
                log.exception("event handler failed for %r", event)  # one bad viewer must not stop others

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def encode(event: events.Event) -> bytes:
    return orjson.dumps({"type": type(event).__name__, "data": dataclasses.asdict(event)})


def decode(raw: bytes | str) -> events.Event:
    message = orjson.loads(raw)
    cls = _EVENT_TYPES[message["type"]]
    data: dict[str, Any] = message["data"]
    for field in dataclasses.fields(cls):
        if field.type in ("datetime", datetime) and isinstance(data.get(field.name), str):
            data[field.name] = datetime.fromisoformat(data[field.name])
    return cls(**data)


class RedisBus(InProcessBus):
    """Publishes to a Redis channel and delivers what arrives on it, including its own events.

    Redis being down must not stop a node serving its own stations: events then reach this
    node's subscribers directly (other nodes miss them; the database stays the truth), and the
    listener reconnects in the background.
    """

    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self.redis = aioredis.from_url(url)
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def publish(self, event: events.Event) -> None:
        try:
            await self.redis.publish(self._channel, encode(event))
        except RedisError as exc:
            log.warning("Redis unavailable (%s); %s delivered on this node only", exc, type(event).__name__)
            await self._deliver(event)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-bus")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.redis.aclose()

    async def _listen(self) -> None:
        while True:
            try:
                await self._subscribe()
            except RedisError as exc:
                self._ready.set()  # start() need not wait for a server that is down
                log.warning("event bus lost Redis (%s); retrying", exc)
                await asyncio.sleep(1)

    async def _subscribe(self) -> None:
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(self._channel)
            self._ready.set()
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                try:
                    event = decode(message["data"])
                except (KeyError, TypeError, ValueError):
                    log.warning("dropping malformed bus message %r", message["data"][:200])
                    continue
                await self._deliver(event)
