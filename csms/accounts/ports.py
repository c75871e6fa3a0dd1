"""The outside world as the account use cases see it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SmsSender(Protocol):
    """Delivers a text message; raises SmsNotSent when the gateway refuses it."""

    async def send(self, phone: str, text: str) -> None: ...
