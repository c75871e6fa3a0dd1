"""Provisioning use cases: stations, sites, EVSEs and id tokens as an operator sets them up.

The ``put_*`` functions are upserts, so provisioning scripts can run again without failing or
duplicating; the API's create/update/delete functions say precisely what went wrong instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from chargepoints.errors import (
    InvalidStationId,
    StationExists,
    StationHasHistory,
    StationNotFound,
    TokenExists,
    TokenNotFound,
)
from chargepoints.model import RegistrationStatus, TokenStatus
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.rules.identity import is_valid_station_id
from chargepoints.tables import ConnectorRow, EvseRow, IdTokenRow, SiteRow, StationRow


@dataclass(frozen=True, slots=True)
class StationSpec:
    station_id: str
    password_hash: str | None = None
    registration_status: RegistrationStatus = RegistrationStatus.ACCEPTED
    site_id: int | None = None
    lenient: bool = False


@dataclass(frozen=True, slots=True)
class TokenSpec:
    token: str
    status: TokenStatus = TokenStatus.ACCEPTED
    expires_at: datetime | None = None
    group_id: str | None = None
    type: str = "ISO14443"
    master_pass: bool = False


async def put_station(spec: StationSpec, *, uow: UnitOfWork, clock: Clock) -> bool:
    """Create or update a station; True when it was created. A None password keeps the old one."""
    if not is_valid_station_id(spec.station_id):
        raise InvalidStationId(f"{spec.station_id!r}: use 1-48 of A-Z a-z 0-9 * - _ = + | @ .")
    async with uow:
        row = await uow.chargepoints.station(spec.station_id)
        created = row is None
        if row is None:
            row = StationRow(id=spec.station_id, created_at=clock.now())
            uow.chargepoints.add(row)
        if spec.password_hash is not None:
            row.password_hash = spec.password_hash
        row.registration_status, row.lenient = spec.registration_status, spec.lenient
        row.site_id = spec.site_id if spec.site_id is not None else row.site_id
        await uow.commit()
    return created


async def put_token(spec: TokenSpec, *, uow: UnitOfWork, clock: Clock) -> bool:
    """Create or update an id token; True when it was created."""
    async with uow:
        row = await uow.chargepoints.token(spec.token)
        created = row is None
        if row is None:
            row = IdTokenRow(token=spec.token, created_at=clock.now())
            uow.chargepoints.add(row)
        row.status, row.expires_at, row.group_id = spec.status, spec.expires_at, spec.group_id
        row.type, row.master_pass = spec.type, spec.master_pass
        await uow.commit()
    return created


async def put_site(name: str, *, uow: UnitOfWork, clock: Clock, **fields: object) -> int:
    """Create or update a site by name and return its id."""
    async with uow:
        row = (await uow.session.execute(select(SiteRow).where(SiteRow.name == name))).scalars().first()
        if row is None:
            row = SiteRow(name=name, created_at=clock.now())
            uow.chargepoints.add(row)
        for key, value in fields.items():
            setattr(row, key, value)
        await uow.chargepoints.flush()
        assert row.id is not None
        site_id = row.id
        await uow.commit()
    return site_id


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    connector_id: int
    type: str | None = None
    max_power_w: int | None = None


@dataclass(frozen=True, slots=True)
class EvseSpec:
    evse_id: int
    max_power_w: int | None = None
    connectors: tuple[ConnectorSpec, ...] = (ConnectorSpec(1),)


async def create_station(spec: StationSpec, evses: list[EvseSpec], *, uow: UnitOfWork, clock: Clock) -> None:
    if not is_valid_station_id(spec.station_id):
        raise InvalidStationId(f"{spec.station_id!r}: use 1-48 of A-Z a-z 0-9 * - _ = + | @ .")
    async with uow:
        if await uow.chargepoints.station(spec.station_id) is not None:
            raise StationExists(spec.station_id)
        uow.chargepoints.add(
            StationRow(
                id=spec.station_id,
                password_hash=spec.password_hash,
                site_id=spec.site_id,
                registration_status=spec.registration_status,
                lenient=spec.lenient,
                created_at=clock.now(),
            )
        )
        await uow.chargepoints.flush()
        await _define_evses(uow, spec.station_id, evses, clock)
        await uow.commit()


async def update_station(
    station_id: str,
    changes: dict[str, object],
    evses: list[EvseSpec] | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> None:
    """Apply only the given fields (``password_hash``, ``registration_status``, ``site_id``);
    the registration status is what the station's next BootNotification gets."""
    async with uow:
        row = await uow.chargepoints.station(station_id)
        if row is None:
            raise StationNotFound(station_id)
        for name, value in changes.items():
            setattr(row, name, value)
        if evses is not None:
            await _define_evses(uow, station_id, evses, clock)
        await uow.commit()


async def delete_station(station_id: str, *, uow: UnitOfWork) -> None:
    """Delete a station that never charged; one with transactions keeps its history."""
    async with uow:
        row = await uow.chargepoints.station(station_id)
        if row is None:
            raise StationNotFound(station_id)
        if await uow.chargepoints.has_transactions(station_id):
            raise StationHasHistory(station_id)
        await uow.session.delete(row)
        await uow.commit()


async def _define_evses(uow: UnitOfWork, station_id: str, evses: list[EvseSpec], clock: Clock) -> None:
    repo = uow.chargepoints
    for evse in evses:
        row = await repo.evse(station_id, evse.evse_id)
        if row is None:
            row = EvseRow(station_id=station_id, evse_id=evse.evse_id)
            repo.add(row)
        row.max_power_w = evse.max_power_w
        for spec in evse.connectors:
            connector = await repo.connector(station_id, evse.evse_id, spec.connector_id)
            if connector is None:
                # Unknown until the station reports it; Unavailable is the honest default.
                connector = ConnectorRow(
                    station_id=station_id,
                    evse_id=evse.evse_id,
                    connector_id=spec.connector_id,
                    status="Unavailable",
                    status_at=clock.now(),
                )
                repo.add(connector)
            connector.type, connector.max_power_w = spec.type, spec.max_power_w


async def create_token(spec: TokenSpec, *, uow: UnitOfWork, clock: Clock) -> None:
    async with uow:
        if await uow.chargepoints.token(spec.token) is not None:
            raise TokenExists(spec.token)
    await put_token(spec, uow=uow, clock=clock)


async def update_token(token: str, changes: dict[str, object], *, uow: UnitOfWork) -> None:
    async with uow:
        row = await uow.chargepoints.token(token)
        if row is None:
            raise TokenNotFound(token)
        for name, value in changes.items():
            setattr(row, name, value)
        await uow.commit()


async def delete_token(token: str, *, uow: UnitOfWork) -> None:
    """Transactions keep the token's value, so history survives the deletion."""
    async with uow:
        row = await uow.chargepoints.token(token)
        if row is None:
            raise TokenNotFound(token)
        await uow.session.delete(row)
        await uow.commit()
