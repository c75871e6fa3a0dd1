"""Charging profiles the CSMS sends (set, clear) and the composite schedules it asks for.

Profiles are kept in 2.0.1's words (ChargingStationMaxProfile, one schedule); the gateway
translates them for 1.6 stations. Smart charging (issue 8) builds on these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import col, select

from chargepoints.errors import ChargingError, StationNotFound
from chargepoints.operations import Operation
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.rules.charging_profiles import Period as Period  # re-exported: callers import it from here
from chargepoints.rules.charging_profiles import Profile as Profile  # re-exported too
from chargepoints.tables import ChargingProfileRow


class ProfileStatus(StrEnum):
    REQUESTED = "Requested"
    INSTALLED = "Installed"
    REJECTED = "Rejected"
    CLEARED = "Cleared"


class ProfileNotFound(ChargingError):
    pass


@dataclass(frozen=True, slots=True)
class SetChargingProfile(Operation):
    evse_id: int
    profile: Profile


@dataclass(frozen=True, slots=True)
class ClearChargingProfile(Operation):
    profile_id: int | None = None
    evse_id: int | None = None
    purpose: str | None = None
    stack_level: int | None = None


@dataclass(frozen=True, slots=True)
class GetCompositeSchedule(Operation):
    evse_id: int
    duration_s: int
    unit: str | None = None


async def record(
    station_id: str,
    evse_id: int,
    purpose: str,
    stack_level: int,
    definition: dict[str, Any],
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> ChargingProfileRow:
    async with uow:
        if await uow.chargepoints.station(station_id) is None:
            raise StationNotFound(station_id)
        row = ChargingProfileRow(
            station_id=station_id,
            evse_id=evse_id,
            purpose=purpose,
            stack_level=stack_level,
            definition=definition,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        uow.chargepoints.add(row)
        await uow.chargepoints.flush()
        await uow.commit()
    return row


async def set_status(profile_ids: list[int], status: ProfileStatus, *, uow: UnitOfWork, clock: Clock) -> None:
    async with uow:
        query = select(ChargingProfileRow).where(col(ChargingProfileRow.id).in_(profile_ids))
        for row in (await uow.session.execute(query)).scalars():
            row.status, row.updated_at = status, clock.now()
        await uow.commit()


async def matching(station_id: str, op: ClearChargingProfile, *, uow: UnitOfWork) -> list[int]:
    """The installed profiles a ClearChargingProfile with these criteria removes."""
    async with uow:
        query = select(ChargingProfileRow.id).where(
            col(ChargingProfileRow.station_id) == station_id,
            col(ChargingProfileRow.status) == ProfileStatus.INSTALLED,
        )
        if op.profile_id is not None:
            query = query.where(col(ChargingProfileRow.id) == op.profile_id)
        if op.evse_id is not None:
            query = query.where(col(ChargingProfileRow.evse_id) == op.evse_id)
        if op.purpose is not None:
            query = query.where(col(ChargingProfileRow.purpose) == op.purpose)
        if op.stack_level is not None:
            query = query.where(col(ChargingProfileRow.stack_level) == op.stack_level)
        return [int(i) for i in (await uow.session.execute(query)).scalars() if i is not None]
