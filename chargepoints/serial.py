"""Work handed off by a bus subscriber and done later, one item at a time, in arrival order.

Bus handlers run inside the publisher's commit, before a station gets its answer; work that
reads or writes the database goes through one of these so the station never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

LIMIT = 100_000
"""Items waiting; beyond this the newest are dropped with a warning (the database stays the truth)."""


class SerialWork(Generic[T]):
    """`offer` items from a bus handler; `start()` runs `handle` on each in turn until `stop()`."""

    def __init__(self, handle: Callable[[T], Awaitable[None]], *, name: str, limit: int = LIMIT) -> None:
        self._handle, self._name = handle, name
        self._queue: asyncio.Queue[T] = asyncio.Queue(limit)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def offer(self, item: T) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("%s: queue full; %r dropped", self._name, item)

    async def settled(self) -> None:
        """Wait until every item offered so far has been handled."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception:
                log.exception("%s: %r failed", self._name, item)
            finally:
                self._queue.task_done()
