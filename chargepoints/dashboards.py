"""Dashboard read models: energy, revenue, sessions, utilisation, faults and new drivers per day,
week or month of a period, counting only the stations (and tenant) the viewer may see.

Days are local days in a site's time zone, which SQL cannot group portably on SQLite and
PostgreSQL alike: the queries group by UTC quarter hour instead (every time zone's offset is a
whole number of quarter hours) and Python folds those into local days.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select

from chargepoints import scope as tenant_scope
from chargepoints.model import ConnectorStatus, TxState
from chargepoints.tables import CdrRow, ConnectorRow, SiteRow, StationRow, StatusHistoryRow, TransactionRow
from csms.accounts.model import DRIVER_ROLES
from csms.accounts.tables import UserRow
from tariffs.currency import billed

MAX_DAYS = 366
SLOT_S = 900
"""Seconds in a quarter hour, the unit the queries group time by."""
MICROS = 1_000_000

Value = int | Decimal


class _slot(FunctionElement[int]):
    """The UTC quarter hour a timestamp falls in, counted from the Unix epoch."""

    type = BigInteger()
    inherit_cache = True
    name = "slot"


@compiles(_slot, "sqlite")
def _slot_sqlite(element: _slot, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UtcDateTime as naive UTC text, which strftime reads.
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / {SLOT_S})"


@compiles(_slot, "postgresql")
def _slot_postgresql(element: _slot, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) / {SLOT_S}) AS BIGINT)"


class _micros(FunctionElement[int]):
    """An amount in millionths, as an integer that sums exactly on both databases."""

    type = BigInteger()
    inherit_cache = True
    name = "micros"


@compiles(_micros, "sqlite")
def _micros_sqlite(element: _micros, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores money as text and would add it up as floats. One amount below a billion
    # survives the trip through a double with its sixth decimal intact, and ROUND restores it.
    return f"CAST(ROUND({compiler.process(element.clauses, **kw)} * {MICROS}) AS INTEGER)"


@compiles(_micros, "postgresql")
def _micros_postgresql(element: _micros, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} * {MICROS} AS BIGINT)"


@dataclass(frozen=True, slots=True)
class Scope:
    """The stations a dashboard counts: a tenant's (None: every tenant's), narrowed to some sites
    (None: all of the tenant's). Users belong to tenants, not sites: only the tenant limits them."""

    tenant_id: int | None = None
    site_ids: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local days from ``first`` to ``last``, both included, in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"a period spans at most {MAX_DAYS} days")

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def midnight(self, day: date) -> datetime:
        """When ``day`` begins, in UTC."""
        return datetime.combine(day, time(), self.zone).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self.midnight(self.first)

    @property
    def end(self) -> datetime:
        return self.midnight(self.last + timedelta(days=1))

    def day_of(self, slot: int) -> date:
        return datetime.fromtimestamp(slot * SLOT_S, self.zone).date()


@dataclass(frozen=True, slots=True)
class Series:
    """A metric over consecutive buckets (days, weeks or months), zero where nothing happened.

    Revenue has a column per currency; the other metrics have one column."""

    buckets: tuple[date, ...]
    columns: dict[str, tuple[Value, ...]]

    def rows(self) -> list[tuple[date, tuple[Value, ...]]]:
        values = list(zip(*self.columns.values(), strict=True)) or [() for _ in self.buckets]
        return list(zip(self.buckets, values, strict=True))

    def totals(self) -> dict[str, Value]:
        return {name: sum(values, 0) for name, values in self.columns.items()}

    def regroup(self, key: Callable[[date], date]) -> Series:
        """Sums over coarser buckets, ``key`` naming each day's (for additive metrics only)."""
        buckets = tuple(dict.fromkeys(key(day) for day in self.buckets))
        columns: dict[str, tuple[Value, ...]] = {}
        for name, values in self.columns.items():
            sums: dict[date, Value] = {}
            for day, value in zip(self.buckets, values, strict=True):
                sums[key(day)] = sums.get(key(day), 0) + value
            columns[name] = tuple(sums[bucket] for bucket in buckets)
        return Series(buckets, columns)


def month_of(day: date) -> date:
    return day.replace(day=1)


def week_of(day: date) -> date:
    """The Monday the day's ISO week starts on."""
    return day - timedelta(days=day.weekday())


async def sites(session: AsyncSession, scope: Scope) -> list[SiteRow]:
    """The sites a viewer may pick, by name."""
    found = await tenant_scope.sites(session, scope.tenant_id)
    return [site for site in found if scope.site_ids is None or site.id in scope.site_ids]


def zone_of(sites: Iterable[SiteRow]) -> ZoneInfo:
    """The time zone the sites share, or UTC when they have several (or there are none)."""
    zones = {site.time_zone for site in sites}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else ZoneInfo("UTC")


def _in_scope(station_id: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions keeping the rows of the scope's stations; none for an administrator's view,
    which takes stations without a site too."""
    conditions = tenant_scope.station_filter(station_id, scope.tenant_id)
    if scope.site_ids is not None:
        at_sites = select(StationRow.id).where(col(StationRow.site_id).in_(scope.site_ids))
        conditions.append(col(station_id).in_(at_sites))
    return conditions


def _within(at: Any, period: Period) -> ColumnElement[bool]:
    within: ColumnElement[bool] = (col(at) >= period.start) & (col(at) < period.end)
    return within


def _daily(period: Period, slots: Iterable[tuple[int, Value]]) -> tuple[Value, ...]:
    """Per-slot values folded into the period's days."""
    per_day: dict[date, Value] = defaultdict(int)
    for slot, value in slots:
        per_day[period.day_of(slot)] += value
    return tuple(per_day[day] for day in period.days())


async def energy_per_day(session: AsyncSession, scope: Scope, period: Period) -> Series:
    """Billed energy in Wh (CDRs, corrections included), on the day each session ended."""
    slot = _slot(CdrRow.ended_at)
    query = (
        select(slot, func.sum(CdrRow.energy_wh))
        .where(_within(CdrRow.ended_at, period), *_in_scope(CdrRow.station_id, scope))
        .group_by(slot)
    )
    rows = (await session.execute(query)).all()
    return Series(tuple(period.days()), {"energy_wh": _daily(period, ((s, int(wh)) for s, wh in rows))})


async def revenue_per_day(session: AsyncSession, scope: Scope, period: Period) -> Series:
    """The sum of CDR totals per currency, on the day each session ended."""
    slot = _slot(CdrRow.ended_at)
    query = (
        select(slot, CdrRow.currency, func.sum(_micros(CdrRow.total)))
        .where(
            _within(CdrRow.ended_at, period),
            *_in_scope(CdrRow.station_id, scope),
            col(CdrRow.currency).is_not(None),
        )
        .group_by(slot, col(CdrRow.currency))
    )
    per_currency: dict[str, list[tuple[int, Value]]] = defaultdict(list)
    for s, currency, micros in (await session.execute(query)).all():
        per_currency[str(currency)].append((s, Decimal(int(micros)).scaleb(-6)))
    columns: dict[str, tuple[Value, ...]] = {
        currency: tuple(billed(Decimal(value), currency) for value in _daily(period, slots))
        for currency, slots in sorted(per_currency.items())
    }
    return Series(tuple(period.days()), columns)


async def sessions_per_day(session: AsyncSession, scope: Scope, period: Period) -> Series:
    """Sessions started each day, running and unbilled ones included."""
    slot = _slot(TransactionRow.started_at)
    query = (
        select(slot, func.count())
        .where(_within(TransactionRow.started_at, period), *_in_scope(TransactionRow.station_id, scope))
        .group_by(slot)
    )
    rows = (await session.execute(query)).all()
    return Series(tuple(period.days()), {"sessions": _daily(period, rows)})


async def faults_per_day(session: AsyncSession, scope: Scope, period: Period) -> Series:
    """Changes to Faulted: a connector (or station) that reports Faulted again while it already is
    counts once. A fault that began before the period counts on its first report in it."""
    history = StatusHistoryRow
    previous = func.lag(history.status).over(
        partition_by=(col(history.station_id), col(history.evse_id), col(history.connector_id)),
        order_by=(col(history.timestamp), col(history.id)),
    )
    changes = (
        select(history.timestamp, history.status, previous.label("previous"))
        .where(_within(history.timestamp, period), *_in_scope(history.station_id, scope))
        .subquery()
    )
    slot = _slot(changes.c.timestamp)
    query = (
        select(slot, func.count())
        .where(
            changes.c.status == ConnectorStatus.FAULTED,
            or_(changes.c.previous.is_(None), changes.c.previous != ConnectorStatus.FAULTED),
        )
        .group_by(slot)
    )
    rows = (await session.execute(query)).all()
    return Series(tuple(period.days()), {"faults": _daily(period, rows)})


async def new_drivers_per_week(session: AsyncSession, scope: Scope, period: Period) -> Series:
    """Driver accounts created, per week starting on Monday (the edge weeks are partial)."""
    slot = _slot(UserRow.created_at)
    query = select(slot, func.count()).where(
        _within(UserRow.created_at, period), col(UserRow.role).in_([role.value for role in DRIVER_ROLES])
    )
    if scope.tenant_id is not None:
        query = query.where(col(UserRow.tenant_id) == scope.tenant_id)
    rows = (await session.execute(query.group_by(slot))).all()
    return Series(tuple(period.days()), {"new_drivers": _daily(period, rows)}).regroup(week_of)


async def utilisation_per_day(
    session: AsyncSession, scope: Scope, period: Period, *, now: datetime
) -> Series:
    """The share of EVSE time spent in a session, in per cent, from session start and end times
    (a running session counts until ``now``). EVSEs are those that ever reported a status."""
    evses = (
        select(ConnectorRow.station_id, ConnectorRow.evse_id)
        .where(col(ConnectorRow.evse_id) > 0, *_in_scope(ConnectorRow.station_id, scope))
        .distinct()
        .subquery()
    )
    evse_count = int(await session.scalar(select(func.count()).select_from(evses)) or 0)
    query = select(TransactionRow.started_at, TransactionRow.ended_at, TransactionRow.state).where(
        col(TransactionRow.started_at) < period.end,
        or_(col(TransactionRow.ended_at).is_(None), col(TransactionRow.ended_at) > period.start),
        *_in_scope(TransactionRow.station_id, scope),
    )
    busy = _busy_seconds(period, (await session.execute(query)).all(), now)
    days = period.days()
    shares: list[Decimal] = []
    for day, seconds in zip(days, busy, strict=True):
        length = (period.midnight(day + timedelta(days=1)) - period.midnight(day)).total_seconds()
        share = Fraction(seconds * 100) / Fraction(int(length) * evse_count) if evse_count else Fraction(0)
        shares.append(Decimal(share.numerator) / Decimal(share.denominator))
    return Series(tuple(days), {"utilisation_pct": tuple(v.quantize(Decimal("0.1")) for v in shares)})


def _busy_seconds(
    period: Period, sessions: Iterable[tuple[datetime | None, datetime | None, str]], now: datetime
) -> list[int]:
    """Seconds of the sessions' time falling on each day of the period."""
    days = period.days()
    bounds = [period.midnight(day) for day in days] + [period.end]
    busy = [0] * len(days)
    for started, ended, state in sessions:
        if started is None:
            continue
        stop = min(ended or (now if state == TxState.ACTIVE else started), period.end)
        start = max(started, period.start)
        index = max(bisect.bisect_right(bounds, start) - 1, 0)
        while index < len(days) and bounds[index] < stop:
            overlap = min(stop, bounds[index + 1]) - max(start, bounds[index])
            busy[index] += max(int(overlap.total_seconds()), 0)
            index += 1
    return busy
