"""Operator REST API: stations and transactions (read side)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel

from chargepoints import queries
from chargepoints.model import TxState
from web.deps import DbId, GatewayDep, PageDep, SessionDep

router = APIRouter(prefix="/api/v1/operator", tags=["operator"])
T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@router.get("/stations", response_model=Page[queries.StationSummary])
async def list_stations(
    session: SessionDep, gateway: GatewayDep, page: PageDep
) -> Page[queries.StationSummary]:
    rows, total = await queries.list_stations(session, limit=page.limit, offset=page.offset)
    online = await gateway.connected(row.id for row in rows)
    items = [
        queries.StationSummary.model_validate({**row.model_dump(), "connected": row.id in online})
        for row in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/stations/{station_id}", response_model=queries.StationDetail)
async def get_station(
    station_id: Annotated[str, Path(max_length=48)], session: SessionDep, gateway: GatewayDep
) -> queries.StationDetail:
    connected = station_id in await gateway.connected([station_id])
    detail = await queries.station_detail(session, station_id, connected=connected)
    if detail is None:
        raise HTTPException(404, f"Station {station_id} not found")
    return detail


@router.get("/transactions", response_model=Page[queries.TransactionPublic])
async def list_transactions(
    session: SessionDep,
    page: PageDep,
    station_id: Annotated[str | None, Query(max_length=48)] = None,
    state: TxState | None = None,
) -> Page[queries.TransactionPublic]:
    items, total = await queries.list_transactions(
        session, station_id=station_id, state=state, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/transactions/{transaction_id}", response_model=queries.TransactionDetail)
async def get_transaction(transaction_id: DbId, session: SessionDep) -> queries.TransactionDetail:
    detail = await queries.transaction_detail(session, transaction_id)
    if detail is None:
        raise HTTPException(404, f"Transaction {transaction_id} not found")
    return detail
