"""Operator API for the tenant's library of charging profiles: keep named profiles and apply one
to a station's EVSE (sent and recorded like any other profile)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from chargepoints import profile_library
from chargepoints.load_tables import ProfileTemplateRow
from chargepoints.rules.charging_profiles import problems
from web.api import profiles as station_profiles
from web.deps import BodyId, ClockDep, CommandsDep, DbId, GatewayDep, SessionDep, UowDep, actor, text

router = APIRouter(prefix="/api/v1/operator/charging-profile-templates", tags=["charging profiles"])
EXCLUDED = {"evse_id", "transaction_id"}
"""Chosen when a template is applied, never kept in it."""


class TemplateIn(BaseModel):
    tenant_id: BodyId
    name: Annotated[str, text(100)]
    profile: station_profiles.ProfileIn = Field(description="evse_id and transaction_id are set when applied")


class TemplateOut(BaseModel):
    id: int
    tenant_id: int
    name: str
    definition: dict[str, Any]
    updated_at: datetime


class ApplyIn(BaseModel):
    station_id: Annotated[str, text(48)]
    evse_id: int = Field(default=0, ge=0, le=1_000, description="0 = the whole station")


def _definition(body: TemplateIn) -> dict[str, Any]:
    """The profile as kept; 422 for what neither OCPP version would accept (a TxProfile needs
    a running transaction, so it has no place in a library)."""
    profile = body.profile
    if profile.purpose == "TxProfile":
        raise HTTPException(422, "A TxProfile belongs to one transaction; keep a TxDefaultProfile instead")
    draft = station_profiles.as_profile(profile, {})
    evse_id = 0 if profile.purpose == "ChargingStationMaxProfile" else 1
    found = dict.fromkeys(p for version in ("2.0.1", "1.6") for p in problems(draft, evse_id, version))
    if found:
        raise RequestValidationError(
            [{"loc": ("body", "profile"), "msg": p, "type": "value_error"} for p in found]
        )
    return profile.model_dump(mode="json", exclude=EXCLUDED)


def _out(row: ProfileTemplateRow) -> TemplateOut:
    return TemplateOut.model_validate(row, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_template(body: TemplateIn, request: Request, uow: UowDep, clock: ClockDep) -> TemplateOut:
    try:
        row = await profile_library.add(
            body.tenant_id, body.name, _definition(body), actor(request), uow=uow, clock=clock
        )
    except profile_library.TemplateNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except profile_library.TemplateNameTaken as exc:
        raise HTTPException(409, str(exc)) from None
    return _out(row)


@router.get("")
async def list_templates(session: SessionDep, tenant_id: DbId | None = None) -> list[TemplateOut]:
    return [_out(row) for row in await profile_library.templates(session, tenant_id)]


@router.get("/{template_id}")
async def get_template(template_id: DbId, session: SessionDep) -> TemplateOut:
    try:
        return _out(await profile_library.template(session, template_id))
    except profile_library.TemplateNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.put("/{template_id}")
async def change_template(
    template_id: DbId, body: TemplateIn, request: Request, session: SessionDep, uow: UowDep, clock: ClockDep
) -> TemplateOut:
    try:
        kept = await profile_library.template(session, template_id)
        await session.commit()  # SQLite has one connection: let the change below have it
        if kept.tenant_id != body.tenant_id:
            raise HTTPException(409, "A template stays in its tenant's library")
        row = await profile_library.change(
            template_id, body.name, _definition(body), actor(request), uow=uow, clock=clock
        )
    except profile_library.TemplateNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except profile_library.TemplateNameTaken as exc:
        raise HTTPException(409, str(exc)) from None
    return _out(row)


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_template(template_id: DbId, request: Request, uow: UowDep, clock: ClockDep) -> None:
    try:
        await profile_library.remove(template_id, actor(request), uow=uow, clock=clock)
    except profile_library.TemplateNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/{template_id}/apply", status_code=status.HTTP_201_CREATED)
async def apply_template(
    template_id: DbId,
    body: ApplyIn,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> station_profiles.ProfileOut:
    """Send the template to a station's EVSE; 201 once the station installed it."""
    try:
        row = await profile_library.template(session, template_id)
    except profile_library.TemplateNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    await session.commit()  # SQLite has one connection: let the set-profile path have it
    profile = station_profiles.ProfileIn.model_validate({**row.definition, "evse_id": body.evse_id})
    return await station_profiles.set_profile(
        body.station_id, profile, request, session, uow, clock, gateway, runner
    )
