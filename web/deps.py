"""Named dependencies the routers declare (the composition root fills ``app.state``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from chargepoints.ports import Clock, EventPublisher, FileStore, StationGateway
from chargepoints.repository import UnitOfWork
from csms.accounts import services as accounts
from csms.accounts.errors import NotAllowed, NotAuthenticated
from csms.accounts.model import DRIVER_ROLES, AuthConfig, Identity, Role
from csms.accounts.ports import SmsSender
from csms.accounts.repository import AccountsUnitOfWork
from csms.commands import CommandRunner
from csms.settings import Settings
from web.idempotency import idempotency_key


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def _uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.sessions)


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.system.clock
    return clock


def _publisher(request: Request) -> EventPublisher:
    bus: EventPublisher = request.app.state.system.bus
    return bus


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


def _accounts_uow(request: Request) -> AccountsUnitOfWork:
    return AccountsUnitOfWork(request.app.state.sessions)


def _auth(request: Request) -> AuthConfig:
    auth: AuthConfig = request.app.state.system.auth
    return auth


def _sms(request: Request) -> SmsSender:
    sms: SmsSender = request.app.state.system.sms
    return sms


@dataclass(frozen=True, slots=True)
class Principal:
    """The logged-in user a request acts for, as its access token and live session say."""

    user_id: int
    tenant_id: int
    role: str
    session_id: int

    def identity(self) -> Identity:
        return Identity(self.user_id, self.tenant_id, Role(self.role), self.session_id)


_bearer = HTTPBearer(auto_error=False, description="The access token from POST /api/v1/auth/login")


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """Any logged-in user; 401 (answered by web.api.auth) without a live access token.

    Uses a unit of work of its own, closed before the route runs: SQLite has one connection."""
    if credentials is None:
        raise NotAuthenticated("Log in first: send Authorization: Bearer <access token>")
    system = request.app.state.system
    identity = await accounts.authenticate(
        credentials.credentials, uow=_accounts_uow(request), clock=system.clock, config=system.auth
    )
    return Principal(identity.user_id, identity.tenant_id, identity.role.value, identity.session_id)


async def current_driver(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    if user.role not in DRIVER_ROLES:
        raise NotAllowed("Only driver accounts may do this")
    return user


def actor(request: Request) -> str:
    """Who asked, for the command and audit logs (the operator API has no login yet)."""
    return f"api@{request.client.host if request.client else 'unknown'}"


class Pagination:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip")] = 0,
    ) -> None:
        self.limit, self.offset = limit, offset


SessionDep = Annotated[AsyncSession, Depends(_session)]
GatewayDep = Annotated[StationGateway, Depends(_gateway)]
UowDep = Annotated[UnitOfWork, Depends(_uow)]
ClockDep = Annotated[Clock, Depends(_clock)]
PublisherDep = Annotated[EventPublisher, Depends(_publisher)]
CommandsDep = Annotated[CommandRunner, Depends(_commands)]
FilesDep = Annotated[FileStore, Depends(_files)]
SettingsDep = Annotated[Settings, Depends(_settings)]
PageDep = Annotated[Pagination, Depends()]
AccountsUowDep = Annotated[AccountsUnitOfWork, Depends(_accounts_uow)]
AuthDep = Annotated[AuthConfig, Depends(_auth)]
SmsDep = Annotated[SmsSender, Depends(_sms)]
CurrentUser = Annotated[Principal, Depends(current_user)]
CurrentDriver = Annotated[Principal, Depends(current_driver)]
# A route declaring it (after its auth dependency) answers a retried Idempotency-Key from storage.
IdempotencyKey = Annotated[None, Depends(idempotency_key)]
DB_INT_MAX = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL: larger ones cannot exist
DbId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
BodyId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]  # the same bound for ids in request bodies
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


def text(max_length: int, *, min_length: int = 1) -> Any:
    """A request field of plain text: bounded, and without the NUL PostgreSQL refuses."""
    return Field(min_length=min_length, max_length=max_length, pattern=NO_NUL)
