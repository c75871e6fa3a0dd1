"""Group commit: concurrent callers share one database transaction.

Each caller awaits its own result, so a station still gets its reply only after the commit that
holds its data. Under load batches grow by themselves (items gather while the previous batch
commits); when idle a lone item waits at most ``max_wait`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class GroupCommit(Generic[T]):
    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[None]],
        *,
        max_items: int = 500,
        max_wait: float = 0.002,
    ) -> None:
        self._flush, self._max_items, self._max_wait = flush, max_items, max_wait
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._worker: asyncio.Task[None] | None = None
        self._full = asyncio.Event()

    async def submit(self, item: T) -> None:
        """Returns once ``item`` is committed; raises what its commit raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_items:
            self._full.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="group-commit")
        await future

    async def _drain(self) -> None:
        while self._pending:
            if len(self._pending) < self._max_items:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._max_wait)
            batch, self._pending = self._pending[: self._max_items], self._pending[self._max_items :]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._flush([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            # One bad item must not fail its neighbours: commit each on its own to find it.
            log.warning("group commit of %d items failed (%s); retrying one by one", len(batch), exc)
            for entry in batch:
                await self._commit([entry])
            return
        for _, future in batch:
            _settle(future, None)


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return  # the caller went away (connection closed); nobody waits for this result
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
