"""Read models for the operator API and the portal: stations, transactions, meter samples."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from chargepoints.model import CommandStatus
from chargepoints.tables import (
    BulkJobItemRow,
    BulkJobRow,
    CommandRow,
    ConnectorRow,
    EvseRow,
    IdTokenRow,
    MeterSampleRow,
    SiteRow,
    StationRow,
    TransactionRow,
)


class ConnectorPublic(SQLModel):
    connector_id: int
    type: str | None
    max_power_w: int | None
    status: str
    charging_state: str | None
    error_code: str | None
    status_at: datetime


class EvsePublic(SQLModel):
    evse_id: int
    max_power_w: int | None = None
    connectors: list[ConnectorPublic]


class StationSummary(SQLModel):
    id: str
    registration_status: str
    vendor: str | None
    model: str | None
    firmware_version: str | None
    ocpp_version: str | None
    status: str | None
    connected: bool = False
    last_boot_at: datetime | None
    last_seen_at: datetime | None


class StationDetail(StationSummary):
    lenient: bool
    serial_number: str | None
    error_code: str | None
    firmware_status: str | None
    diagnostics_status: str | None
    password_set: bool
    evses: list[EvsePublic]


class SamplePublic(SQLModel):
    timestamp: datetime
    measurand: str
    value: float
    unit: str | None
    phase: str | None
    location: str | None
    context: str | None


class TransactionPublic(SQLModel):
    id: int
    station_id: str
    station_tx_id: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    state: str
    charging_state: str | None
    started_at: datetime | None
    ended_at: datetime | None
    meter_start_wh: int | None
    meter_stop_wh: int | None
    energy_wh: int | None
    stop_reason: str | None
    offline: bool
    review_reason: str | None


class TransactionDetail(TransactionPublic):
    samples: list[SamplePublic]


async def list_stations(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[StationRow], int]:
    total = await session.scalar(select(func.count()).select_from(StationRow))
    rows = await session.execute(select(StationRow).order_by(StationRow.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total or 0)


async def station_detail(session: AsyncSession, station_id: str, *, connected: bool) -> StationDetail | None:
    station = await session.get(StationRow, station_id)
    if station is None:
        return None
    connectors = await session.execute(
        select(ConnectorRow)
        .where(ConnectorRow.station_id == station_id)
        .order_by(col(ConnectorRow.evse_id), col(ConnectorRow.connector_id))
    )
    evses: dict[int, list[ConnectorPublic]] = {}
    for row in connectors.scalars():
        evses.setdefault(row.evse_id, []).append(ConnectorPublic.model_validate(row, from_attributes=True))
    power = {
        e.evse_id: e.max_power_w
        for e in (
            await session.execute(select(EvseRow).where(col(EvseRow.station_id) == station_id))
        ).scalars()
    }
    return StationDetail.model_validate(
        {
            **station.model_dump(),
            "connected": connected,
            "password_set": station.password_hash is not None,
            "evses": [
                EvsePublic(evse_id=k, max_power_w=power.get(k), connectors=v)
                for k, v in sorted(evses.items())
            ],
        }
    )


async def list_transactions(
    session: AsyncSession, *, station_id: str | None, state: str | None, limit: int, offset: int
) -> tuple[list[TransactionPublic], int]:
    query = select(TransactionRow)
    if station_id is not None:
        query = query.where(TransactionRow.station_id == station_id)
    if state is not None:
        query = query.where(TransactionRow.state == state)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(col(TransactionRow.id).desc()).limit(limit).offset(offset))
    return [transaction_public(row) for row in rows.scalars()], int(total or 0)


def transaction_public(row: TransactionRow) -> TransactionPublic:
    return TransactionPublic.model_validate({**row.model_dump(), "energy_wh": row.energy_wh})


async def transaction_detail(session: AsyncSession, transaction_id: int) -> TransactionDetail | None:
    row = await session.get(TransactionRow, transaction_id)
    if row is None:
        return None
    samples = await session.execute(
        select(MeterSampleRow)
        .where(MeterSampleRow.transaction_id == transaction_id)
        .order_by(col(MeterSampleRow.timestamp), col(MeterSampleRow.id))
    )
    return TransactionDetail.model_validate(
        {
            **transaction_public(row).model_dump(),
            "samples": [SamplePublic.model_validate(s, from_attributes=True) for s in samples.scalars()],
        }
    )


class CommandPublic(SQLModel):
    id: int
    station_id: str
    action: str
    payload: dict[str, Any]
    requester: str
    status: str
    response: dict[str, Any] | None
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None


async def list_commands(
    session: AsyncSession, *, station_id: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[CommandPublic], int]:
    query = select(CommandRow)
    if station_id is not None:
        query = query.where(col(CommandRow.station_id) == station_id)
    if status is not None:
        query = query.where(col(CommandRow.status) == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(col(CommandRow.id).desc()).limit(limit).offset(offset))
    return [CommandPublic.model_validate(r, from_attributes=True) for r in rows.scalars()], int(total or 0)


async def command(session: AsyncSession, command_id: int) -> CommandPublic | None:
    row = await session.get(CommandRow, command_id, populate_existing=True)
    return None if row is None else CommandPublic.model_validate(row, from_attributes=True)


async def list_tokens(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> tuple[list[IdTokenRow], int]:
    query = select(IdTokenRow)
    if status is not None:
        query = query.where(col(IdTokenRow.status) == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(col(IdTokenRow.token)).limit(limit).offset(offset))
    return list(rows.scalars()), int(total or 0)


async def token(session: AsyncSession, value: str) -> IdTokenRow | None:
    query = select(IdTokenRow).where(col(IdTokenRow.token) == value).execution_options(populate_existing=True)
    return (await session.execute(query)).scalars().first()


async def station_version(session: AsyncSession, station_id: str) -> str | None:
    """The OCPP version the station booted with; "" if it never booted, None if unknown."""
    station = await session.get(StationRow, station_id)
    if station is None:
        return None
    return station.ocpp_version or ""


async def transaction(session: AsyncSession, transaction_id: int) -> TransactionPublic | None:
    row = await session.get(TransactionRow, transaction_id)
    return None if row is None else transaction_public(row)


async def station_versions(session: AsyncSession, station_ids: Iterable[str]) -> dict[str, str]:
    """The OCPP version of each of these stations that exists ("" if it never booted)."""
    ids = list(station_ids)
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):  # far below every database's bound-parameter limit
        chunk = select(StationRow.id, StationRow.ocpp_version).where(
            col(StationRow.id).in_(ids[start : start + 500])
        )
        found.update(
            {station_id: version or "" for station_id, version in (await session.execute(chunk)).all()}
        )
    return found


async def site_station_ids(session: AsyncSession, site_id: int) -> list[str] | None:
    """The ids of the site's stations; None if there is no such site."""
    if await session.get(SiteRow, site_id) is None:
        return None
    rows = await session.execute(select(StationRow.id).where(col(StationRow.site_id) == site_id))
    return sorted(rows.scalars())


SKIPPED = "skipped"
"""The status of a bulk job's station that got no command, say because it never booted."""


class BulkItemPublic(SQLModel):
    station_id: str
    command_id: int | None
    status: str
    error: str | None


class BulkJobPublic(SQLModel):
    id: int
    kind: str
    requester: str
    created_at: datetime
    total: int
    counts: dict[str, int]
    done: bool
    items: list[BulkItemPublic]
    limit: int
    offset: int


async def bulk_job(session: AsyncSession, job_id: int, *, limit: int, offset: int) -> BulkJobPublic | None:
    """The job with its counts per status over all stations, and one page of its stations."""
    job = await session.get(BulkJobRow, job_id)
    if job is None:
        return None
    joined = (
        select(BulkJobItemRow, CommandRow.status, CommandRow.error)
        .outerjoin(CommandRow, col(BulkJobItemRow.command_id) == col(CommandRow.id))
        .where(col(BulkJobItemRow.job_id) == job_id)
    )
    per_status = (
        select(CommandRow.status, func.count())
        .select_from(BulkJobItemRow)
        .outerjoin(CommandRow, col(BulkJobItemRow.command_id) == col(CommandRow.id))
        .where(col(BulkJobItemRow.job_id) == job_id)
        .group_by(CommandRow.status)
    )
    counts = {status or SKIPPED: n for status, n in (await session.execute(per_status)).all()}
    page = await session.execute(joined.order_by(col(BulkJobItemRow.station_id)).limit(limit).offset(offset))
    items = [
        BulkItemPublic(
            station_id=item.station_id,
            command_id=item.command_id,
            status=status or SKIPPED,
            error=item.error or error,
        )
        for item, status, error in page.all()
    ]
    pending = counts.get(CommandStatus.QUEUED, 0) + counts.get(CommandStatus.SENT, 0)
    return BulkJobPublic.model_validate(
        {
            **job.model_dump(),
            "total": sum(counts.values()),
            "counts": counts,
            "done": pending == 0,
            "items": items,
            "limit": limit,
            "offset": offset,
        }
    )
