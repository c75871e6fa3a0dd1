"""Operator API for app clients that sign their requests (``web.signing``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, Field

from csms import audit
from web import signing
from web.api.operator import Page
from web.deps import AuthDep, ClockDep, PageDep, SessionDep, actor

router = APIRouter(prefix="/api/v1/operator", tags=["api clients"])


class ApiClientIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    require_signature: bool = Field(default=True, description="Refuse this client's unsigned requests")


class ApiClientOut(BaseModel):
    id: int
    client_id: str
    name: str
    require_signature: bool
    created_at: datetime


class ApiClientCreated(ApiClientOut):
    secret: str = Field(description="Shown once: keys the client's HMAC-SHA256 request signatures")


@router.post("/api-clients", status_code=status.HTTP_201_CREATED)
async def create_api_client(
    body: ApiClientIn, request: Request, session: SessionDep, clock: ClockDep, auth: AuthDep
) -> ApiClientCreated:
    row = signing.new_client(body.name, require_signature=body.require_signature, now=clock.now())
    session.add(row)
    await session.flush()
    details = {"name": row.name, "require_signature": row.require_signature}
    subject = f"api_client:{row.client_id}"
    audit.record(
        session,
        actor=actor(request),
        action="api_client.create",
        subject=subject,
        details=details,
        at=clock.now(),
    )
    await session.commit()
    secret = signing.client_secret(auth.secret_key, row.client_id)
    return ApiClientCreated.model_validate({**row.model_dump(), "secret": secret})


@router.get("/api-clients", response_model=Page[ApiClientOut])
async def list_api_clients(session: SessionDep, page: PageDep) -> Page[ApiClientOut]:
    rows, total = await signing.list_clients(session, limit=page.limit, offset=page.offset)
    items = [ApiClientOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.delete("/api-clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_client(
    client_id: Annotated[str, Path(max_length=64)], request: Request, session: SessionDep, clock: ClockDep
) -> None:
    row = await signing.find_client(session, client_id)
    if row is None:
        raise HTTPException(404, f"API client {client_id} not found")
    await session.delete(row)
    audit.record(
        session,
        actor=actor(request),
        action="api_client.delete",
        subject=f"api_client:{client_id}",
        details={},
        at=clock.now(),
    )
    await session.commit()
