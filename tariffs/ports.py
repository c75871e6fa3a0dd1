"""The outside world as the pricing use cases see it."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:  # the adapter's type only: at run time this module needs the standard library alone
    from tariffs.repository import TariffRepository


class Clock(Protocol):
    def now(self) -> datetime: ...


class TariffUnitOfWork(Protocol):
    """One database transaction that offers the tariff repository (the charging domain's
    unit of work is one, so pricing can share a session start's transaction)."""

    tariffs: TariffRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...
