"""Operator API for billing sessions: the review queue of abnormal sessions and the charge detail
records, as JSON pages or one streamed CSV file. Amounts travel as strings, never floats."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chargepoints import cdrs, review
from chargepoints.errors import TransactionNotFound
from chargepoints.repository import UnitOfWork
from chargepoints.tables import CdrRow, TransactionRow
from tariffs.currency import billed
from web.api.operator import Page
from web.deps import ClockDep, DbId, PageDep, SessionDep, UowDep, actor

router = APIRouter(prefix="/api/v1/operator", tags=["sessions"])

EXPORT_BATCH = 500
Note = Annotated[str, Field(min_length=1, max_length=500)]


class ReasonOut(BaseModel):
    code: str = Field(examples=["no_energy"])
    text: str = Field(examples=["no energy delivered in 45 min"])


class ReviewItem(BaseModel):
    id: int
    station_id: str
    evse_id: int | None
    id_token: str | None
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    meter_start_wh: int | None
    meter_stop_wh: int | None
    energy_wh: int | None
    offline: bool
    reasons: list[ReasonOut]


class AcceptIn(BaseModel):
    """Bill the measured data as it is."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["accept"]
    note: Note | None = None


class CorrectIn(BaseModel):
    """Bill this energy instead of the measured one; the CDR keeps both and the note."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["correct"]
    energy_wh: int = Field(ge=0, le=10_000_000)
    note: Note


class VoidIn(BaseModel):
    """Bill nothing: no CDR is written."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["void"]
    note: Note


ReviewIn = Annotated[AcceptIn | CorrectIn | VoidIn, Field(discriminator="action")]


class LineOut(BaseModel):
    kind: str
    band: str | None
    quantity: str = Field(description="kWh, minutes or sessions")
    unit_price: str
    amount: str = Field(description="Exact, before the one rounding of the subtotal")


class CdrOut(BaseModel):
    id: int
    transaction_id: int
    station_id: str
    evse_id: int | None
    id_token: str | None
    driver_id: int | None
    tariff_id: int | None
    tariff_version_id: int | None
    currency: str | None
    started_at: datetime
    ended_at: datetime
    meter_start_wh: int | None
    meter_stop_wh: int | None
    energy_wh: int
    charging_s: int
    idle_s: int
    total_s: int
    lines: list[LineOut]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    corrected_from_wh: int | None = Field(description="The measured energy, when an operator corrected it")
    correction_note: str | None
    created_at: datetime


class ReviewOut(BaseModel):
    transaction_id: int
    review_state: str
    cdr: CdrOut | None


def _item(tx: TransactionRow) -> ReviewItem:
    reasons = [ReasonOut.model_validate(r) for r in tx.review_reasons]
    return ReviewItem.model_validate({**tx.model_dump(), "energy_wh": tx.energy_wh, "reasons": reasons})


def _cdr(row: CdrRow) -> CdrOut:
    """Amounts to the currency's minor unit: PostgreSQL hands them back with six decimals."""
    cdr = CdrOut.model_validate(row, from_attributes=True)
    return cdr.model_copy(
        update={name: billed(getattr(cdr, name), row.currency) for name in ("subtotal", "tax", "total")}
    )


@router.get("/sessions/review", response_model=Page[ReviewItem])
async def review_queue(session: SessionDep, page: PageDep) -> Page[ReviewItem]:
    """Flagged sessions waiting for a decision, oldest first, with the reasons."""
    rows, total = await review.pending(session, limit=page.limit, offset=page.offset)
    return Page(items=[_item(tx) for tx in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("/sessions/{transaction_id}/review")
async def review_session(
    transaction_id: DbId, body: Annotated[ReviewIn, Body()], request: Request, uow: UowDep, clock: ClockDep
) -> ReviewOut:
    """Accept, correct or void a flagged session: 404 if unknown, 409 if it is not pending."""
    decision: review.Decision
    if isinstance(body, AcceptIn):
        decision = review.Accept(body.note)
    elif isinstance(body, CorrectIn):
        decision = review.Correct(body.energy_wh, body.note)
    else:
        decision = review.Void(body.note)
    try:
        cdr = await review.decide(transaction_id, decision, actor=actor(request), uow=uow, clock=clock)
    except TransactionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except review.NotUnderReview as exc:
        raise HTTPException(409, str(exc)) from None
    states = {"accept": "accepted", "correct": "corrected", "void": "voided"}
    return ReviewOut(
        transaction_id=transaction_id, review_state=states[body.action], cdr=_cdr(cdr) if cdr else None
    )


def _filter(  # the query parameters of the CDR list and export
    station_id: Annotated[str | None, Query(max_length=48)] = None,
    since: Annotated[AwareDatetime | None, Query(alias="from", description="Ended at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to", description="Ended before")] = None,
) -> cdrs.CdrFilter:
    return cdrs.CdrFilter(station_id, since, until)


FilterDep = Annotated[cdrs.CdrFilter, Depends(_filter)]


@router.get("/cdrs", response_model=Page[CdrOut])
async def list_cdrs(session: SessionDep, page: PageDep, where: FilterDep) -> Page[CdrOut]:
    """Newest first."""
    rows, total = await cdrs.list_cdrs(session, where, limit=page.limit, offset=page.offset)
    return Page(items=[_cdr(row) for row in rows], total=total, limit=page.limit, offset=page.offset)


CSV_COLUMNS = (
    "id",
    "transaction_id",
    "station_id",
    "evse_id",
    "id_token",
    "tariff_id",
    "tariff_version_id",
    "currency",
    "started_at",
    "ended_at",
    "energy_wh",
    "charging_s",
    "idle_s",
    "total_s",
    "subtotal",
    "tax",
    "total",
    "corrected_from_wh",
)


@router.get("/cdrs.csv", response_class=StreamingResponse)
async def export_cdrs(uow: UowDep, where: FilterDep) -> StreamingResponse:
    """Every matching CDR as one CSV row, streamed in batches so an export of any size runs in
    constant memory (and never holds SQLite's one connection for the whole download)."""
    headers = {"Content-Disposition": 'attachment; filename="cdrs.csv"'}
    return StreamingResponse(_csv(uow, where), media_type="text/csv", headers=headers)


async def _csv(uow: UnitOfWork, where: cdrs.CdrFilter) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    after = 0
    while True:
        async with uow:
            rows = await cdrs.cdrs_after(uow.session, where, after, EXPORT_BATCH)
        for row in rows:
            cdr = _cdr(row)
            writer.writerow([_csv_value(getattr(cdr, name)) for name in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_BATCH:
            return
        after = rows[-1].id or after


def _csv_value(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


@router.get("/cdrs/{cdr_id}")
async def get_cdr(cdr_id: DbId, session: SessionDep) -> CdrOut:
    row = await session.get(CdrRow, cdr_id)
    if row is None:
        raise HTTPException(404, f"CDR {cdr_id} not found")
    return _cdr(row)
