"""The driver's own profile: name and e-mail, vehicles, favourite stations, linked RFID cards.

Only the caller's own objects exist here: another driver's vehicle or card, or a station of
another tenant, answers 404 exactly as one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field

from csms.accounts import profile
from csms.accounts.model import APP_TOKEN_TYPE, VehicleSpec
from csms.accounts.tables import UserRow
from web.api.operator import Page
from web.deps import AccountsUowDep, ClockDep, CurrentDriver, CurrentUser, DbId, PageDep

router = APIRouter(prefix="/api/v1/me", tags=["me"])

Email = Annotated[
    str, Field(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["li@example.com"])
]
Plate = Annotated[str, Field(min_length=2, max_length=20, examples=["京A12345"])]
BatteryWh = Annotated[
    int, Field(ge=1_000, le=1_000_000, description="Usable capacity in Wh", examples=[75_000])
]
ConnectorType = Annotated[str, Field(max_length=20, examples=["GBT", "CCS2", "Type2"])]
StationId = Annotated[str, Path(max_length=48)]


class MeOut(BaseModel):
    id: int
    tenant_id: int
    role: str
    phone: str
    email: str | None
    display_name: str | None
    invitation_code: str = Field(description="Share it: sign-ups with it are recorded as invited by you")
    invited_by: int | None
    has_password: bool
    created_at: datetime


class MeIn(BaseModel):
    """Fields left out stay as they are; null clears one."""

    display_name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    email: Email | None = None


class VehicleIn(BaseModel):
    plate: Plate
    model: Annotated[str, Field(max_length=100)] | None = None
    battery_wh: BatteryWh | None = None
    connector_type: ConnectorType | None = None


class VehiclePatch(BaseModel):
    """Fields left out stay as they are; null clears one (the plate cannot be cleared)."""

    plate: Plate | None = None
    model: Annotated[str, Field(max_length=100)] | None = None
    battery_wh: BatteryWh | None = None
    connector_type: ConnectorType | None = None


class VehicleOut(BaseModel):
    id: int
    plate: str
    model: str | None
    battery_wh: int | None
    connector_type: str | None
    created_at: datetime


class FavoriteOut(BaseModel):
    station_id: str
    site_name: str | None
    created_at: datetime


class CardIn(BaseModel):
    token: str = Field(min_length=1, max_length=20, description="The number printed on the RFID card")


class IdTokenOut(BaseModel):
    token: str
    type: str
    status: str
    app: bool = Field(description="The app's own token, used for starts from the app; it cannot be unlinked")


@router.get("")
async def get_me(user: CurrentUser, uow: AccountsUowDep) -> MeOut:
    return _me(await profile.me(user.user_id, uow=uow))


@router.patch("")
async def patch_me(body: MeIn, user: CurrentUser, uow: AccountsUowDep) -> MeOut:
    changes = body.model_dump(exclude_unset=True)
    return _me(await profile.update_me(user.user_id, changes, uow=uow))


@router.get("/vehicles", response_model=Page[VehicleOut])
async def list_vehicles(user: CurrentDriver, uow: AccountsUowDep, page: PageDep) -> Page[VehicleOut]:
    rows, total = await profile.vehicles(user.user_id, uow=uow, limit=page.limit, offset=page.offset)
    items = [VehicleOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/vehicles", status_code=status.HTTP_201_CREATED)
async def add_vehicle(
    body: VehicleIn, user: CurrentDriver, uow: AccountsUowDep, clock: ClockDep
) -> VehicleOut:
    spec = VehicleSpec(body.plate, body.model, body.battery_wh, body.connector_type)
    row = await profile.add_vehicle(user.user_id, spec, uow=uow, clock=clock)
    return VehicleOut.model_validate(row, from_attributes=True)


@router.patch("/vehicles/{vehicle_id}")
async def patch_vehicle(
    vehicle_id: DbId, body: VehiclePatch, user: CurrentDriver, uow: AccountsUowDep
) -> VehicleOut:
    changes = body.model_dump(exclude_unset=True)
    row = await profile.update_vehicle(user.user_id, vehicle_id, changes, uow=uow)
    return VehicleOut.model_validate(row, from_attributes=True)


@router.delete("/vehicles/{vehicle_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_vehicle(vehicle_id: DbId, user: CurrentDriver, uow: AccountsUowDep) -> Response:
    await profile.delete_vehicle(user.user_id, vehicle_id, uow=uow)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/favorites", response_model=Page[FavoriteOut])
async def list_favorites(user: CurrentDriver, uow: AccountsUowDep, page: PageDep) -> Page[FavoriteOut]:
    rows, total = await profile.favorites(user.identity(), uow=uow, limit=page.limit, offset=page.offset)
    items = [
        FavoriteOut(station_id=row.station_id, site_name=site, created_at=row.created_at)
        for row, site in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.put("/favorites/{station_id}", status_code=status.HTTP_204_NO_CONTENT)
async def add_favorite(
    station_id: StationId, user: CurrentDriver, uow: AccountsUowDep, clock: ClockDep
) -> Response:
    """Idempotent: marking a favourite twice is fine."""
    await profile.add_favorite(user.identity(), station_id, uow=uow, clock=clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/favorites/{station_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_favorite(station_id: StationId, user: CurrentDriver, uow: AccountsUowDep) -> Response:
    await profile.remove_favorite(user.identity(), station_id, uow=uow)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/id-tokens")
async def list_id_tokens(user: CurrentDriver, uow: AccountsUowDep) -> list[IdTokenOut]:
    """All of them (a driver has a handful): sessions started with any of these are the driver's."""
    return [
        _id_token(row.token, row.type, row.status) for row in await profile.id_tokens(user.user_id, uow=uow)
    ]


@router.post(
    "/id-tokens",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already known card linked"}},
)
async def link_card(
    body: CardIn, user: CurrentDriver, uow: AccountsUowDep, clock: ClockDep, response: Response
) -> IdTokenOut:
    """Link an RFID card: 201 for a number new to the system, 200 for a known card nobody held,
    409 for a card linked to someone else."""
    row, created = await profile.link_card(user.user_id, body.token, uow=uow, clock=clock)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _id_token(row.token, row.type, row.status)


@router.delete("/id-tokens/{token}", status_code=status.HTTP_204_NO_CONTENT)
async def unlink_card(
    token: Annotated[str, Path(max_length=255)], user: CurrentDriver, uow: AccountsUowDep
) -> Response:
    """The card stays known (and keeps its status), but its sessions are no longer the driver's."""
    await profile.unlink_card(user.user_id, token, uow=uow)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _me(row: UserRow) -> MeOut:
    assert row.id is not None
    return MeOut(
        id=row.id,
        tenant_id=row.tenant_id,
        role=row.role,
        phone=row.phone,
        email=row.email,
        display_name=row.display_name,
        invitation_code=row.invitation_code,
        invited_by=row.invited_by,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
    )


def _id_token(token: str, type_: str, status_: str) -> IdTokenOut:
    return IdTokenOut(token=token, type=type_, status=status_, app=type_ == APP_TOKEN_TYPE)
