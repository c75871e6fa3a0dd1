"""Live progress for drivers: one bus subscription fanned out to the viewers of each session.

The bus has no unsubscribe, so nothing subscribes per viewer: the hub subscribes once (in
``csms.bootstrap``) and each WebSocket or event stream takes a queue for its session and gives it
back when it closes. Over Redis every node sees every event, so a viewer may sit on any node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from chargepoints import events

QUEUE_SIZE = 32
"""Events a slow viewer may lag behind; then the oldest go (each snapshot is complete anyway)."""
_WATCHED = (events.MeterValuesRecorded, events.SessionCostUpdated, events.TransactionEnded)


class LiveHub:
    def __init__(self, *, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._viewers: dict[int, set[asyncio.Queue[events.Event]]] = {}

    async def on_event(self, event: events.Event) -> None:
        """The bus handler: hand the event to every viewer of its session, never blocking."""
        if not isinstance(event, _WATCHED) or event.transaction_id is None:
            return
        for queue in self._viewers.get(event.transaction_id, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @contextmanager
    def watch(self, transaction_id: int) -> Iterator[asyncio.Queue[events.Event]]:
        """A queue of the session's events until the block ends."""
        queue: asyncio.Queue[events.Event] = asyncio.Queue(self._queue_size)
        self._viewers.setdefault(transaction_id, set()).add(queue)
        try:
            yield queue
        finally:
            viewers = self._viewers[transaction_id]
            viewers.discard(queue)
            if not viewers:
                del self._viewers[transaction_id]

    def viewers(self, transaction_id: int) -> int:
        return len(self._viewers.get(transaction_id, ()))
