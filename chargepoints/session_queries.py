"""Read models of charging sessions for the portal: filtered pages of a tenant's sessions, and a
session's meter curve for its chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints.model import ENERGY_REGISTER
from chargepoints.rules.review import ReviewState
from chargepoints.scope import station_filter
from chargepoints.tables import CdrRow, MeterSampleRow, TransactionRow
from tariffs.currency import billed

POWER = "Power.Active.Import"
CURVE_POINTS = 2000
"""Enough for a day sampled every minute; a chart of more says nothing more."""


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Sessions of one tenant (None: all) that started in [since, until); ``flagged`` keeps only
    those waiting in the review queue."""

    tenant_id: int | None = None
    station_id: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    flagged: bool = False


@dataclass(frozen=True, slots=True)
class SessionItem:
    """One row of the list: the session, and what its CDR bills (None before it has one)."""

    session: TransactionRow
    total: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class MeterPoint:
    """The session at one instant: power drawn, and energy delivered since its start."""

    at: datetime
    power_w: float | None
    energy_wh: int | None


async def sessions(
    session: AsyncSession, where: SessionFilter, *, limit: int, offset: int
) -> tuple[list[SessionItem], int]:
    """A page of sessions: newest first, or oldest first for the review queue."""
    conditions = _conditions(where)
    total = await session.scalar(select(func.count()).select_from(TransactionRow).where(*conditions))
    order = col(TransactionRow.id)
    query = (
        select(TransactionRow, col(CdrRow.total), col(CdrRow.currency))
        .outerjoin(CdrRow, col(CdrRow.transaction_id) == col(TransactionRow.id))
        .where(*conditions)
        .order_by(order if where.flagged else order.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(query)).all()
    items = [
        SessionItem(tx, None if amount is None else billed(amount, currency), currency)
        for tx, amount, currency in rows
    ]
    return items, int(total or 0)


async def scoped_session(
    session: AsyncSession, transaction_id: int, tenant_id: int | None
) -> TransactionRow | None:
    """The session if it happened at a station of the tenant (any station for None)."""
    query = select(TransactionRow).where(
        col(TransactionRow.id) == transaction_id, *station_filter(TransactionRow.station_id, tenant_id)
    )
    return (await session.execute(query.execution_options(populate_existing=True))).scalars().first()


async def meter_curve(session: AsyncSession, tx: TransactionRow) -> list[MeterPoint]:
    """Power and delivered energy at each sampling instant and at the start and end, oldest first;
    energy counts from the meter start (or the first register reading when that is unknown)."""
    query = (
        select(MeterSampleRow.timestamp, MeterSampleRow.measurand, MeterSampleRow.value)
        .where(
            col(MeterSampleRow.transaction_id) == tx.id,
            col(MeterSampleRow.measurand).in_((ENERGY_REGISTER, POWER)),
            col(MeterSampleRow.phase).is_(None),
        )
        .order_by(col(MeterSampleRow.timestamp), col(MeterSampleRow.id))
        .limit(2 * CURVE_POINTS)
    )
    power: dict[datetime, float] = {}
    register: dict[datetime, float] = {}
    for at, measurand, value in (await session.execute(query)).all():
        (register if measurand == ENERGY_REGISTER else power)[at] = value
    # The start and stop readings are the curve's ends (1.6 sends them outside MeterValues).
    if tx.started_at is not None and tx.meter_start_wh is not None:
        register.setdefault(tx.started_at, tx.meter_start_wh)
    if tx.ended_at is not None and tx.meter_stop_wh is not None:
        register.setdefault(tx.ended_at, tx.meter_stop_wh)
    base = tx.meter_start_wh if tx.meter_start_wh is not None else min(register.values(), default=0.0)
    return [
        MeterPoint(at, power.get(at), None if at not in register else round(register[at] - base))
        for at in sorted(power.keys() | register.keys())[:CURVE_POINTS]
    ]


def _conditions(where: SessionFilter) -> list[ColumnElement[bool]]:
    conditions = station_filter(TransactionRow.station_id, where.tenant_id)
    if where.station_id is not None:
        conditions.append(col(TransactionRow.station_id) == where.station_id)
    if where.state is not None:
        conditions.append(col(TransactionRow.state) == where.state)
    if where.since is not None:
        conditions.append(col(TransactionRow.started_at) >= where.since)
    if where.until is not None:
        conditions.append(col(TransactionRow.started_at) < where.until)
    if where.flagged:
        conditions.append(col(TransactionRow.review_state) == ReviewState.PENDING)
    return conditions
