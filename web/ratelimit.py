"""Rate limits for the driver API: a token bucket per caller and one per client IP.

A bucket holds a minute's allowance and refills continuously, so a client may burst up to the
limit and then sustain limit/60 requests a second. The caller is the ``sub`` of a valid bearer
token, else the client IP. With several nodes the buckets live in Redis, updated by one Lua
script so two nodes never both spend the last token.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from csms.settings import Settings
from web.api.problems import problem
from web.callers import Identify, client_ip, user_of

log = logging.getLogger(__name__)

LIMITED_PREFIX = "/api/v1/"
EXEMPT_PREFIX = "/api/v1/operator/"


@dataclass(frozen=True)
class Limit:
    per_minute: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60


Bucket = tuple[str, Limit]


class Buckets(Protocol):
    async def take(self, buckets: Sequence[Bucket]) -> float:
        """Spend one token from every bucket and return 0, or, when any is empty, spend nothing
        and return the seconds until all of them hold a token again."""


class LocalBuckets:
    """Buckets in this process's memory: right for one node."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._levels: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._next_prune = 0.0

    async def take(self, buckets: Sequence[Bucket]) -> float:
        now = self._clock()
        levels = [self._level(key, limit, now) for key, limit in buckets]
        wait = max(
            ((1 - level) / limit.per_second for level, (_, limit) in zip(levels, buckets, strict=True)),
            default=0.0,
        )
        if wait > 0:
            return wait
        for level, (key, _) in zip(levels, buckets, strict=True):
            self._levels[key] = (level - 1, now)
        self._prune(now)
        return 0.0

    def _level(self, key: str, limit: Limit, now: float) -> float:
        tokens, when = self._levels.get(key, (limit.per_minute, now))
        return min(float(limit.per_minute), tokens + (now - when) * limit.per_second)

    def _prune(self, now: float) -> None:
        # A bucket refills completely in a minute, so one idle that long is the same as none.
        if now < self._next_prune:
            return
        self._levels = {key: state for key, state in self._levels.items() if now - state[1] < 60}
        self._next_prune = now + 60


# KEYS: the buckets; ARGV: capacity and tokens per millisecond of each, in KEYS order. Redis's own
# clock is used so nodes with skewed clocks agree. The answer is a string: Lua numbers returned to
# Redis are truncated to integers.
_TAKE = """
local now_s, now_us = unpack(redis.call('TIME'))
local now = now_s * 1000 + now_us / 1000
local levels, wait = {}, 0
for i, key in ipairs(KEYS) do
  local capacity, rate = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(state[1]) or capacity, tonumber(state[2]) or now
  levels[i] = math.min(capacity, tokens + math.max(0, now - at) * rate)
  if levels[i] < 1 then wait = math.max(wait, (1 - levels[i]) / rate) end
end
if wait > 0 then return tostring(wait / 1000) end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', tostring(levels[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', key, 60000)
end
return '0'
"""


class RedisBuckets:
    """Buckets shared by every node through Redis. If Redis fails the request is let through:
    a limit protects the service, and refusing everyone while Redis is down would not."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._script = redis.register_script(_TAKE)
        self._namespace = namespace

    async def take(self, buckets: Sequence[Bucket]) -> float:
        keys = [f"{self._namespace}:{key}" for key, _ in buckets]
        args: list[float] = []
        for _, limit in buckets:
            args += [limit.per_minute, limit.per_second / 1000]
        try:
            return float(await self._script(keys=keys, args=args))
        except RedisError as exc:
            log.warning("rate limits unavailable, request let through (Redis: %s)", exc)
            return 0.0


def namespace(database_url: str) -> str:
    """Nodes sharing a database share limits; other deployments on the same Redis do not."""
    return "csms:ratelimit:" + hashlib.sha256(database_url.encode()).hexdigest()[:16]


class RateLimit:
    """ASGI middleware limiting ``/api/v1/`` (the operator API and everything else are exempt);
    WebSocket traffic passes untouched."""

    def __init__(
        self, app: ASGIApp, *, buckets: Buckets, identify: Identify, per_caller: Limit, per_ip: Limit
    ) -> None:
        self.app, self.buckets, self.identify = app, buckets, identify
        self.per_caller, self.per_ip = per_caller, per_ip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(LIMITED_PREFIX) or path.startswith(EXEMPT_PREFIX):
            await self.app(scope, receive, send)
            return
        wait = await self.buckets.take(self._buckets(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        response = problem(429, f"Too many requests; retry in {seconds} s", instance=path)
        response.headers["Retry-After"] = str(seconds)
        await response(scope, receive, send)

    def _buckets(self, scope: Scope) -> list[Bucket]:
        ip, user = client_ip(scope), user_of(scope, self.identify)
        caller = f"user:{user}" if user is not None else f"anon:{ip}"
        buckets = [(caller, self.per_caller)] if self.per_caller.per_minute else []
        return buckets + ([(f"ip:{ip}", self.per_ip)] if self.per_ip.per_minute else [])


def install(app: Starlette, settings: Settings, *, identify: Identify, redis: Redis | None) -> None:
    """Limit the driver API; ``redis`` (the bus's client, when nodes share one) shares the buckets."""
    per_caller, per_ip = Limit(settings.rate_limit_per_minute), Limit(settings.rate_limit_ip_per_minute)
    if not (per_caller.per_minute or per_ip.per_minute):
        return
    buckets: Buckets = (
        LocalBuckets() if redis is None else RedisBuckets(redis, namespace(settings.database_url))
    )
    app.add_middleware(RateLimit, buckets=buckets, identify=identify, per_caller=per_caller, per_ip=per_ip)
