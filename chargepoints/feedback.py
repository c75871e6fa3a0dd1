"""Drivers' feedback: a review of each of their ended sessions, complaints, and operators' answers.

A driver reaches only their own sessions (the session's id token is one of theirs) at stations
of their tenant; anything else is `FeedbackNotFound`, so a driver cannot tell another driver's
session from one that does not exist. Operators' answers are audited in their own transaction.

Errors::

    FeedbackError
    ├── FeedbackNotFound     no such station, session or complaint (for this driver)
    ├── SessionNotEnded      a running session cannot be reviewed yet
    ├── AlreadyReviewed      the session has its review
    ├── InvalidComplaint     the session given did not happen at the station given
    └── ComplaintClosed      resolved and rejected complaints stay as they are
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from chargepoints.driver_queries import visible_station
from chargepoints.feedback_tables import ComplaintRow, ReviewRow
from chargepoints.model import TxState
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.tables import TransactionRow
from csms.accounts.queries import driver_tokens
from csms.audit import record


class FeedbackError(Exception):
    pass


class FeedbackNotFound(FeedbackError):
    pass


class SessionNotEnded(FeedbackError):
    pass


class AlreadyReviewed(FeedbackError):
    pass


class InvalidComplaint(FeedbackError):
    pass


class ComplaintClosed(FeedbackError):
    pass


class ComplaintCategory(StrEnum):
    BILLING = "billing"
    STATION_FAULT = "station_fault"
    ACCESS = "access"
    OTHER = "other"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self in (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED)


class ReviewPublic(SQLModel):
    rating: int
    comment: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Driver:
    user_id: int
    tenant_id: int


@dataclass(frozen=True, slots=True)
class ComplaintSpec:
    category: ComplaintCategory
    text: str
    station_id: str | None = None
    transaction_id: int | None = None


async def review_session(
    transaction_id: int, rating: int, comment: str | None, *, driver: Driver, uow: UnitOfWork, clock: Clock
) -> ReviewRow:
    """Rate one of the driver's ended sessions, once."""
    async with uow:
        tx = await _own_session(uow.session, transaction_id, driver)
        if tx.state != TxState.ENDED:
            raise SessionNotEnded(f"Session {transaction_id} is still running")
        existing = select(ReviewRow.id).where(col(ReviewRow.transaction_id) == transaction_id)
        if (await uow.session.execute(existing)).first() is not None:
            raise AlreadyReviewed(f"Session {transaction_id} has been reviewed")
        row = ReviewRow(
            transaction_id=transaction_id,
            station_id=tx.station_id,
            user_id=driver.user_id,
            tenant_id=driver.tenant_id,
            rating=rating,
            comment=comment,
            created_at=clock.now(),
        )
        uow.session.add(row)
        try:
            await uow.commit()
        except IntegrityError:  # the same review, sent twice at once: the unique key keeps one
            raise AlreadyReviewed(f"Session {transaction_id} has been reviewed") from None
    return row


async def file_complaint(
    spec: ComplaintSpec, *, driver: Driver, uow: UnitOfWork, clock: Clock
) -> ComplaintRow:
    """A complaint about a station of the driver's tenant, one of their sessions, or neither."""
    async with uow:
        station_id = spec.station_id
        if (
            station_id is not None
            and await visible_station(uow.session, station_id, tenant_id=driver.tenant_id) is None
        ):
            raise FeedbackNotFound(f"Station {station_id} not found")
        if spec.transaction_id is not None:
            tx = await _own_session(uow.session, spec.transaction_id, driver)
            if station_id is not None and tx.station_id != station_id:
                raise InvalidComplaint(f"Session {tx.id} was not at station {station_id}")
            station_id = tx.station_id
        now = clock.now()
        row = ComplaintRow(
            tenant_id=driver.tenant_id,
            user_id=driver.user_id,
            station_id=station_id,
            transaction_id=spec.transaction_id,
            category=spec.category,
            text=spec.text,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await uow.commit()
    return row


async def answer_complaint(
    complaint_id: int,
    status: ComplaintStatus | None,
    response: str | None,
    actor: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> ComplaintRow:
    """Move a complaint on and/or answer the driver; a closed complaint stays closed."""
    async with uow:
        row = await uow.session.get(ComplaintRow, complaint_id, with_for_update=True)
        if row is None:
            raise FeedbackNotFound(f"Complaint {complaint_id} not found")
        before = ComplaintStatus(row.status)
        if before.final:
            raise ComplaintClosed(f"Complaint {complaint_id} is {before}")
        now = clock.now()
        row.status = status or before
        row.response = response if response is not None else row.response
        row.updated_at = now
        details = {"from": before.value, "to": row.status, "response": response}
        record(
            uow.session,
            actor=actor,
            action="complaint.answer",
            subject=f"complaint:{complaint_id}",
            details=details,
            at=now,
        )
        await uow.commit()
    return row


async def station_reviews(
    session: AsyncSession, station_id: str, *, tenant_id: int, limit: int, offset: int
) -> tuple[list[ReviewPublic], int] | None:
    """The station's reviews, newest first; None if the driver may not see the station."""
    if await visible_station(session, station_id, tenant_id=tenant_id) is None:
        return None
    where = col(ReviewRow.station_id) == station_id
    total = await session.scalar(select(func.count()).select_from(ReviewRow).where(where))
    query = (
        select(ReviewRow).where(where).order_by(col(ReviewRow.created_at).desc(), col(ReviewRow.id).desc())
    )
    rows = (await session.execute(query.limit(limit).offset(offset))).scalars()
    return [ReviewPublic.model_validate(row, from_attributes=True) for row in rows], int(total or 0)


async def driver_complaints(
    session: AsyncSession, driver: Driver, *, limit: int, offset: int
) -> tuple[list[ComplaintRow], int]:
    """The driver's complaints, newest first."""
    return await _page(session, [col(ComplaintRow.user_id) == driver.user_id], limit, offset)


async def complaints(
    session: AsyncSession, *, tenant_id: int | None, status: ComplaintStatus | None, limit: int, offset: int
) -> tuple[list[ComplaintRow], int]:
    """Complaints for operators, newest first, optionally of one tenant and in one status."""
    where = []
    if tenant_id is not None:
        where.append(col(ComplaintRow.tenant_id) == tenant_id)
    if status is not None:
        where.append(col(ComplaintRow.status) == status)
    return await _page(session, where, limit, offset)


async def _page(
    session: AsyncSession, where: list[ColumnElement[bool]], limit: int, offset: int
) -> tuple[list[ComplaintRow], int]:
    total = await session.scalar(select(func.count()).select_from(ComplaintRow).where(*where))
    query = (
        select(ComplaintRow)
        .where(*where)
        .order_by(col(ComplaintRow.created_at).desc(), col(ComplaintRow.id).desc())
    )
    return list((await session.execute(query.limit(limit).offset(offset))).scalars()), int(total or 0)


async def _own_session(session: AsyncSession, transaction_id: int, driver: Driver) -> TransactionRow:
    """The driver's session at a station of their tenant, else FeedbackNotFound."""
    tx = await session.get(TransactionRow, transaction_id)
    if (
        tx is None
        or tx.id_token is None
        or tx.id_token not in await driver_tokens(session, driver.user_id)
        or await visible_station(session, tx.station_id, tenant_id=driver.tenant_id) is None
    ):
        raise FeedbackNotFound(f"Session {transaction_id} not found")
    return tx
