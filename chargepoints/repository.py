"""Persistence of the charging domain, and the unit of work its use cases commit through."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import exists, func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from chargepoints.events import Event
from chargepoints.model import MeterReport, TxState, VariableReport
from chargepoints.ports import EventPublisher
from chargepoints.tables import (
    ConnectorRow,
    EvseRow,
    IdTokenRow,
    MeterSampleRow,
    StationRow,
    StationVariableRow,
    TransactionEventRow,
    TransactionRow,
)
from tariffs.repository import TariffRepository


class ChargepointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    def add_all(self, rows: Iterable[object]) -> None:
        self.session.add_all(rows)

    async def flush(self) -> None:
        await self.session.flush()

    async def station(self, station_id: str) -> StationRow | None:
        return await self.session.get(StationRow, station_id)

    async def connector(self, station_id: str, evse_id: int, connector_id: int) -> ConnectorRow | None:
        query = select(ConnectorRow).where(
            ConnectorRow.station_id == station_id,
            ConnectorRow.evse_id == evse_id,
            ConnectorRow.connector_id == connector_id,
        )
        return (await self.session.execute(query)).scalars().first()

    async def evse(self, station_id: str, evse_id: int) -> EvseRow | None:
        query = select(EvseRow).where(col(EvseRow.station_id) == station_id, col(EvseRow.evse_id) == evse_id)
        return (await self.session.execute(query)).scalars().first()

    async def has_transactions(self, station_id: str) -> bool:
        condition = col(TransactionRow.station_id) == station_id
        return bool(await self.session.scalar(select(exists().where(condition))))

    async def ensure_evse(self, station_id: str, evse_id: int) -> None:
        query = select(EvseRow.id).where(EvseRow.station_id == station_id, EvseRow.evse_id == evse_id)
        if (await self.session.execute(query)).first() is None:
            self.session.add(EvseRow(station_id=station_id, evse_id=evse_id))

    async def token(self, value: str) -> IdTokenRow | None:
        query = select(IdTokenRow).where(IdTokenRow.token == value)
        return (await self.session.execute(query)).scalars().first()

    async def token_in_transaction(self, value: str, *, except_id: int | None = None) -> bool:
        condition = (col(TransactionRow.id_token) == value) & (col(TransactionRow.state) == TxState.ACTIVE)
        if except_id is not None:
            condition &= col(TransactionRow.id) != except_id
        return bool(await self.session.scalar(select(exists().where(condition))))

    async def transaction(self, station_id: str, transaction_id: int) -> TransactionRow | None:
        row = await self.session.get(TransactionRow, transaction_id)
        return row if row is not None and row.station_id == station_id else None

    async def transaction_by_station_tx(self, station_id: str, station_tx_id: str) -> TransactionRow | None:
        query = select(TransactionRow).where(
            TransactionRow.station_id == station_id, TransactionRow.station_tx_id == station_tx_id
        )
        return (await self.session.execute(query)).scalars().first()

    async def active_transaction(self, station_id: str, evse_id: int) -> TransactionRow | None:
        query = select(TransactionRow).where(
            col(TransactionRow.station_id) == station_id,
            col(TransactionRow.evse_id) == evse_id,
            col(TransactionRow.state) == TxState.ACTIVE,
        )
        return (await self.session.execute(query.order_by(col(TransactionRow.id).desc()))).scalars().first()

    async def transactions_for(
        self, reports: Iterable[MeterReport]
    ) -> dict[tuple[str, int | str | None], TransactionRow]:
        """The transactions a batch of meter reports names, keyed by (station, id) in one query
        per kind of id: 1.6 reports carry our id, others the station's own."""
        ids = {r.transaction_id for r in reports if r.transaction_id is not None}
        named = {(r.station_id, r.station_tx_id) for r in reports if r.station_tx_id is not None}
        found: dict[tuple[str, int | str | None], TransactionRow] = {}
        if ids:
            query = select(TransactionRow).where(col(TransactionRow.id).in_(ids))
            for tx in (await self.session.execute(query)).scalars():
                found[(tx.station_id, tx.id)] = tx
        for station_id, station_tx_id in named:
            named_tx = await self.transaction_by_station_tx(station_id, str(station_tx_id))
            if named_tx is not None:
                found[(station_id, station_tx_id)] = named_tx
        return found

    async def insert_samples(self, rows: list[dict[str, object]]) -> None:
        if rows:
            await self.session.execute(insert(MeterSampleRow), rows)

    async def transaction_event_seen(self, station_id: str, station_tx_id: str, seq_no: int) -> bool:
        condition = (
            (col(TransactionEventRow.station_id) == station_id)
            & (col(TransactionEventRow.station_tx_id) == station_tx_id)
            & (col(TransactionEventRow.seq_no) == seq_no)
        )
        return bool(await self.session.scalar(select(exists().where(condition))))

    async def upsert_variables(
        self, station_id: str, reports: Iterable[VariableReport], now: datetime
    ) -> int:
        """Insert or update each attribute; one SELECT for the whole report keeps big
        NotifyReport pages (hundreds of variables) cheap."""
        existing = {
            _variable_key(row): row
            for row in (
                await self.session.execute(
                    select(StationVariableRow).where(StationVariableRow.station_id == station_id)
                )
            ).scalars()
        }
        count = 0
        for report in reports:
            row = existing.get(_variable_key(report))
            if row is None:
                row = StationVariableRow.model_validate(
                    {"station_id": station_id, "updated_at": now, **_fields(report)}
                )
                existing[_variable_key(report)] = row
                self.session.add(row)
            else:
                for name, value in _fields(report).items():
                    setattr(row, name, value)
                row.updated_at = now
            count += 1
        return count

    async def touch_stations(self, station_ids: set[str], now: datetime) -> None:
        await self.session.execute(
            update(StationRow).where(col(StationRow.id).in_(station_ids)).values(last_seen_at=now)
        )

    async def count_stations(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(StationRow)) or 0)


def _variable_key(item: VariableReport | StationVariableRow) -> tuple[object, ...]:
    return (
        item.component,
        item.component_instance,
        item.evse_id,
        item.connector_id,
        item.variable,
        item.variable_instance,
        item.attribute_type,
    )


def _fields(report: VariableReport) -> dict[str, object]:
    return {
        "component": report.component,
        "component_instance": report.component_instance,
        "evse_id": report.evse_id,
        "connector_id": report.connector_id,
        "variable": report.variable,
        "variable_instance": report.variable_instance,
        "attribute_type": report.attribute_type,
        "value": report.value,
        "mutability": report.mutability,
        "data_type": report.data_type,
        "unit": report.unit,
    }


class UnitOfWork:
    """One database transaction; events collected inside are published only after commit."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.events: list[Event] = []

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.chargepoints = ChargepointRepository(self.session)
        self.tariffs = TariffRepository(self.session)
        self.events = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Detach first: rows a use case returns must stay readable after the session is gone,
        # and a rollback would expire them. Anything not committed is discarded either way.
        self.session.expunge_all()
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self, publisher: EventPublisher | None = None) -> None:
        """Commit, then hand the collected events to ``publisher``: never before the commit."""
        await self.session.commit()
        if publisher is not None:
            for event in self.events:
                await publisher.publish(event)
        self.events = []

    def collect(self, event: Event) -> None:
        self.events.append(event)
