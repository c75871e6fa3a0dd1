"""A station at the frame level: sends exactly the JSON a test writes, so tests can check what
the CSMS answers to well-formed, resent and malformed messages alike."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class WireStation:
    def __init__(self, ws: ClientConnection, station_id: str) -> None:
        self.ws, self.station_id = ws, station_id

    @classmethod
    async def connect(
        cls,
        base_url: str,
        station_id: str,
        *,
        subprotocols: Sequence[str] = ("ocpp1.6",),
        password: str | None = None,
    ) -> WireStation:
        headers = {}
        if password is not None:
            token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        ws = await connect(
            f"{base_url}/{station_id}",
            subprotocols=list(subprotocols),  # type: ignore[arg-type]
            additional_headers=headers,
            compression=None,
            open_timeout=5,
        )
        return cls(ws, station_id)

    @property
    def subprotocol(self) -> str | None:
        return self.ws.subprotocol

    async def call(self, action: str, payload: dict[str, Any], unique_id: str | None = None) -> list[Any]:
        unique_id = unique_id or str(uuid.uuid4())
        await self.ws.send(json.dumps([2, unique_id, action, payload]))
        return await self.response(unique_id)

    async def response(self, unique_id: str) -> list[Any]:
        while True:
            frame = json.loads(await self.ws.recv(decode=True))
            if frame[1] == unique_id and frame[0] in (3, 4):
                return list(frame)

    async def ok(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Call and insist on a CALLRESULT, returning its payload."""
        frame = await self.call(action, payload)
        assert frame[0] == 3, f"{action} got {frame}"
        result: dict[str, Any] = frame[2]
        return result

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def recv(self) -> list[Any]:
        async with asyncio.timeout(5):
            return list(json.loads(await self.ws.recv(decode=True)))

    async def close(self) -> None:
        await self.ws.close()

    async def __aenter__(self) -> WireStation:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
