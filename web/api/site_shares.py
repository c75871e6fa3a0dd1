"""Operator API for a site's revenue share: the platform's fraction of its sessions' cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from csms.billing import site_shares
from csms.billing.errors import NotFound
from tariffs.currency import plain
from web.deps import ClockDep, DbId, SessionDep, SettingsDep, UowDep, actor

router = APIRouter(prefix="/api/v1/operator/sites/{site_id}/revenue-share", tags=["billing"])
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4, description="A fraction: 0.1 = 10 %")]


class ShareIn(BaseModel):
    platform_fee_rate: Rate | None = Field(description="None: the server-wide CSMS_PLATFORM_FEE_RATE")


class ShareOut(BaseModel):
    site_id: int
    platform_fee_rate: str
    own_rate: bool


def _out(site_id: int, rate: Decimal | None, default: Decimal) -> ShareOut:
    shown = default if rate is None else rate
    return ShareOut(site_id=site_id, platform_fee_rate=plain(shown), own_rate=rate is not None)


@router.get("")
async def get_share(site_id: DbId, session: SessionDep, settings: SettingsDep) -> ShareOut:
    try:
        site = await site_shares.site(session, site_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return _out(site_id, site.platform_fee_rate, settings.platform_fee_rate)


@router.put("")
async def set_share(
    site_id: DbId, body: ShareIn, request: Request, uow: UowDep, clock: ClockDep, settings: SettingsDep
) -> ShareOut:
    """Give the site its own split; sessions settled from now on use it."""
    try:
        site = await site_shares.set_platform_rate(
            site_id, body.platform_fee_rate, actor(request), uow=uow, clock=clock
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return _out(site_id, site.platform_fee_rate, settings.platform_fee_rate)
