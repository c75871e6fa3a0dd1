"""The StationGateway across several nodes, over Redis.

Each node keeps ``csms:station:{id} -> node`` for its stations, with a TTL it refreshes while
they stay connected. A command for a station on another node is published on that node's
request channel and its result comes back on the sender's reply channel. A node that takes over
a station announces it, and the node holding an older connection closes it. If Redis is down a
node still serves its own stations; cross-node commands fail with ClusterUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chargepoints.errors import (
    ClusterUnavailable,
    CommandTimedOut,
    InvalidCommand,
    StationCallError,
    StationOffline,
)
from chargepoints.operations import Operation
from csms.ocpp.connections import Connections
from csms.ocpp.translate import translate

log = logging.getLogger(__name__)

_ERRORS: dict[str, type[Exception]] = {
    "offline": StationOffline,
    "timeout": CommandTimedOut,
    "invalid": InvalidCommand,
}
# Withdraw presence only if it is still ours: a newer connection elsewhere may own the key.
_WITHDRAW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def _key(station_id: str) -> str:
    return f"csms:station:{station_id}"


class Cluster:
    CLAIMS = "csms:claims"

    def __init__(
        self, local: Connections, url: str, node_id: str, *, ttl_s: int = 60, call_timeout_s: float = 35
    ) -> None:
        self.local, self.node_id = local, node_id
        self.redis = aioredis.from_url(url)
        self._ttl_s, self._call_timeout_s = ttl_s, call_timeout_s
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        local.presence = self

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="cluster-listener")
        self._spawn(self._refresh())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        for task in [self._listener, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.redis.aclose()

    # Presence, called by Connections.

    async def announce(self, station_id: str) -> None:
        try:
            await self.redis.set(_key(station_id), self.node_id, ex=self._ttl_s)
            await self.redis.publish(self.CLAIMS, orjson.dumps({"station": station_id, "node": self.node_id}))
        except RedisError as exc:
            log.warning("presence of %s not announced (Redis: %s)", station_id, exc)

    async def withdraw(self, station_id: str) -> None:
        try:
            await self.redis.eval(_WITHDRAW, 1, _key(station_id), self.node_id)
        except RedisError as exc:
            log.warning("presence of %s not withdrawn (Redis: %s)", station_id, exc)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_s / 3)
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for station_id in self.local.station_ids():
                        pipe.set(_key(station_id), self.node_id, ex=self._ttl_s)
                    await pipe.execute()
            except RedisError as exc:
                log.warning("presence refresh failed (Redis: %s)", exc)

    # The StationGateway port.

    def is_connected(self, station_id: str) -> bool:
        return self.local.is_connected(station_id)

    async def connected(self, station_ids: Iterable[str]) -> set[str]:
        ids = list(station_ids)
        here = {s for s in ids if self.local.is_connected(s)}
        elsewhere = [s for s in ids if s not in here]
        if not elsewhere:
            return here
        try:
            nodes = await self.redis.mget([_key(s) for s in elsewhere])
        except RedisError:
            return here
        return here | {s for s, node in zip(elsewhere, nodes, strict=True) if node is not None}

    def translate(self, version: str, operation: Operation) -> tuple[str, dict[str, Any]]:
        return translate(version, operation)

    def check(self, station_id: str, action: str, payload: Mapping[str, Any]) -> None:
        self.local.check(station_id, action, payload)

    async def call(self, station_id: str, action: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        if self.local.is_connected(station_id):
            return await self.local.call(station_id, action, payload)
        try:
            node = await self.redis.get(_key(station_id))
        except RedisError as exc:
            raise ClusterUnavailable(f"cannot reach other nodes for {station_id}: {exc}") from None
        if node is None:
            raise StationOffline(station_id)
        return await self._remote_call(
            node.decode() if isinstance(node, bytes) else node, station_id, action, payload
        )

    async def _remote_call(
        self, node: str, station_id: str, action: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        message = {
            "id": request_id,
            "reply_to": self.node_id,
            "station": station_id,
            "action": action,
            "payload": dict(payload),
        }
        try:
            await self.redis.publish(f"csms:node:{node}", orjson.dumps(message))
            async with asyncio.timeout(self._call_timeout_s):
                result = await reply
        except RedisError as exc:
            raise ClusterUnavailable(f"cannot reach node {node}: {exc}") from None
        except TimeoutError:
            raise CommandTimedOut(f"node {node} did not answer for {station_id}") from None
        finally:
            self._replies.pop(request_id, None)
        return _unwrap(result)

    # Messages from other nodes.

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(
                        f"csms:node:{self.node_id}", f"csms:reply:{self.node_id}", self.CLAIMS
                    )
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._receive(message["channel"].decode(), orjson.loads(message["data"]))
            except RedisError as exc:
                self._ready.set()  # start() need not wait for a server that is down
                log.warning("cluster channel lost (Redis: %s); retrying", exc)
                await asyncio.sleep(1)

    def _receive(self, channel: str, message: dict[str, Any]) -> None:
        if channel == self.CLAIMS:
            if message["node"] != self.node_id:
                self._spawn(self.local.release(message["station"]))
        elif channel.startswith("csms:reply:"):
            future = self._replies.get(message["id"])
            if future is not None and not future.done():
                future.set_result(message)
        else:
            self._spawn(self._serve(message))

    async def _serve(self, request: dict[str, Any]) -> None:
        result: dict[str, Any] = {"id": request["id"]}
        try:
            result["response"] = await self.local.call(
                request["station"], request["action"], request["payload"]
            )
        except StationOffline:
            result["error"] = {"kind": "offline", "message": request["station"]}
        except CommandTimedOut as exc:
            result["error"] = {"kind": "timeout", "message": str(exc)}
        except InvalidCommand as exc:
            result["error"] = {"kind": "invalid", "message": str(exc)}
        except StationCallError as exc:
            result["error"] = {"kind": "call", "code": exc.code, "message": exc.description}
        await self.redis.publish(f"csms:reply:{request['reply_to']}", orjson.dumps(result))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _unwrap(result: dict[str, Any]) -> dict[str, Any]:
    error = result.get("error")
    if error is None:
        response: dict[str, Any] = result["response"]
        return response
    if error["kind"] == "call":
        raise StationCallError(error["code"], error["message"])
    raise _ERRORS[error["kind"]](error["message"])
