"""Named dependencies the routers declare (the composition root fills ``app.state``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chargepoints.ports import Clock, FileStore, StationGateway
from chargepoints.repository import UnitOfWork
from csms.commands import CommandRunner
from csms.settings import Settings


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def _uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.sessions)


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.system.clock
    return clock


def _commands(request: Request) -> CommandRunner:
    runner: CommandRunner = request.app.state.system.commands
    return runner


def _files(request: Request) -> FileStore:
    store: FileStore = request.app.state.system.files
    return store


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.system.settings
    return settings


def _gateway(request: Request) -> StationGateway:
    gateway: StationGateway = request.app.state.station_gateway
    return gateway


def actor(request: Request) -> str:
    """Who asked, for the command and audit logs (the operator API has no login yet)."""
    return f"api@{request.client.host if request.client else 'unknown'}"


class Pagination:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
        offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
    ) -> None:
        self.limit, self.offset = limit, offset


SessionDep = Annotated[AsyncSession, Depends(_session)]
GatewayDep = Annotated[StationGateway, Depends(_gateway)]
UowDep = Annotated[UnitOfWork, Depends(_uow)]
ClockDep = Annotated[Clock, Depends(_clock)]
CommandsDep = Annotated[CommandRunner, Depends(_commands)]
FilesDep = Annotated[FileStore, Depends(_files)]
SettingsDep = Annotated[Settings, Depends(_settings)]
PageDep = Annotated[Pagination, Depends()]
