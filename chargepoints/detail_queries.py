"""Read models for the portal's station pages beyond the board: the stored device model, a 1.6
station's last configuration, the OCPP message log and the firmware images to offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints.files import FIRMWARE
from chargepoints.model import CommandStatus
from chargepoints.tables import CommandRow, MessageLogRow, StationVariableRow, StoredFileRow


async def variables(
    session: AsyncSession, station_id: str, *, search: str, limit: int, offset: int
) -> tuple[list[StationVariableRow], int]:
    """The stored device model (2.0.1 NotifyReport) of the station, one page."""
    query = select(StationVariableRow).where(col(StationVariableRow.station_id) == station_id)
    if search:
        query = query.where(
            or_(
                col(StationVariableRow.component).icontains(search, autoescape=True),
                col(StationVariableRow.variable).icontains(search, autoescape=True),
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(
        col(StationVariableRow.component),
        col(StationVariableRow.component_instance),
        col(StationVariableRow.evse_id),
        col(StationVariableRow.connector_id),
        col(StationVariableRow.variable),
        col(StationVariableRow.variable_instance),
        col(StationVariableRow.attribute_type),
    )
    rows = await session.execute(ordered.limit(limit).offset(offset))
    return list(rows.scalars()), int(total or 0)


@dataclass(frozen=True, slots=True)
class ConfigurationKey:
    key: str
    value: str | None
    readonly: bool


@dataclass(frozen=True, slots=True)
class Configuration:
    """A 1.6 station's configuration as its last answer to GetConfiguration listed it (1.6
    stations have no device model to report, so the command log is where it lives)."""

    read_at: datetime
    keys: tuple[ConfigurationKey, ...]
    unknown: tuple[str, ...]


async def latest_configuration(session: AsyncSession, station_id: str) -> Configuration | None:
    query = (
        select(CommandRow)
        .where(
            col(CommandRow.station_id) == station_id,
            col(CommandRow.action) == "GetConfiguration",
            col(CommandRow.status) == CommandStatus.ACCEPTED,
        )
        .order_by(col(CommandRow.id).desc())
        .limit(1)
    )
    row = (await session.execute(query)).scalars().first()
    if row is None or row.response is None or row.completed_at is None:
        return None
    keys = tuple(
        ConfigurationKey(str(k.get("key")), k.get("value"), bool(k.get("readonly")))
        for k in row.response.get("configurationKey") or ()
        if isinstance(k, dict)
    )
    unknown = tuple(str(k) for k in row.response.get("unknownKey") or ())
    return Configuration(row.completed_at, tuple(sorted(keys, key=lambda k: k.key)), unknown)


@dataclass(frozen=True, slots=True)
class MessageQuery:
    direction: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""


async def messages(
    session: AsyncSession, station_id: str, query: MessageQuery, *, limit: int, offset: int
) -> tuple[list[MessageLogRow], bool]:
    """One page of the station's OCPP frames, newest first, and whether older ones follow (no
    count: the message log is the largest table after the samples)."""
    statement = select(MessageLogRow).where(col(MessageLogRow.station_id) == station_id)
    if query.direction:
        statement = statement.where(col(MessageLogRow.direction) == query.direction)
    if query.action:
        statement = statement.where(col(MessageLogRow.action) == query.action)
    if query.since is not None:
        statement = statement.where(col(MessageLogRow.at) >= query.since)
    if query.until is not None:
        statement = statement.where(col(MessageLogRow.at) < query.until)
    if query.text:
        statement = statement.where(col(MessageLogRow.frame).contains(query.text, autoescape=True))
    ordered = statement.order_by(col(MessageLogRow.at).desc(), col(MessageLogRow.id).desc())
    rows = list((await session.execute(ordered.limit(limit + 1).offset(offset))).scalars())
    return rows[:limit], len(rows) > limit


async def firmware_files(session: AsyncSession, *, limit: int = 100) -> list[StoredFileRow]:
    """Firmware images in the store, newest first, to offer in an update."""
    query = select(StoredFileRow).where(col(StoredFileRow.kind) == FIRMWARE)
    return list((await session.execute(query.order_by(col(StoredFileRow.id).desc()).limit(limit))).scalars())
