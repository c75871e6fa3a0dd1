"""Every OCPP frame in and out, buffered and written in batches so logging never slows a reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chargepoints.ports import Clock
from chargepoints.tables import MessageLogRow

log = logging.getLogger(__name__)


class MessageLog:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        flush_interval: float = 0.5,
        max_buffer: int = 50_000,
    ) -> None:
        self._sessions, self._clock = sessions, clock
        self._flush_interval, self._max_buffer = flush_interval, max_buffer
        self._buffer: list[dict[str, object]] = []
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def record(
        self,
        station_id: str,
        direction: str,
        frame: str,
        *,
        message_type: int | None = None,
        unique_id: str | None = None,
        action: str | None = None,
    ) -> None:
        if len(self._buffer) >= self._max_buffer:
            self.dropped += 1  # the database is behind; shed log lines rather than memory
            return
        self._buffer.append(
            {
                "station_id": station_id[:48],
                "direction": direction,
                # PostgreSQL text cannot hold NUL; a station sending one must not sink the batch.
                "frame": frame.replace("\x00", "\\u0000"),
                "message_type": message_type,
                "unique_id": (unique_id or "")[:64] or None,
                "action": (action or "")[:50] or None,
                "at": self._clock.now(),
            }
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-log")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        async with self._sessions() as session:
            await session.execute(insert(MessageLogRow), rows)
            await session.commit()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            try:
                await self.flush()
            except Exception:
                log.exception("message log flush failed; lines of this batch are lost")
