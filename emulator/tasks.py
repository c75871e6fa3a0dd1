"""Fire-and-forget tasks that are neither garbage-collected nor silently lost."""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

LOGGER = logging.getLogger("emulator")


class BackgroundTasks:
    """Holds strong references to running tasks and logs the ones that fail.

    asyncio keeps only weak references to tasks, so an unreferenced task can vanish
    mid-flight; and a failed task nobody awaits only complains at garbage collection.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the background."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOGGER.warning("%s: background task failed: %r", self._owner, task.exception())

    async def cancel_all(self) -> None:
        """Cancel every task, except the caller's own, and wait until they are gone."""
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
