"""Operator API for provisioning: stations (with EVSEs and connectors) and id tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from chargepoints import admin, queries
from chargepoints.errors import (
    InvalidStationId,
    StationExists,
    StationHasHistory,
    StationNotFound,
    TokenExists,
    TokenNotFound,
)
from chargepoints.model import RegistrationStatus, TokenStatus
from csms.passwords import hash_password
from web.api.operator import Page
from web.deps import DB_INT_MAX, ClockDep, GatewayDep, PageDep, SessionDep, UowDep

router = APIRouter(prefix="/api/v1/operator", tags=["administration"])
StationId = Annotated[str, Path(max_length=48)]
# OCPP 2.0.1 BasicAuthPassword (and the 1.6 security extension's AuthorizationKey): 16-40 chars.
Password = Annotated[str, Field(min_length=16, max_length=40)]


class ConnectorIn(BaseModel):
    connector_id: int = Field(ge=1)
    type: str | None = Field(default=None, max_length=20, examples=["cType2"])
    max_power_w: int | None = Field(default=None, gt=0)


class EvseIn(BaseModel):
    evse_id: int = Field(ge=1)
    max_power_w: int | None = Field(default=None, gt=0)
    connectors: list[ConnectorIn] = Field(default_factory=lambda: [ConnectorIn(connector_id=1)], min_length=1)


class StationIn(BaseModel):
    id: str = Field(max_length=48, examples=["CP-17"])
    password: Password | None = None
    registration_status: RegistrationStatus = RegistrationStatus.ACCEPTED
    site_id: int | None = Field(default=None, ge=1, le=DB_INT_MAX)
    lenient: bool = Field(default=False, description="Repair known vendor schema breaks instead of refusing")
    evses: list[EvseIn] = Field(default_factory=list)


class StationPatch(BaseModel):
    password: Password | None = None
    registration_status: RegistrationStatus | None = None
    site_id: int | None = Field(default=None, ge=1, le=DB_INT_MAX)
    lenient: bool | None = None
    evses: list[EvseIn] | None = None


class TokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=255)
    type: str = Field(default="ISO14443", max_length=20)
    status: TokenStatus = TokenStatus.ACCEPTED
    expires_at: AwareDatetime | None = None
    group_id: str | None = Field(default=None, max_length=255)
    master_pass: bool = False


class TokenPatch(BaseModel):
    type: str | None = Field(default=None, max_length=20)
    status: TokenStatus | None = None
    expires_at: AwareDatetime | None = None
    group_id: str | None = Field(default=None, max_length=255)
    master_pass: bool | None = None


class TokenOut(BaseModel):
    token: str
    type: str
    status: str
    expires_at: datetime | None
    group_id: str | None
    master_pass: bool


def _evses(evses: list[EvseIn]) -> list[admin.EvseSpec]:
    return [
        admin.EvseSpec(
            e.evse_id,
            e.max_power_w,
            tuple(admin.ConnectorSpec(c.connector_id, c.type, c.max_power_w) for c in e.connectors),
        )
        for e in evses
    ]


async def _detail(session: SessionDep, gateway: GatewayDep, station_id: str) -> queries.StationDetail:
    connected = station_id in await gateway.connected([station_id])
    detail = await queries.station_detail(session, station_id, connected=connected)
    if detail is None:
        raise HTTPException(404, f"Station {station_id} not found")
    return detail


async def _require_site(uow: UowDep, site_id: int | None) -> None:
    """A missing site is the request's fault (422), not a foreign-key failure (500)."""
    if site_id is None:
        return
    async with uow:
        found = await queries.site_station_ids(uow.session, site_id)
    if found is None:
        raise HTTPException(422, f"Site {site_id} not found")


@router.post("/stations", status_code=status.HTTP_201_CREATED)
async def create_station(
    body: StationIn, uow: UowDep, clock: ClockDep, session: SessionDep, gateway: GatewayDep
) -> queries.StationDetail:
    spec = admin.StationSpec(
        body.id,
        hash_password(body.password) if body.password else None,
        body.registration_status,
        body.site_id,
        body.lenient,
    )
    await _require_site(uow, body.site_id)
    try:
        await admin.create_station(spec, _evses(body.evses), uow=uow, clock=clock)
    except InvalidStationId as exc:
        raise HTTPException(422, f"Invalid station id {exc}") from None
    except StationExists:
        raise HTTPException(409, f"Station {body.id} already exists") from None
    return await _detail(session, gateway, body.id)


@router.patch("/stations/{station_id}")
async def update_station(
    station_id: StationId,
    body: StationPatch,
    uow: UowDep,
    clock: ClockDep,
    session: SessionDep,
    gateway: GatewayDep,
) -> queries.StationDetail:
    changes: dict[str, Any] = body.model_dump(include=body.model_fields_set - {"password", "evses"})
    # null leaves a column as it is; only site_id may be cleared (the station leaves its site)
    changes = {name: value for name, value in changes.items() if value is not None or name == "site_id"}
    if "password" in body.model_fields_set:
        changes["password_hash"] = hash_password(body.password) if body.password else None
    evses = _evses(body.evses) if body.evses is not None else None
    await _require_site(uow, body.site_id)
    try:
        await admin.update_station(station_id, changes, evses, uow=uow, clock=clock)
    except StationNotFound:
        raise HTTPException(404, f"Station {station_id} not found") from None
    return await _detail(session, gateway, station_id)


@router.delete("/stations/{station_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_station(station_id: StationId, uow: UowDep) -> Response:
    try:
        await admin.delete_station(station_id, uow=uow)
    except StationNotFound:
        raise HTTPException(404, f"Station {station_id} not found") from None
    except StationHasHistory:
        raise HTTPException(409, f"Station {station_id} has transactions; set it Rejected instead") from None
    return Response(status_code=204)


@router.get("/id-tokens", response_model=Page[TokenOut])
async def list_tokens(
    session: SessionDep, page: PageDep, status: TokenStatus | None = None
) -> Page[TokenOut]:
    rows, total = await queries.list_tokens(session, status=status, limit=page.limit, offset=page.offset)
    items = [TokenOut.model_validate(r, from_attributes=True) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/id-tokens", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenIn, uow: UowDep, clock: ClockDep) -> TokenOut:
    try:
        await admin.create_token(admin.TokenSpec(**body.model_dump()), uow=uow, clock=clock)
    except TokenExists:
        raise HTTPException(409, f"Id token {body.token} already exists") from None
    return TokenOut(**body.model_dump())


@router.get("/id-tokens/{token}")
async def get_token(token: str, session: SessionDep) -> TokenOut:
    row = await queries.token(session, token)
    if row is None:
        raise HTTPException(404, f"Id token {token} not found")
    return TokenOut.model_validate(row, from_attributes=True)


@router.patch("/id-tokens/{token}")
async def update_token(token: str, body: TokenPatch, uow: UowDep, session: SessionDep) -> TokenOut:
    try:
        await admin.update_token(token, body.model_dump(include=body.model_fields_set), uow=uow)
    except TokenNotFound:
        raise HTTPException(404, f"Id token {token} not found") from None
    return await get_token(token, session)


@router.delete("/id-tokens/{token}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_token(token: str, uow: UowDep) -> Response:
    try:
        await admin.delete_token(token, uow=uow)
    except TokenNotFound:
        raise HTTPException(404, f"Id token {token} not found") from None
    return Response(status_code=204)
