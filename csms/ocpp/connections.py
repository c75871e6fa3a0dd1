"""Live station connections: the StationGateway for stations connected to this node."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chargepoints.errors import StationOffline
from csms.ocpp.rpc import StationAdapter

log = logging.getLogger(__name__)


class Connections:
    """One live connection per station id; a newer connection replaces the older one."""

    def __init__(self) -> None:
        self._live: dict[str, StationAdapter] = {}

    def __len__(self) -> int:
        return len(self._live)

    async def register(self, station: StationAdapter) -> None:
        previous = self._live.get(station.id)
        self._live[station.id] = station
        if previous is not None and previous is not station:
            log.info("station %s reconnected; closing its previous connection", station.id)
            await previous.close_connection("replaced by a newer connection")

    def unregister(self, station: StationAdapter) -> bool:
        """Forget ``station`` unless a newer connection has already taken its place."""
        if self._live.get(station.id) is station:
            del self._live[station.id]
            return True
        return False

    def get(self, station_id: str) -> StationAdapter | None:
        return self._live.get(station_id)

    def is_connected(self, station_id: str) -> bool:
        return station_id in self._live

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
