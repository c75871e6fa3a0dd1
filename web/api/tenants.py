"""Operator API for tenants: the companies that own tariffs and bill in one currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from tariffs import services
from web.api.operator import Page
from web.deps import ClockDep, PageDep, UowDep, actor, text

router = APIRouter(prefix="/api/v1/operator", tags=["tariffs"])


class TenantIn(BaseModel):
    name: Annotated[str, text(100)]
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])


class TenantOut(BaseModel):
    id: int
    name: str
    currency: str
    created_at: datetime


@router.post("/tenants", status_code=status.HTTP_201_CREATED)
async def create_tenant(body: TenantIn, request: Request, uow: UowDep, clock: ClockDep) -> TenantOut:
    row = await services.create_tenant(body.name, body.currency, actor(request), uow=uow, clock=clock)
    return TenantOut.model_validate(row, from_attributes=True)


@router.get("/tenants", response_model=Page[TenantOut])
async def list_tenants(uow: UowDep, page: PageDep) -> Page[TenantOut]:
    rows, total = await services.list_tenants(uow=uow, limit=page.limit, offset=page.offset)
    items = [TenantOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
