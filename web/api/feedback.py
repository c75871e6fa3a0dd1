"""Reviews and complaints: drivers review their ended sessions and file complaints; operators
work through the complaints (the operator API has no login yet, so it sees every tenant's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chargepoints import feedback
from chargepoints.feedback import ComplaintCategory, ComplaintSpec, ComplaintStatus, Driver, FeedbackError
from web.api.operator import Page
from web.deps import NO_NUL, ClockDep, CurrentDriver, PageDep, SessionDep, UowDep, actor

driver = APIRouter(prefix="/api/v1/me", tags=["feedback"])
operator = APIRouter(prefix="/api/v1/operator", tags=["complaints"])

DB_INT = 2**31 - 1  # ids are 32-bit integer columns
Id = Annotated[int, Path(ge=1, le=DB_INT)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL)]
_STATUS = {
    feedback.FeedbackNotFound: 404,
    feedback.SessionNotEnded: 409,
    feedback.AlreadyReviewed: 409,
    feedback.InvalidComplaint: 422,
    feedback.ComplaintClosed: 409,
}


class ReviewIn(BaseModel):
    rating: int = Field(ge=1, le=5, description="Stars, 1 to 5")
    comment: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=NO_NUL)] | None
    ) = None


class ReviewOut(BaseModel):
    id: int
    transaction_id: int
    station_id: str
    rating: int
    comment: str | None
    created_at: datetime


class ComplaintIn(BaseModel):
    category: ComplaintCategory
    text: Text
    station_id: str | None = Field(default=None, max_length=48, pattern=NO_NUL)
    transaction_id: int | None = Field(default=None, ge=1, le=DB_INT, description="One of your sessions")


class ComplaintOut(BaseModel):
    id: int
    tenant_id: int
    user_id: int
    station_id: str | None
    transaction_id: int | None
    category: str
    text: str
    status: str
    response: str | None
    created_at: datetime
    updated_at: datetime


class ComplaintPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ComplaintStatus | None = None
    response: Text | None = Field(default=None, description="The answer the driver sees")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.status is None and self.response is None:
            raise ValueError("give a status, a response or both")
        return self


def _http(exc: FeedbackError) -> HTTPException:
    return HTTPException(_STATUS[type(exc)], str(exc))


def _driver(principal: CurrentDriver) -> Driver:
    return Driver(user_id=principal.user_id, tenant_id=principal.tenant_id)


@driver.post("/sessions/{transaction_id}/review", status_code=status.HTTP_201_CREATED)
async def review_session(
    transaction_id: Id, body: ReviewIn, principal: CurrentDriver, uow: UowDep, clock: ClockDep
) -> ReviewOut:
    """Rate one of your ended sessions; each session takes one review."""
    try:
        row = await feedback.review_session(
            transaction_id, body.rating, body.comment or None, driver=_driver(principal), uow=uow, clock=clock
        )
    except FeedbackError as exc:
        raise _http(exc) from None
    return ReviewOut.model_validate(row, from_attributes=True)


@driver.post("/complaints", status_code=status.HTTP_201_CREATED)
async def file_complaint(
    body: ComplaintIn, principal: CurrentDriver, uow: UowDep, clock: ClockDep
) -> ComplaintOut:
    """About a station, one of your sessions, or neither (say, the app)."""
    spec = ComplaintSpec(body.category, body.text, body.station_id, body.transaction_id)
    try:
        row = await feedback.file_complaint(spec, driver=_driver(principal), uow=uow, clock=clock)
    except FeedbackError as exc:
        raise _http(exc) from None
    return ComplaintOut.model_validate(row, from_attributes=True)


@driver.get("/complaints", response_model=Page[ComplaintOut])
async def my_complaints(principal: CurrentDriver, session: SessionDep, page: PageDep) -> Page[ComplaintOut]:
    """Your complaints, newest first, with the operator's answers."""
    rows, total = await feedback.driver_complaints(
        session, _driver(principal), limit=page.limit, offset=page.offset
    )
    items = [ComplaintOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@operator.get("/complaints", response_model=Page[ComplaintOut])
async def list_complaints(
    session: SessionDep,
    page: PageDep,
    tenant_id: Annotated[int | None, Query(ge=1, le=DB_INT)] = None,
    status: ComplaintStatus | None = None,
) -> Page[ComplaintOut]:
    rows, total = await feedback.complaints(
        session, tenant_id=tenant_id, status=status, limit=page.limit, offset=page.offset
    )
    items = [ComplaintOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@operator.patch("/complaints/{complaint_id}")
async def answer_complaint(
    complaint_id: Id, body: ComplaintPatch, request: Request, uow: UowDep, clock: ClockDep
) -> ComplaintOut:
    """Move the complaint on (open, in_progress, then resolved or rejected) and/or answer it."""
    try:
        row = await feedback.answer_complaint(
            complaint_id, body.status, body.response, actor(request), uow=uow, clock=clock
        )
    except FeedbackError as exc:
        raise _http(exc) from None
    return ComplaintOut.model_validate(row, from_attributes=True)
