"""Local authorisation lists, built from the id token table (OCPP 1.6 §5.15, 2.0.1 D01-D04).

Each station keeps the version it last accepted and what it contained, so a differential
update carries only added, changed and removed tokens; a full update replaces everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from chargepoints.errors import StationNotFound
from chargepoints.model import TokenStatus
from chargepoints.operations import Operation
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.tables import IdTokenRow, LocalListRow

Snapshot = dict[str, dict[str, str | None]]


@dataclass(frozen=True, slots=True)
class LocalEntry:
    """``status`` None removes the token from the station's list (differential updates only)."""

    token: str
    type: str = "ISO14443"
    status: str | None = TokenStatus.ACCEPTED
    expires_at: str | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class SendLocalList(Operation):
    version: int
    full: bool
    entries: tuple[LocalEntry, ...]


@dataclass(frozen=True, slots=True)
class GetLocalListVersion(Operation):
    pass


def snapshot(tokens: list[IdTokenRow], now: datetime) -> Snapshot:
    """What each token should say on the station now; past expiry reads Expired."""
    out: Snapshot = {}
    for row in tokens:
        expired = row.expires_at is not None and row.expires_at <= now
        out[row.token] = {
            "type": row.type,
            "status": TokenStatus.EXPIRED if expired and row.status == TokenStatus.ACCEPTED else row.status,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "group_id": row.group_id,
        }
    return out


def changes(old: Snapshot, new: Snapshot, *, full: bool) -> tuple[LocalEntry, ...]:
    """Every entry for a full update; only the differences for a differential one."""
    if full:
        return tuple(_entry(token, data) for token, data in sorted(new.items()))
    changed = [_entry(t, d) for t, d in sorted(new.items()) if old.get(t) != d]
    removed = [LocalEntry(t, str(old[t]["type"]), None) for t in sorted(old.keys() - new.keys())]
    return tuple(changed + removed)


def _entry(token: str, data: dict[str, str | None]) -> LocalEntry:
    return LocalEntry(token, str(data["type"]), data["status"], data["expires_at"], data["group_id"])


async def prepare(
    station_id: str, *, differential: bool, uow: UnitOfWork, clock: Clock
) -> tuple[SendLocalList, Snapshot]:
    """The next update for the station and the list it will hold once accepted."""
    async with uow:
        if await uow.chargepoints.station(station_id) is None:
            raise StationNotFound(station_id)
        current = await uow.session.get(LocalListRow, station_id)
        tokens = list((await uow.session.execute(select(IdTokenRow))).scalars())
    new = snapshot(tokens, clock.now())
    full = not differential or current is None  # nothing to diff against: send it all
    old: Snapshot = {} if current is None else current.entries
    version = 1 if current is None else current.version + 1
    return SendLocalList(version, full, changes(old, new, full=full)), new


async def record_accepted(
    station_id: str, version: int, entries: Snapshot, *, uow: UnitOfWork, clock: Clock
) -> None:
    async with uow:
        row = await uow.session.get(LocalListRow, station_id)
        if row is None:
            row = LocalListRow(station_id=station_id, version=version, sent_at=clock.now())
            uow.chargepoints.add(row)
        row.version, row.entries, row.sent_at = version, entries, clock.now()
        await uow.commit()
