"""What a driver reads about their own sessions: the live progress of one, the orders they
became (with their CDRs), their reservations. Ownership is by id token: a session, order or
reservation is the driver's when its token is one of the account's."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from chargepoints import cdrs, events
from chargepoints.driver_sessions import Driver
from chargepoints.errors import TransactionNotFound
from chargepoints.model import TxState
from chargepoints.repository import UnitOfWork
from chargepoints.rules.metering import widen
from chargepoints.rules.review import ReviewState
from chargepoints.tables import CdrRow, MeterSampleRow, ReservationRow, SiteRow, StationRow, TransactionRow
from tariffs import services as tariff_services
from tariffs.currency import billed
from tariffs.model import Reading
from tariffs.pricing import RunningCost


@dataclass(frozen=True, slots=True)
class Progress:
    """A session as the driver watches it; ``cost`` is the running cost, the CDR's once billed."""

    transaction_id: int
    station_id: str
    evse_id: int | None
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    meter_start_wh: int | None
    meter_stop_wh: int | None
    power_w: float | None = None
    soc: float | None = None
    cost: Decimal | None = None
    currency: str | None = None

    @property
    def energy_wh(self) -> int:
        if self.meter_start_wh is None or self.meter_stop_wh is None:
            return 0
        return max(self.meter_stop_wh - self.meter_start_wh, 0)

    def duration_s(self, now: datetime) -> int:
        if self.started_at is None:
            return 0
        return max(int(((self.ended_at or now) - self.started_at).total_seconds()), 0)


def advance(progress: Progress, event: events.Event) -> Progress:
    """The progress after a meter or cost event of the session. The end is read from the database
    instead: only there do the end time and the CDR's total appear."""
    if isinstance(event, events.MeterValuesRecorded):
        start, stop = progress.meter_start_wh, progress.meter_stop_wh
        if event.energy_wh is not None:
            start, stop = widen(start, stop, event.energy_wh)
        power = progress.power_w if event.power_w is None else event.power_w
        soc = progress.soc if event.soc is None else event.soc
        return replace(progress, meter_start_wh=start, meter_stop_wh=stop, power_w=power, soc=soc)
    if isinstance(event, events.SessionCostUpdated):
        return replace(progress, cost=Decimal(event.total), currency=event.currency)
    return progress


async def progress(uow: UnitOfWork, tx: TransactionRow, now: datetime) -> Progress:
    """The session's progress from the database (inside the caller's unit of work)."""
    assert tx.id is not None
    active = tx.state == TxState.ACTIVE
    cost, currency = await _cost(uow, tx, now)
    return Progress(
        tx.id,
        tx.station_id,
        tx.evse_id,
        tx.state,
        tx.started_at,
        tx.ended_at,
        tx.meter_start_wh,
        tx.meter_stop_wh,
        await _last_sample(uow.session, tx.id, "Power.Active.Import") if active else None,
        await _last_sample(uow.session, tx.id, "SoC"),
        cost,
        currency,
    )


async def _last_sample(session: AsyncSession, transaction_id: int, measurand: str) -> float | None:
    query = (
        select(MeterSampleRow.value)
        .where(
            col(MeterSampleRow.transaction_id) == transaction_id,
            col(MeterSampleRow.measurand) == measurand,
            col(MeterSampleRow.phase).is_(None),
        )
        .order_by(col(MeterSampleRow.timestamp).desc(), col(MeterSampleRow.id).desc())
    )
    return (await session.execute(query)).scalars().first()


async def _cost(uow: UnitOfWork, tx: TransactionRow, now: datetime) -> tuple[Decimal | None, str | None]:
    """The CDR's total once written, else the price so far under the pinned tariff."""
    assert tx.id is not None
    cdr = await cdrs.cdr_of(uow.session, tx.id)
    if cdr is not None and cdr.currency is not None:
        return billed(cdr.total, cdr.currency), cdr.currency
    if tx.tariff_version_id is None or tx.started_at is None:
        return None, None
    pinned = await tariff_services.pinned(uow, tx.tariff_version_id, tx.station_id)
    running = RunningCost(pinned.tariff, ZoneInfo(pinned.time_zone), tx.started_at)
    if tx.meter_start_wh is not None:
        running.add(Reading(tx.started_at, tx.meter_start_wh))
    for at, wh in await cdrs.register_readings(uow.session, tx.id):
        running.add(Reading(at, wh))
    price = running.price(max(tx.ended_at or now, tx.started_at))
    return price.total, price.currency


class OrderStatus(StrEnum):
    CHARGING = "charging"
    SETTLING = "settling"  # ended; the CDR is on its way
    IN_REVIEW = "in_review"  # an operator looks at it before it is billed
    VOIDED = "voided"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class Order:
    """A session of the driver's with its CDR (if written yet) and where it took place."""

    transaction: TransactionRow
    cdr: CdrRow | None
    site: SiteRow | None

    @property
    def status(self) -> OrderStatus:
        if self.cdr is not None:
            return OrderStatus.COMPLETED
        if self.transaction.state == TxState.ACTIVE:
            return OrderStatus.CHARGING
        review = self.transaction.review_state
        if review == ReviewState.VOIDED:
            return OrderStatus.VOIDED
        return OrderStatus.IN_REVIEW if review == ReviewState.PENDING else OrderStatus.SETTLING


def _orders(tokens: Collection[str]) -> Select[TransactionRow, CdrRow, SiteRow]:
    return (
        select(TransactionRow, CdrRow, SiteRow)
        .outerjoin(CdrRow, col(CdrRow.transaction_id) == col(TransactionRow.id))
        .outerjoin(StationRow, col(StationRow.id) == col(TransactionRow.station_id))
        .outerjoin(SiteRow, col(SiteRow.id) == col(StationRow.site_id))
        .where(col(TransactionRow.id_token).in_(tokens))
    )


async def orders(
    session: AsyncSession, driver: Driver, *, limit: int, offset: int
) -> tuple[list[Order], int]:
    """The driver's sessions, newest first."""
    owned = col(TransactionRow.id_token).in_(driver.tokens)
    total = await session.scalar(select(func.count()).select_from(TransactionRow).where(owned))
    page = _orders(driver.tokens).order_by(col(TransactionRow.id).desc()).limit(limit).offset(offset)
    rows = (await session.execute(page)).all()
    return [Order(tx, cdr, site) for tx, cdr, site in rows], int(total or 0)


async def order(session: AsyncSession, driver: Driver, transaction_id: int) -> Order:
    query = _orders(driver.tokens).where(col(TransactionRow.id) == transaction_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise TransactionNotFound(f"Order {transaction_id} not found")
    tx, cdr, site = row
    return Order(tx, cdr, site)


async def driver_reservations(
    session: AsyncSession, driver: Driver, *, limit: int, offset: int
) -> tuple[list[ReservationRow], int]:
    """The driver's reservations, newest first."""
    owned = col(ReservationRow.id_token).in_(driver.tokens)
    total = await session.scalar(select(func.count()).select_from(ReservationRow).where(owned))
    query = select(ReservationRow).where(owned).order_by(col(ReservationRow.id).desc())
    rows = (await session.execute(query.limit(limit).offset(offset))).scalars()
    return list(rows), int(total or 0)
