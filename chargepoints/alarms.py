"""Alarms: stations that need a person, from when they went wrong to when they recovered.

A Faulted status (of a connector, or of the station as EVSE 0) raises a ``faulted`` alarm; a
station neither connected nor heard of for a grace period raises an ``offline`` one (a scheduled
check). Operators acknowledge an alarm (someone is on it) and may resolve it; the station
resolves it itself by reporting a working status again or by coming back. Resolved alarms stay
as the history. Operators' actions are audited in the transaction that makes them.

Errors::

    AlarmError
    ├── AlarmNotFound     no such alarm (in the caller's tenant)
    └── AlarmClosed       the alarm was resolved already
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints import events
from chargepoints.alarm_tables import AlarmRow
from chargepoints.model import ConnectorStatus, RegistrationStatus
from chargepoints.ports import Clock, StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.scope import station_filter
from chargepoints.serial import SerialWork
from chargepoints.tables import StationRow
from csms import audit

RECOVERED = frozenset({ConnectorStatus.AVAILABLE, ConnectorStatus.OCCUPIED, ConnectorStatus.RESERVED})
"""Statuses that show a faulted connector works again. Unavailable does not: an operator may
have taken a broken connector out of service, and it is still broken."""
OFFLINE_BATCH = 500


class AlarmKind(StrEnum):
    FAULTED = "faulted"
    OFFLINE = "offline"
    PROFILE = "profile"  # a station refuses, or never answers, the charging profiles smart charging sends


class AlarmError(Exception):
    pass


class AlarmNotFound(AlarmError):
    pass


class AlarmClosed(AlarmError):
    pass


def fault_key(station_id: str, evse_id: int, connector_id: int) -> str:
    return f"{AlarmKind.FAULTED}:{station_id}/{evse_id}/{connector_id}"


def offline_key(station_id: str) -> str:
    return f"{AlarmKind.OFFLINE}:{station_id}"


def profile_key(station_id: str, evse_id: int) -> str:
    return f"{AlarmKind.PROFILE}:{station_id}/{evse_id}"


class AlarmRaiser:
    """The bus subscriber. The node holding the station does the work, in order, on its own task:
    a station's StatusNotification is answered without waiting for the alarm tables, and several
    nodes never repeat it (the unique open key would keep one alarm all the same)."""

    def __init__(self, make_uow: Callable[[], UnitOfWork], clock: Clock, gateway: StationGateway) -> None:
        self._make_uow, self._clock, self._gateway = make_uow, clock, gateway
        self.work: SerialWork[events.Event] = SerialWork(self._check, name="alarms")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event, events.ConnectorStatusChanged | events.StationBooted
        ) and self._gateway.is_connected(event.station_id):
            self.work.offer(event)

    async def _check(self, event: events.Event) -> None:
        if isinstance(event, events.ConnectorStatusChanged):
            await on_status(event, uow=self._make_uow(), clock=self._clock)
        elif isinstance(event, events.StationBooted):
            await station_back(event.station_id, uow=self._make_uow(), clock=self._clock)


async def on_status(event: events.ConnectorStatusChanged, *, uow: UnitOfWork, clock: Clock) -> None:
    """Raise an alarm for a Faulted report; resolve it when the connector works again. Any
    report also shows the station is back online."""
    key = fault_key(event.station_id, event.evse_id, event.connector_id)
    if event.status == ConnectorStatus.FAULTED:
        alarm = AlarmRow(
            kind=AlarmKind.FAULTED,
            station_id=event.station_id,
            evse_id=event.evse_id,
            connector_id=event.connector_id,
            error_code=event.error_code,
            raised_at=clock.now(),
            open_key=key,
        )
        await _raise(uow, [alarm])
        keys = [offline_key(event.station_id)]
    else:
        keys = [offline_key(event.station_id), *([key] if event.status in RECOVERED else [])]
    await _resolve_open(uow, keys, clock.now())


async def station_back(station_id: str, *, uow: UnitOfWork, clock: Clock) -> None:
    """The station booted: it is online again."""
    await _resolve_open(uow, [offline_key(station_id)], clock.now())


async def check_offline(
    *, uow: UnitOfWork, clock: Clock, gateway: StationGateway, after: timedelta
) -> tuple[int, int]:
    """Raise an alarm for each accepted station that is not connected and was last heard of
    more than ``after`` ago, and resolve the offline alarms of stations that came back.
    Stations that never connected are not offline, just not installed yet.
    Returns (raised, resolved)."""
    now = clock.now()
    cutoff = now - after
    alarmed = select(AlarmRow.station_id).where(
        col(AlarmRow.kind) == AlarmKind.OFFLINE, col(AlarmRow.open_key).is_not(None)
    )
    async with uow:
        silent = await _station_ids(
            uow.session,
            col(StationRow.last_seen_at) < cutoff,
            col(StationRow.registration_status) == RegistrationStatus.ACCEPTED,
            col(StationRow.id).not_in(alarmed),
        )
        still_silent = await _station_ids(
            uow.session, col(StationRow.id).in_(alarmed), col(StationRow.last_seen_at) < cutoff
        )
        heard = await _station_ids(
            uow.session, col(StationRow.id).in_(alarmed), col(StationRow.last_seen_at) >= cutoff
        )
    connected = await gateway.connected([*silent, *still_silent])
    new = [
        AlarmRow(kind=AlarmKind.OFFLINE, station_id=s, raised_at=now, open_key=offline_key(s))
        for s in silent
        if s not in connected
    ]
    back = [offline_key(s) for s in [*heard, *(s for s in still_silent if s in connected)]]
    return await _raise(uow, new), await _resolve_open(uow, back, now)


async def profile_refused(
    station_id: str, evse_id: int, answer: str, *, uow: UnitOfWork, clock: Clock
) -> None:
    """Flag an EVSE whose station did not take a charging profile load management relies on."""
    row = AlarmRow(
        kind=AlarmKind.PROFILE,
        station_id=station_id,
        evse_id=evse_id,
        error_code=answer,
        raised_at=clock.now(),
        open_key=profile_key(station_id, evse_id),
    )
    await _raise(uow, [row])


async def profile_taken(station_id: str, evse_id: int, *, uow: UnitOfWork, clock: Clock) -> None:
    """The station took a profile again: its profile alarm, if any, resolves."""
    await _resolve_open(uow, [profile_key(station_id, evse_id)], clock.now())


async def _station_ids(session: AsyncSession, *where: ColumnElement[bool]) -> list[str]:
    query = select(StationRow.id).where(*where).order_by(col(StationRow.id)).limit(OFFLINE_BATCH)
    return list((await session.execute(query)).scalars())


async def acknowledge(
    alarm_id: int, actor: str, *, tenant_id: int | None, uow: UnitOfWork, clock: Clock
) -> AlarmRow:
    """Note that someone is on it; acknowledging twice keeps the first acknowledgement."""
    async with uow:
        row = await _scoped(uow.session, alarm_id, tenant_id)
        if row.resolved_at is not None:
            raise AlarmClosed(f"Alarm {alarm_id} is resolved")
        if row.acknowledged_at is None:
            now = clock.now()
            row.acknowledged_at, row.acknowledged_by = now, actor
            _audit(uow.session, actor, "alarm.acknowledge", row, now)
            await uow.commit()
    return row


async def resolve(
    alarm_id: int, actor: str, *, tenant_id: int | None, uow: UnitOfWork, clock: Clock
) -> AlarmRow:
    """Close the alarm by hand; if the fault persists, the station's next report raises a new one."""
    async with uow:
        row = await _scoped(uow.session, alarm_id, tenant_id)
        if row.resolved_at is not None:
            raise AlarmClosed(f"Alarm {alarm_id} is resolved")
        now = clock.now()
        row.resolved_at, row.resolved_by, row.open_key = now, actor, None
        _audit(uow.session, actor, "alarm.resolve", row, now)
        await uow.commit()
    return row


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    """Alarms of one tenant (None: all), open or resolved (None: both), of one station and kind."""

    tenant_id: int | None = None
    open: bool | None = None
    station_id: str | None = None
    kind: AlarmKind | None = None


async def alarms(
    session: AsyncSession, where: AlarmFilter, *, limit: int, offset: int
) -> tuple[list[AlarmRow], int]:
    """Alarms, newest first."""
    conditions = _conditions(where)
    total = await session.scalar(select(func.count()).select_from(AlarmRow).where(*conditions))
    query = (
        select(AlarmRow)
        .where(*conditions)
        .order_by(col(AlarmRow.raised_at).desc(), col(AlarmRow.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars()), int(total or 0)


async def open_count(session: AsyncSession, tenant_id: int | None) -> int:
    """How many alarms are open in the scope: the number on the navigation's badge."""
    where = _conditions(AlarmFilter(tenant_id=tenant_id, open=True))
    return int(await session.scalar(select(func.count()).select_from(AlarmRow).where(*where)) or 0)


async def alarm(session: AsyncSession, alarm_id: int, tenant_id: int | None) -> AlarmRow | None:
    query = select(AlarmRow).where(
        col(AlarmRow.id) == alarm_id, *station_filter(AlarmRow.station_id, tenant_id)
    )
    return (await session.execute(query)).scalars().first()


def _conditions(where: AlarmFilter) -> list[ColumnElement[bool]]:
    conditions = station_filter(AlarmRow.station_id, where.tenant_id)
    if where.open is not None:
        resolved = col(AlarmRow.resolved_at)
        conditions.append(resolved.is_(None) if where.open else resolved.is_not(None))
    if where.station_id is not None:
        conditions.append(col(AlarmRow.station_id) == where.station_id)
    if where.kind is not None:
        conditions.append(col(AlarmRow.kind) == where.kind)
    return conditions


async def _scoped(session: AsyncSession, alarm_id: int, tenant_id: int | None) -> AlarmRow:
    row = await alarm(session, alarm_id, tenant_id)
    if row is None:
        raise AlarmNotFound(f"Alarm {alarm_id} not found")
    return row


async def _raise(uow: UnitOfWork, rows: Iterable[AlarmRow]) -> int:
    """Store the alarms whose fault has no open alarm yet; returns how many were new."""
    raised = 0
    for row in rows:
        async with uow:
            query = select(AlarmRow.id).where(col(AlarmRow.open_key) == row.open_key)
            if (await uow.session.execute(query)).first() is not None:
                continue
            uow.session.add(row)
            try:
                await uow.commit()
            except IntegrityError:  # another node raised the same alarm first
                continue
            raised += 1
    return raised


async def _resolve_open(uow: UnitOfWork, keys: list[str], now: datetime) -> int:
    """Resolve the open alarms with these keys automatically; returns how many there were."""
    if not keys:
        return 0
    async with uow:
        query = select(AlarmRow).where(col(AlarmRow.open_key).in_(keys))
        rows = list((await uow.session.execute(query)).scalars())
        for row in rows:
            row.resolved_at, row.open_key = now, None
        if rows:
            await uow.commit()
    return len(rows)


def _audit(session: AsyncSession, actor: str, action: str, row: AlarmRow, now: datetime) -> None:
    details = {"kind": row.kind, "station_id": row.station_id, "evse_id": row.evse_id}
    audit.record(session, actor=actor, action=action, subject=f"alarm:{row.id}", details=details, at=now)
