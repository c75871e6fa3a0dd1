"""Live station connections: the StationGateway for stations connected to this node."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from chargepoints.errors import StationOffline
from chargepoints.operations import Operation
from csms.ocpp import (  # noqa: F401  (register their translators)
    translate_files,
    translate_local_list,
    translate_profiles,
    translate_reservations,
)
from csms.ocpp.rpc import StationAdapter
from csms.ocpp.translate import translate

log = logging.getLogger(__name__)


class Presence(Protocol):
    """Tells other nodes which stations this node holds (see csms.ocpp.cluster)."""

    async def announce(self, station_id: str) -> None: ...

    async def withdraw(self, station_id: str) -> None: ...


class Connections:
    """One live connection per station id; a newer connection replaces the older one."""

    def __init__(self) -> None:
        self._live: dict[str, StationAdapter] = {}
        self.presence: Presence | None = None

    def __len__(self) -> int:
        return len(self._live)

    async def register(self, station: StationAdapter) -> None:
        previous = self._live.get(station.id)
        self._live[station.id] = station
        if previous is not None and previous is not station:
            log.info("station %s reconnected; closing its previous connection", station.id)
            await previous.close_connection("replaced by a newer connection")
        if self.presence is not None:
            await self.presence.announce(station.id)

    async def unregister(self, station: StationAdapter) -> None:
        """Forget ``station`` unless a newer connection has already taken its place."""
        if self._live.get(station.id) is station:
            del self._live[station.id]
            if self.presence is not None:
                await self.presence.withdraw(station.id)

    async def release(self, station_id: str) -> None:
        """Another node took this station over: close our older connection to it."""
        station = self._live.pop(station_id, None)
        if station is not None:
            log.info("station %s connected to another node; closing it here", station_id)
            await station.close_connection("replaced by a newer connection on another node")

    def station_ids(self) -> list[str]:
        return list(self._live)

    async def connected(self, station_ids: Iterable[str]) -> set[str]:
        return {s for s in station_ids if s in self._live}

    def get(self, station_id: str) -> StationAdapter | None:
        return self._live.get(station_id)

    def is_connected(self, station_id: str) -> bool:
        return station_id in self._live

    def translate(self, version: str, operation: Operation) -> tuple[str, dict[str, Any]]:
        return translate(version, operation)

    def check(self, station_id: str, action: str, payload: Mapping[str, Any]) -> None:
        station = self._live.get(station_id)
        if station is not None:
            station.check(action, payload)

    async def call(self, station_id: str, action: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        station = self._live.get(station_id)
        if station is None:
            raise StationOffline(station_id)
        return await station.request(action, dict(payload))

    async def close_all(self) -> None:
        for station in list(self._live.values()):
            await station.close_connection("server shutting down")
        self._live.clear()
