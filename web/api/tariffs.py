"""Operator API for tariffs: create, version, archive, assign to sites, stations and EVSEs, and
preview what a session would cost. Amounts travel as strings, so no float ever touches money."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tariffs import services
from tariffs.errors import InvalidTariff, TariffConflict, TariffError
from tariffs.model import Price
from tariffs.tables import TariffAssignmentRow, TariffVersionRow
from web.api.operator import Page
from web.api.problems import problem
from web.deps import BodyId, ClockDep, DbId, PageDep, UowDep, actor, text

router = APIRouter(prefix="/api/v1/operator/tariffs", tags=["tariffs"])

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
Amount = Annotated[
    str,
    Field(
        pattern=r"^-?\d{1,9}(\.\d{1,8})?$",
        description="A decimal as a string, in the currency (at most 9 digits and 8 decimals)",
        examples=["0.30"],
    ),
]
WallTime = Annotated[str, Field(pattern=r"^\d\d:\d\d(:\d\d)?$", description="HH:MM or HH:MM:SS, site time")]


class Band(BaseModel):
    """Prices while the site's wall clock is in [start, end) on one of `days`."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, text(50)] = Field(examples=["peak"])
    days: list[Day] = Field(min_length=1, description='"holiday" applies on the listed holidays')
    start: WallTime = Field(examples=["08:00"])
    end: WallTime = Field(examples=["24:00"], description="24:00 is midnight at the end of the day")
    energy_fee: Amount = Field(description="Per kWh")
    service_fee: Amount = Field(default="0", description="Per kWh")


class IdleFee(BaseModel):
    """Per minute plugged in after charging ended, after a grace period, up to a cap."""

    model_config = ConfigDict(extra="forbid")

    per_minute: Amount
    grace_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)
    cap: Amount | None = None


class Definition(BaseModel):
    """One version's prices, net of tax. Every day (and the holidays, when a band lists them)
    must be covered from 00:00 to 24:00 by exactly one band at a time."""

    model_config = ConfigDict(extra="forbid")

    bands: list[Band] = Field(min_length=1, max_length=200)
    holidays: list[date] = Field(default_factory=list)
    time_fee_per_minute: Amount = Field(default="0", description="While charging")
    idle_fee: IdleFee | None = None
    session_fee: Amount = "0"
    min_price: Amount | None = None
    max_price: Amount | None = None
    tax_rate: Amount = Field(default="0", description="0.13 for 13 %")


class TariffIn(BaseModel):
    tenant_id: BodyId
    name: Annotated[str, text(100)]
    valid_from: AwareDatetime | None = Field(default=None, description="When version 1 applies; default now")
    definition: Definition


class VersionIn(BaseModel):
    valid_from: AwareDatetime | None = Field(
        default=None, description="Default now; never before the latest version's, nor in the past"
    )
    definition: Definition


class Assignment(BaseModel):
    """A site, a station, or one EVSE of a station."""

    site_id: BodyId | None = None
    station_id: Annotated[str, text(48)] | None = None
    evse_id: BodyId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        self.target()
        return self

    def target(self) -> services.Target:
        return services.Target(self.site_id, self.station_id, self.evse_id)


class TariffOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    currency: str
    archived: bool
    created_at: datetime


class VersionOut(BaseModel):
    id: int
    version: int
    valid_from: datetime
    definition: Definition
    created_at: datetime
    created_by: str


class TariffDetail(TariffOut):
    versions: list[VersionOut]
    assignments: list[Assignment]


class PriceQuery(BaseModel):
    """A session charging `energy_wh` evenly from `started_at` to `ended_at`, then idle."""

    started_at: AwareDatetime
    ended_at: AwareDatetime
    energy_wh: int = Field(ge=0)
    idle_minutes: int = Field(default=0, ge=0, description="Plugged in after charging ended")
    time_zone: str | None = Field(default=None, description="IANA zone of the bands; default UTC")
    site_id: int | None = Field(default=None, description="Read the bands in this site's zone")
    version: int | None = Field(default=None, ge=1, description="Default: the one in force at started_at")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ended_at <= self.started_at:
            raise ValueError("ended_at must be after started_at")
        if self.time_zone is not None and self.site_id is not None:
            raise ValueError("give time_zone or site_id, not both")
        if self.time_zone is not None:
            try:
                ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {self.time_zone!r}") from None
        return self


class Line(BaseModel):
    kind: str
    quantity: str
    unit_price: str
    amount: str = Field(description="Exact; only subtotal, tax and total are rounded")
    band: str | None


class PriceOut(BaseModel):
    tariff_id: int
    version: int
    version_id: int
    time_zone: str
    currency: str
    lines: list[Line]
    subtotal: str
    tax: str
    total: str


def _detail(view: services.TariffView) -> TariffDetail:
    return TariffDetail.model_validate(
        {
            **TariffOut.model_validate(view.tariff, from_attributes=True).model_dump(),
            "versions": [_version(row) for row in view.versions],
            "assignments": [_assignment(row) for row in view.assignments],
        }
    )


def _version(row: TariffVersionRow) -> VersionOut:
    return VersionOut.model_validate(row, from_attributes=True)


def _assignment(row: TariffAssignmentRow) -> Assignment:
    return Assignment(site_id=row.site_id, station_id=row.station_id, evse_id=row.evse_id)


def _price(tariff_id: int, preview: services.Preview) -> PriceOut:
    price: Price = preview.price
    lines = [
        Line(
            kind=str(line.kind),
            quantity=format(line.quantity, "f"),
            unit_price=format(line.unit_price, "f"),
            amount=format(line.amount, "f"),
            band=line.band,
        )
        for line in price.lines
    ]
    assert preview.version.id is not None
    return PriceOut(
        tariff_id=tariff_id,
        version=preview.version.version,
        version_id=preview.version.id,
        time_zone=preview.time_zone,
        currency=price.currency,
        lines=lines,
        subtotal=format(price.subtotal, "f"),
        tax=format(price.tax, "f"),
        total=format(price.total, "f"),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_tariff(body: TariffIn, request: Request, uow: UowDep, clock: ClockDep) -> TariffDetail:
    """A tariff in its tenant's currency, with version 1."""
    definition = body.definition.model_dump(mode="json")
    view = await services.create_tariff(
        body.tenant_id, body.name, definition, body.valid_from, actor(request), uow=uow, clock=clock
    )
    return _detail(view)


@router.get("", response_model=Page[TariffOut])
async def list_tariffs(uow: UowDep, page: PageDep, tenant_id: int | None = None) -> Page[TariffOut]:
    rows, total = await services.list_tariffs(
        uow=uow, tenant_id=tenant_id, limit=page.limit, offset=page.offset
    )
    items = [TariffOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{tariff_id}")
async def get_tariff(tariff_id: DbId, uow: UowDep) -> TariffDetail:
    """The tariff with every version (oldest first) and where it is assigned."""
    return _detail(await services.get_tariff(tariff_id, uow=uow))


@router.post("/{tariff_id}/versions", status_code=status.HTTP_201_CREATED)
async def add_version(
    tariff_id: DbId, body: VersionIn, request: Request, uow: UowDep, clock: ClockDep
) -> VersionOut:
    """A new version; sessions started under earlier ones keep their price."""
    definition = body.definition.model_dump(mode="json")
    row = await services.add_version(
        tariff_id, definition, body.valid_from, actor(request), uow=uow, clock=clock
    )
    return _version(row)


@router.post("/{tariff_id}/archive")
async def archive(tariff_id: DbId, request: Request, uow: UowDep, clock: ClockDep) -> TariffOut:
    row = await services.archive(tariff_id, actor(request), uow=uow, clock=clock)
    return TariffOut.model_validate(row, from_attributes=True)


@router.put("/{tariff_id}/assignments")
async def assign(
    tariff_id: DbId, body: Assignment, request: Request, uow: UowDep, clock: ClockDep
) -> Assignment:
    """Make this the target's tariff, replacing the one it had."""
    row = await services.assign(tariff_id, body.target(), actor(request), uow=uow, clock=clock)
    return _assignment(row)


@router.delete("/{tariff_id}/assignments", status_code=status.HTTP_204_NO_CONTENT)
async def unassign(
    tariff_id: DbId, body: Assignment, request: Request, uow: UowDep, clock: ClockDep
) -> Response:
    await services.unassign(tariff_id, body.target(), actor(request), uow=uow, clock=clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{tariff_id}/price")
async def price(tariff_id: DbId, query: Annotated[PriceQuery, Query()], uow: UowDep) -> PriceOut:
    """What this session would cost, itemised."""
    usage = services.even_usage(query.started_at, query.ended_at, query.energy_wh, query.idle_minutes)
    preview = await services.preview(
        tariff_id,
        usage,
        uow=uow,
        version=query.version,
        time_zone=query.time_zone or "UTC",
        site_id=query.site_id,
    )
    return _price(tariff_id, preview)


async def _tariff_error(request: Request, exc: Exception) -> JSONResponse:
    """Pricing errors as problem JSON: 422 naming the band, 409 for conflicts, else 404."""
    assert isinstance(exc, TariffError)
    path = request.url.path
    if isinstance(exc, InvalidTariff):
        return problem(422, str(exc), instance=path, band=exc.band)
    if isinstance(exc, TariffConflict):
        return problem(409, str(exc), instance=path)
    return problem(404, str(exc), instance=path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(TariffError, _tariff_error)
