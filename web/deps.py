"""Named dependencies the routers declare (the composition root fills ``app.state``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chargepoints.ports import StationGateway


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def _gateway(request: Request) -> StationGateway:
    gateway: StationGateway = request.app.state.station_gateway
    return gateway


class Pagination:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
        offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
    ) -> None:
        self.limit, self.offset = limit, offset


SessionDep = Annotated[AsyncSession, Depends(_session)]
GatewayDep = Annotated[StationGateway, Depends(_gateway)]
PageDep = Annotated[Pagination, Depends()]
