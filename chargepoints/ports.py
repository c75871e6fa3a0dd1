"""The outside world as the charging use cases see it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from chargepoints.events import Event
from chargepoints.operations import Operation


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, always aware and in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class StationGateway(Protocol):
    """Sends a CSMS-initiated call to a station, wherever it is connected."""

    async def call(self, station_id: str, action: str, payload: Mapping[str, Any]) -> dict[str, Any]: ...

    def is_connected(self, station_id: str) -> bool: ...

    async def connected(self, station_ids: Iterable[str]) -> set[str]:
        """Which of these stations are connected to any node."""
        ...

    def translate(self, version: str, operation: Operation) -> tuple[str, dict[str, Any]]:
        """The (action, payload) of ``operation`` in OCPP ``version``; InvalidCommand if none."""
        ...

    def check(self, station_id: str, action: str, payload: Mapping[str, Any]) -> None:
        """Raise InvalidCommand if the station's protocol would refuse this message."""
        ...


class FileStore(Protocol):
    """Where firmware and uploaded logs live (a directory, later perhaps object storage)."""

    async def write(self, key: str, data: bytes) -> None: ...

    async def read(self, key: str) -> bytes: ...
