"""Read models for the portal's station board, site map and station detail.

Whether a station is connected is the gateway's knowledge, not the database's, so the callers
pass the connected ids in. A tenant id of None means every tenant (administrators); otherwise
only stations on the tenant's sites exist.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints.model import ChargingState, ConnectorStatus, TxState
from chargepoints.tables import (
    ConnectorRow,
    EvseRow,
    MeterSampleRow,
    SiteRow,
    StationRow,
    TransactionRow,
)

CHARGING = ChargingState.CHARGING.value
OFFLINE = "Offline"
FILTER_STATUSES = ("Available", CHARGING, "Occupied", "Reserved", "Unavailable", "Faulted")
"""What the board filters on: the connector statuses, plus Charging (an Occupied connector
whose session draws power)."""
_SEVERITY = {"Available": 0, "Reserved": 1, "Occupied": 2, "Unavailable": 3, OFFLINE: 4, "Faulted": 5}
_OCCUPIED_STATES = frozenset(ChargingState) - {ChargingState.IDLE}
_POWER = "Power.Active.Import"


@dataclass(frozen=True, slots=True)
class BoardQuery:
    tenant_id: int | None
    search: str = ""
    status: str | None = None
    site_id: int | None = None


@dataclass(frozen=True, slots=True)
class ActiveSession:
    transaction_id: int
    station_tx_id: str
    id_token: str | None
    energy_wh: int | None
    started_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConnectorView:
    connector_id: int
    status: str
    """The connector status, or for an occupied one the charging state (Charging, SuspendedEV ...)."""
    error_code: str | None
    type: str | None
    max_power_w: int | None
    status_at: datetime


@dataclass(frozen=True, slots=True)
class EvseView:
    evse_id: int
    max_power_w: int | None
    connectors: tuple[ConnectorView, ...]
    power_w: float | None
    session: ActiveSession | None

    @property
    def status(self) -> str:
        return worst(c.status for c in self.connectors) if self.connectors else "Unknown"


@dataclass(frozen=True, slots=True)
class StationView:
    id: str
    vendor: str | None
    model: str | None
    ocpp_version: str | None
    site_id: int | None
    site_name: str | None
    status: str | None
    error_code: str | None
    connected: bool
    last_seen_at: datetime | None
    evses: tuple[EvseView, ...]

    @property
    def faulted(self) -> bool:
        return self.status == ConnectorStatus.FAULTED or any(
            e.status == ConnectorStatus.FAULTED for e in self.evses
        )

    @property
    def condition(self) -> str:
        """The station's worst state, which the board highlights and the map colours."""
        if self.faulted:
            return ConnectorStatus.FAULTED.value
        if not self.connected:
            return OFFLINE
        return worst(e.status for e in self.evses) if self.evses else (self.status or "Unknown")


@dataclass(frozen=True, slots=True)
class SiteOption:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class SitePin:
    id: int
    name: str
    address: str | None
    latitude: float | None
    longitude: float | None
    stations: int
    condition: str


def worst(statuses: Iterable[str]) -> str:
    """The most severe of some statuses (charging states count as Occupied)."""
    ranked = sorted(statuses, key=lambda s: _SEVERITY.get(s, _SEVERITY["Occupied"]), reverse=True)
    return ranked[0] if ranked else "Unknown"


def scoped(query: Select[Any], tenant_id: int | None) -> Select[Any]:
    """Restrict a query over stations to the tenant's sites."""
    if tenant_id is None:
        return query
    return query.join(SiteRow, col(SiteRow.id) == col(StationRow.site_id)).where(
        col(SiteRow.tenant_id) == tenant_id
    )


async def board_ids(session: AsyncSession, query: BoardQuery) -> list[str]:
    """The ids of the stations that pass the filters, in board order (ids only, so the caller
    can filter on connection state before taking a page)."""
    statement = scoped(select(StationRow.id), query.tenant_id)
    if query.search:
        text = query.search.strip()
        statement = statement.where(
            or_(
                col(StationRow.id).icontains(text, autoescape=True),
                col(StationRow.vendor).icontains(text, autoescape=True),
                col(StationRow.model).icontains(text, autoescape=True),
            )
        )
    if query.site_id is not None:
        statement = statement.where(col(StationRow.site_id) == query.site_id)
    if query.status:
        statement = statement.where(_has_status(query.status))
    return list((await session.execute(statement.order_by(col(StationRow.id)))).scalars())


def _has_status(status: str) -> ColumnElement[bool]:
    connector = col(ConnectorRow.station_id) == col(StationRow.id)
    if status == CHARGING:
        charging_tx = exists().where(
            col(TransactionRow.station_id) == col(StationRow.id),
            col(TransactionRow.evse_id) == col(ConnectorRow.evse_id),
            col(TransactionRow.state) == TxState.ACTIVE,
            col(TransactionRow.charging_state) == CHARGING,
        )
        return exists().where(
            connector,
            col(ConnectorRow.status) == ConnectorStatus.OCCUPIED,
            or_(col(ConnectorRow.charging_state) == CHARGING, charging_tx),
        )
    matches = exists().where(connector, col(ConnectorRow.status) == status)
    return or_(matches, col(StationRow.status) == status) if status == ConnectorStatus.FAULTED else matches


async def board_rows(
    session: AsyncSession, station_ids: Sequence[str], *, tenant_id: int | None, connected: Collection[str]
) -> list[StationView]:
    """The board's view of these stations, in the order given; ids outside the tenant drop out."""
    ids = list(dict.fromkeys(station_ids))
    if not ids:
        return []
    found = await session.execute(scoped(select(StationRow), tenant_id).where(col(StationRow.id).in_(ids)))
    stations = {row.id: row for row in found.scalars()}
    site_ids = {row.site_id for row in stations.values() if row.site_id is not None}
    site_names: dict[int, str] = dict(
        (await session.execute(select(SiteRow.id, SiteRow.name).where(col(SiteRow.id).in_(site_ids)))).all()
    )
    evses = await _evses(session, list(stations))
    return [
        StationView(
            row.id,
            row.vendor,
            row.model,
            row.ocpp_version,
            row.site_id,
            site_names.get(row.site_id) if row.site_id is not None else None,
            row.status,
            row.error_code,
            row.id in connected,
            row.last_seen_at,
            evses.get(row.id, ()),
        )
        for row in (stations[i] for i in ids if i in stations)
    ]


async def _evses(session: AsyncSession, station_ids: list[str]) -> dict[str, tuple[EvseView, ...]]:
    """Each station's EVSEs with their connectors, running session and latest power."""
    if not station_ids:
        return {}
    connectors: dict[tuple[str, int], list[ConnectorRow]] = {}
    rows = await session.execute(
        select(ConnectorRow)
        .where(col(ConnectorRow.station_id).in_(station_ids))
        .order_by(col(ConnectorRow.station_id), col(ConnectorRow.evse_id), col(ConnectorRow.connector_id))
    )
    for connector in rows.scalars():
        connectors.setdefault((connector.station_id, connector.evse_id), []).append(connector)
    limits = {
        (e.station_id, e.evse_id): e.max_power_w
        for e in (
            await session.execute(select(EvseRow).where(col(EvseRow.station_id).in_(station_ids)))
        ).scalars()
    }
    sessions = await _active_sessions(session, station_ids)
    power = await _latest_power(session, [tx.id for tx in sessions.values() if tx.id is not None])
    views: dict[str, list[EvseView]] = {}
    for key in sorted(set(connectors) | set(limits)):
        tx = sessions.get(key)
        views.setdefault(key[0], []).append(
            EvseView(
                key[1],
                limits.get(key),
                tuple(_connector_view(c, tx) for c in connectors.get(key, ())),
                None if tx is None or tx.id is None else power.get(tx.id),
                None if tx is None else _session_view(tx),
            )
        )
    return {station_id: tuple(evses) for station_id, evses in views.items()}


def _connector_view(row: ConnectorRow, tx: TransactionRow | None) -> ConnectorView:
    status = row.status
    if status == ConnectorStatus.OCCUPIED:
        # 2.0.1 reports the charging state with the transaction, 1.6 with the connector status.
        state = (tx.charging_state if tx is not None else None) or row.charging_state
        if state in _OCCUPIED_STATES:
            status = str(state)
    return ConnectorView(row.connector_id, status, row.error_code, row.type, row.max_power_w, row.status_at)


def _session_view(tx: TransactionRow) -> ActiveSession:
    assert tx.id is not None
    return ActiveSession(tx.id, tx.station_tx_id, tx.id_token, tx.energy_wh, tx.started_at)


async def _active_sessions(
    session: AsyncSession, station_ids: list[str]
) -> dict[tuple[str, int], TransactionRow]:
    query = select(TransactionRow).where(
        col(TransactionRow.station_id).in_(station_ids),
        col(TransactionRow.state) == TxState.ACTIVE,
        col(TransactionRow.evse_id).is_not(None),
    )
    found: dict[tuple[str, int], TransactionRow] = {}
    for tx in (await session.execute(query.order_by(col(TransactionRow.id)))).scalars():
        assert tx.evse_id is not None
        found[(tx.station_id, tx.evse_id)] = tx  # the newest, should a stale one linger
    return found


async def _latest_power(session: AsyncSession, transaction_ids: list[int]) -> dict[int, float]:
    """The last whole-EVSE power sample of each transaction, in W."""
    if not transaction_ids:
        return {}
    power = and_(col(MeterSampleRow.measurand) == _POWER, col(MeterSampleRow.phase).is_(None))
    latest = (
        select(MeterSampleRow.transaction_id, func.max(MeterSampleRow.timestamp).label("at"))
        .where(col(MeterSampleRow.transaction_id).in_(transaction_ids), power)
        .group_by(col(MeterSampleRow.transaction_id))
        .subquery()
    )
    query = (
        select(MeterSampleRow.transaction_id, MeterSampleRow.value)
        .join(
            latest,
            and_(
                col(MeterSampleRow.transaction_id) == latest.c.transaction_id,
                col(MeterSampleRow.timestamp) == latest.c.at,
            ),
        )
        .where(power)
    )
    return {int(tx_id): value for tx_id, value in (await session.execute(query)).all() if tx_id is not None}


async def sites(session: AsyncSession, *, tenant_id: int | None) -> list[SiteOption]:
    query = select(SiteRow.id, SiteRow.name).order_by(col(SiteRow.name))
    if tenant_id is not None:
        query = query.where(col(SiteRow.tenant_id) == tenant_id)
    return [SiteOption(site_id, name) for site_id, name in (await session.execute(query)).all() if site_id]


async def site_pins(
    session: AsyncSession, *, tenant_id: int | None, connected: Collection[str]
) -> list[SitePin]:
    """Every site of the tenant with its stations' worst condition, for the map and its list."""
    query = select(SiteRow).order_by(col(SiteRow.name))
    if tenant_id is not None:
        query = query.where(col(SiteRow.tenant_id) == tenant_id)
    site_rows = list((await session.execute(query)).scalars())
    ids = (
        await session.execute(
            select(StationRow.id, StationRow.site_id).where(
                col(StationRow.site_id).in_([s.id for s in site_rows])
            )
        )
    ).all()
    by_site: dict[int, list[str]] = {}
    for station_id, site_id in ids:
        if site_id is not None:
            by_site.setdefault(site_id, []).append(station_id)
    views = {
        v.id: v
        for v in await board_rows(
            session, [i for group in by_site.values() for i in group], tenant_id=None, connected=connected
        )
    }
    pins = []
    for site in site_rows:
        assert site.id is not None
        members = [views[i] for i in by_site.get(site.id, ()) if i in views]
        condition = worst(v.condition for v in members) if members else "Unknown"
        pins.append(
            SitePin(site.id, site.name, site.address, site.latitude, site.longitude, len(members), condition)
        )
    return pins


async def station_in_scope(
    session: AsyncSession, station_id: str, *, tenant_id: int | None
) -> StationRow | None:
    """The station, if the tenant may see it."""
    query = scoped(select(StationRow), tenant_id).where(col(StationRow.id) == station_id)
    row: StationRow | None = (
        (await session.execute(query.execution_options(populate_existing=True))).scalars().first()
    )
    return row


async def site_name(session: AsyncSession, site_id: int | None) -> str | None:
    if site_id is None:
        return None
    site = await session.get(SiteRow, site_id)
    return None if site is None else site.name


async def active_session(session: AsyncSession, station_id: str, transaction_id: int) -> ActiveSession | None:
    """The station's running session of this id, if it is still running."""
    tx = await session.get(TransactionRow, transaction_id)
    if tx is None or tx.station_id != station_id or tx.state != TxState.ACTIVE:
        return None
    return _session_view(tx)
