"""Charge detail records: the priced, immutable account of one ended session.

A CDR is written once per session by whoever comes first: the stop's handler right after the
stop commits, the sweep job (after a restart or a failure), or an operator's review. The unique
transaction id settles races. A session the rules flag gets none until an operator decides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from chargepoints import events
from chargepoints.model import ENERGY_REGISTER, ChargingState, ConnectorStatus, TransactionEventType, TxState
from chargepoints.ports import Clock, EventPublisher
from chargepoints.repository import UnitOfWork
from chargepoints.rules.review import START_CODES, Reason, ReasonCode, ReviewState, SessionFacts, review
from chargepoints.tables import CdrRow, MeterSampleRow, StatusHistoryRow, TransactionEventRow, TransactionRow
from tariffs import pricing
from tariffs import services as tariff_services
from tariffs.model import Interval, Line, Reading, SessionUsage

log = logging.getLogger(__name__)

SWEEP_LOOKBACK = timedelta(days=7)
"""The sweep looks at sessions stopped this recently: older ones are settled or predate CDRs."""
SWEEP_BATCH = 200
EVENTS_GRACE = timedelta(minutes=15)
"""How long a 2.0.1 session that ended with some of its events still missing (a station
delivering what it queued offline out of order) waits for them before it is billed as it is."""


@dataclass(frozen=True, slots=True)
class Correction:
    """An operator's corrected energy, billed instead of the measured one."""

    energy_wh: int
    note: str


@dataclass(frozen=True, slots=True)
class Measured:
    """What the database knows of a session: the rules judge the facts, the tariff prices the rest.
    ``statuses`` are the EVSE's (time, charging?) changes from the last one before the start."""

    facts: SessionFacts
    statuses: tuple[tuple[datetime, bool], ...]
    unplugged_at: datetime | None


async def settle(
    transaction_id: int, *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher | None = None
) -> CdrRow | None:
    """Write the CDR of an ended session, or flag the session for review: None then, and for a
    running, voided or unknown session. Idempotent: the CDR already written is returned."""
    try:
        return await _settle(transaction_id, uow, clock.now(), publisher)
    except IntegrityError:
        # Another writer (the sweep, a resent stop on another node) committed it first.
        async with uow:
            return await cdr_of(uow.session, transaction_id)


async def settle_after_stop(
    transaction_id: int, *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> None:
    """``settle`` for the stop handlers: pricing must never fail a station's stop, so a failure
    is logged and left to the sweep."""
    try:
        await settle(transaction_id, uow=uow, clock=clock, publisher=publisher)
    except Exception:
        log.exception("CDR of transaction %s failed; the sweep retries it", transaction_id)


async def sweep(*, uow: UnitOfWork, clock: Clock, limit: int = SWEEP_BATCH) -> int:
    """Settle recently stopped, unflagged sessions that have no CDR (the server stopped between a
    stop and its CDR, or pricing failed); returns how many CDRs were written."""
    since = clock.now() - SWEEP_LOOKBACK
    async with uow:
        query = (
            select(TransactionRow.id)
            .where(
                col(TransactionRow.state) == TxState.ENDED,
                col(TransactionRow.review_state).is_(None),
                col(TransactionRow.updated_at) >= since,
                ~exists().where(col(CdrRow.transaction_id) == col(TransactionRow.id)),
            )
            .order_by(col(TransactionRow.id))
            .limit(limit)
        )
        ids = [tx_id for tx_id in (await uow.session.execute(query)).scalars() if tx_id is not None]
    written = 0
    for tx_id in ids:
        try:
            written += await settle(tx_id, uow=uow, clock=clock) is not None
        except Exception:
            log.exception("CDR of transaction %s failed; the next sweep retries it", tx_id)
    return written


async def _settle(
    transaction_id: int, uow: UnitOfWork, now: datetime, publisher: EventPublisher | None
) -> CdrRow | None:
    async with uow:
        existing = await cdr_of(uow.session, transaction_id)
        if existing is not None:
            return existing
        tx = await locked_transaction(uow.session, transaction_id)
        if tx is None or tx.state != TxState.ENDED or not _judge_again(tx):
            return None
        if now - tx.updated_at < EVENTS_GRACE and await _events_missing(uow.session, tx):
            return None
        measured = await measure(uow, tx)
        reasons = [*start_reasons(tx), *review(measured.facts)]
        if reasons:
            flag(tx, reasons)
            await uow.commit()
            return None
        tx.review_state = None
        cdr = await write(uow, tx, measured, now)
        await uow.commit(publisher)
        return cdr


def _judge_again(tx: TransactionRow) -> bool:
    """Unflagged sessions are judged when they end; a flagged one only if its stop was all that
    was missing (the stop has come since). Other flags wait for the operator."""
    if tx.review_state is None:
        return True
    codes = {ReasonCode(reason["code"]) for reason in tx.review_reasons}
    provisional = START_CODES | {ReasonCode.STOP_MISSING}
    return (
        tx.review_state == ReviewState.PENDING and ReasonCode.STOP_MISSING in codes and codes <= provisional
    )


async def locked_transaction(session: AsyncSession, transaction_id: int) -> TransactionRow | None:
    """The session row, locked until commit on PostgreSQL so a review and a stop take turns
    (SQLite has one writer anyway)."""
    query = select(TransactionRow).where(col(TransactionRow.id) == transaction_id).with_for_update()
    return (await session.execute(query)).scalars().first()


async def _events_missing(session: AsyncSession, tx: TransactionRow) -> bool:
    """Whether a 2.0.1 session lacks its Started event or a seqNo between it and the last one."""
    if tx.last_seq_no is None:
        return False  # 1.6: the stop is the last word
    seq_no = col(TransactionEventRow.seq_no)
    started = case((col(TransactionEventRow.event_type) == TransactionEventType.STARTED, 1), else_=0)
    query = select(func.count(), func.min(seq_no), func.max(seq_no), func.sum(started)).where(
        col(TransactionEventRow.station_id) == tx.station_id,
        col(TransactionEventRow.station_tx_id) == tx.station_tx_id,
    )
    count, first, last, starts = (await session.execute(query)).one()
    return not starts or count != last - first + 1


def start_reasons(tx: TransactionRow) -> list[Reason]:
    return [Reason(ReasonCode(r["code"]), r["text"]) for r in tx.review_reasons if r["code"] in START_CODES]


def flag(tx: TransactionRow, reasons: Sequence[Reason]) -> None:
    """Put the session in the review queue with these reasons (they replace earlier ones)."""
    note_reasons(tx, reasons)
    tx.review_state = ReviewState.PENDING


def note_reasons(tx: TransactionRow, reasons: Sequence[Reason]) -> None:
    """Keep the reasons; ``review_reason`` carries their words for lists that show one line."""
    tx.review_reasons = [{"code": r.code.value, "text": r.text} for r in reasons]
    tx.review_reason = "; ".join(r.text for r in reasons)[:255] or None


async def measure(uow: UnitOfWork, tx: TransactionRow) -> Measured:
    assert tx.id is not None
    register = await register_readings(uow.session, tx.id)
    statuses: tuple[tuple[datetime, bool], ...] = ()
    unplugged_at = None
    if tx.evse_id is not None and tx.started_at is not None and tx.ended_at is not None:
        statuses, unplugged_at = await _statuses(
            uow.session, tx.station_id, tx.evse_id, tx.started_at, tx.ended_at
        )
    facts = SessionFacts(
        started_at=tx.started_at,
        ended_at=tx.ended_at,
        meter_start_wh=tx.meter_start_wh,
        meter_stop_wh=tx.meter_stop_wh,
        register=register,
        max_power_w=await _max_power(uow, tx),
        offline=tx.offline,
    )
    return Measured(facts, statuses, unplugged_at)


async def write(
    uow: UnitOfWork,
    tx: TransactionRow,
    measured: Measured,
    now: datetime,
    correction: Correction | None = None,
) -> CdrRow:
    """Price the session under its pinned tariff version and add its CDR (flushed, not committed)."""
    assert tx.id is not None and tx.ended_at is not None
    started, ended = tx.started_at or tx.ended_at, tx.ended_at
    measured_wh = max(tx.energy_wh or 0, 0)
    energy = measured_wh if correction is None else correction.energy_wh
    # A correction replaces a measured curve nobody trusted: its energy is spread evenly.
    readings = (
        _readings(measured.facts) if correction is None else (Reading(started, 0), Reading(ended, energy))
    )
    charging = charging_periods(measured.statuses, started, ended, delivered=energy > 0)
    usage = SessionUsage(started, ended, readings, charging, measured.unplugged_at)
    pinned = None
    if tx.tariff_version_id is not None:
        pinned = await tariff_services.pinned(uow, tx.tariff_version_id, tx.station_id)
    price = pricing.price(pinned.tariff, usage, ZoneInfo(pinned.time_zone)) if pinned else None
    token = await uow.chargepoints.token(tx.id_token) if tx.id_token else None
    row = CdrRow(
        transaction_id=tx.id,
        station_id=tx.station_id,
        evse_id=tx.evse_id,
        id_token=tx.id_token,
        driver_id=token.user_id if token else None,  # the account the token belonged to when billed
        tariff_id=pinned.tariff_id if pinned else None,
        tariff_version_id=tx.tariff_version_id,
        currency=price.currency if price else None,
        started_at=started,
        ended_at=ended,
        meter_start_wh=tx.meter_start_wh,
        meter_stop_wh=tx.meter_stop_wh,
        energy_wh=energy,
        charging_s=_seconds(sum((p.end - p.start for p in charging), timedelta())),
        idle_s=_seconds((usage.unplugged_at or ended) - charging[-1].end) if charging else 0,
        total_s=_seconds(ended - started),
        lines=_lines(price.lines) if price else [],
        subtotal=price.subtotal if price else Decimal(0),
        tax=price.tax if price else Decimal(0),
        total=price.total if price else Decimal(0),
        corrected_from_wh=None if correction is None else measured_wh,
        correction_note=None if correction is None else correction.note,
        created_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    assert row.id is not None
    uow.events.append(events.CdrWritten(tx.station_id, tx.id, row.id))
    return row


def _lines(lines: Sequence[Line]) -> list[dict[str, str | None]]:
    """Amounts as strings: JSON numbers would turn exact decimals into floats."""
    return [
        {
            "kind": line.kind.value,
            "band": line.band,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "amount": str(line.amount),
        }
        for line in lines
    ]


def charging_periods(
    statuses: Sequence[tuple[datetime, bool]], started: datetime, ended: datetime, *, delivered: bool
) -> tuple[Interval, ...]:
    """When the EVSE was charging, from its status changes clipped to the session. A session that
    delivered energy while no status said so (2.0.1 reports charging states in transaction events,
    not in StatusNotification) counts as charging throughout."""
    periods: list[Interval] = []
    since: datetime | None = None
    for at, charging in statuses:
        at = min(max(at, started), ended)
        if charging and since is None:
            since = at
        elif not charging and since is not None:
            periods.append(Interval(since, at))
            since = None
    if since is not None:
        periods.append(Interval(since, ended))
    periods = [p for p in periods if p.end > p.start]
    if not periods and delivered and ended > started:
        periods = [Interval(started, ended)]
    return tuple(periods)


def _readings(facts: SessionFacts) -> tuple[Reading, ...]:
    readings = [Reading(at, wh) for at, wh in facts.register]
    if facts.started_at is not None and facts.meter_start_wh is not None:
        readings.append(Reading(facts.started_at, facts.meter_start_wh))
    if facts.ended_at is not None and facts.meter_stop_wh is not None:
        readings.append(Reading(facts.ended_at, facts.meter_stop_wh))
    return tuple(readings)


def _seconds(span: timedelta) -> int:
    return max(int(span.total_seconds()), 0)


async def register_readings(session: AsyncSession, transaction_id: int) -> tuple[tuple[datetime, int], ...]:
    """The session's whole-meter energy register samples as (time, Wh), oldest first."""
    query = (
        select(MeterSampleRow.timestamp, MeterSampleRow.value)
        .where(
            col(MeterSampleRow.transaction_id) == transaction_id,
            col(MeterSampleRow.measurand) == ENERGY_REGISTER,
            col(MeterSampleRow.phase).is_(None),
            or_(col(MeterSampleRow.unit).is_(None), col(MeterSampleRow.unit) == "Wh"),
        )
        .order_by(col(MeterSampleRow.timestamp))
    )
    return tuple((at, round(value)) for at, value in (await session.execute(query)).all())


async def _statuses(
    session: AsyncSession, station_id: str, evse_id: int, started: datetime, ended: datetime
) -> tuple[tuple[tuple[datetime, bool], ...], datetime | None]:
    """The EVSE's charging changes from the status in force at the start to the end, and the
    first Available after the end (the EV unplugged)."""
    evse = select(StatusHistoryRow).where(
        col(StatusHistoryRow.station_id) == station_id, col(StatusHistoryRow.evse_id) == evse_id
    )
    timestamp, row_id = col(StatusHistoryRow.timestamp), col(StatusHistoryRow.id)
    before = evse.where(timestamp <= started).order_by(timestamp.desc(), row_id.desc()).limit(1)
    during = evse.where(timestamp > started, timestamp <= ended).order_by(timestamp, row_id)
    unplug = evse.where(timestamp >= ended, col(StatusHistoryRow.status) == ConnectorStatus.AVAILABLE)
    rows = [*(await session.execute(before)).scalars(), *(await session.execute(during)).scalars()]
    unplugged = (await session.execute(unplug.order_by(timestamp).limit(1))).scalars().first()
    changes = tuple((row.timestamp, _is_charging(row)) for row in rows)
    return changes, None if unplugged is None else unplugged.timestamp


def _is_charging(row: StatusHistoryRow) -> bool:
    return ChargingState.CHARGING in (row.status, row.charging_state)


async def _max_power(uow: UnitOfWork, tx: TransactionRow) -> int | None:
    if tx.evse_id is None:
        return None
    evse = await uow.chargepoints.evse(tx.station_id, tx.evse_id)
    if evse is not None and evse.max_power_w:
        return evse.max_power_w
    if tx.connector_id is None:
        return None
    connector = await uow.chargepoints.connector(tx.station_id, tx.evse_id, tx.connector_id)
    return connector.max_power_w if connector is not None else None


async def cdr_of(session: AsyncSession, transaction_id: int) -> CdrRow | None:
    query = select(CdrRow).where(col(CdrRow.transaction_id) == transaction_id)
    return (await session.execute(query)).scalars().first()


@dataclass(frozen=True, slots=True)
class CdrFilter:
    """CDRs of one station and/or ended in [since, until)."""

    station_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(where: CdrFilter) -> SelectOfScalar[CdrRow]:
    query = select(CdrRow)
    if where.station_id is not None:
        query = query.where(col(CdrRow.station_id) == where.station_id)
    if where.since is not None:
        query = query.where(col(CdrRow.ended_at) >= where.since)
    if where.until is not None:
        query = query.where(col(CdrRow.ended_at) < where.until)
    return query


async def list_cdrs(
    session: AsyncSession, where: CdrFilter, *, limit: int, offset: int
) -> tuple[list[CdrRow], int]:
    query = _filtered(where)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = query.order_by(col(CdrRow.id).desc()).limit(limit).offset(offset)
    return list((await session.execute(page)).scalars()), int(total or 0)


async def cdrs_after(session: AsyncSession, where: CdrFilter, after_id: int, size: int) -> list[CdrRow]:
    """The next ``size`` CDRs by id: an export reads them in batches without OFFSET's rescans."""
    query = _filtered(where).where(col(CdrRow.id) > after_id).order_by(col(CdrRow.id)).limit(size)
    return list((await session.execute(query)).scalars())
