"""Provisioning use cases: stations, sites and id tokens as an operator sets them up.

Each is an upsert, so provisioning scripts can be run again without failing or duplicating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from chargepoints.errors import InvalidStationId
from chargepoints.model import RegistrationStatus, TokenStatus
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.rules.identity import is_valid_station_id
from chargepoints.tables import IdTokenRow, SiteRow, StationRow


@dataclass(frozen=True, slots=True)
class StationSpec:
    station_id: str
    password_hash: str | None = None
    registration_status: RegistrationStatus = RegistrationStatus.ACCEPTED
    site_id: int | None = None


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
        row.registration_status = spec.registration_status
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
