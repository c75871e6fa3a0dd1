"""Transaction messages kept until the CSMS has confirmed them.

OCPP requires transaction-related messages to reach the CSMS, in order, even across
connection losses (1.6 section 4.7, 2.0.1 E12). Every such message goes through the
outbox: it is built when the event happens, so its timestamp and meter values are those
of the event, and it leaves the outbox only once answered.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from emulator.evse import Session

MessageKind = Literal["start", "update", "stop"]


@dataclass(slots=True)
class QueuedMessage:
    """An OCPP call dataclass for one session, and how often sending it failed.

    A 1.6 message may wait for its transaction id: the client fills it in from the
    session when sending, once the StartTransaction before it has been answered.
    """

    request: Any
    session: Session
    kind: MessageKind
    attempts: int = 0


class Outbox:
    """A FIFO of queued messages, drained by one sender at a time."""

    def __init__(self) -> None:
        self._items: deque[QueuedMessage] = deque()
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[QueuedMessage]:
        return iter(self._items)

    def put(self, item: QueuedMessage) -> None:
        """Queue a message behind every earlier one."""
        self._items.append(item)

    async def drain(self, deliver: Callable[[QueuedMessage], Awaitable[bool]]) -> None:
        """Deliver messages in order until empty; `deliver` returns False to leave the head queued.

        An exception from `deliver` also leaves the head queued, for the next drain.
        """
        async with self._lock:
            while self._items:
                if not await deliver(self._items[0]):
                    return
                self._items.popleft()
