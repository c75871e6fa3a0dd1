"""Tariff use cases: tenants, tariffs and their versions, where they apply, and the lookups that
price a session.

Versions are immutable and only ever added after the latest one, so a session that pinned a
version id keeps its price and history is never rewritten. Every operator change is audited in
the transaction that makes it; the actor is whoever the edge says asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from csms.accounts.tables import TenantRow
from tariffs import pricing, validation
from tariffs.codec import definition_to_json, tariff_from_json
from tariffs.errors import NoTariff, TariffConflict, TariffNotFound
from tariffs.model import Interval, Price, Reading, SessionUsage, Tariff
from tariffs.ports import Clock, TariffUnitOfWork
from tariffs.repository import Candidate
from tariffs.tables import TariffAssignmentRow, TariffRow, TariffVersionRow

HISTORY_SLACK = timedelta(minutes=1)
"""How far in the past a new version may start: a request's own latency, not a rewrite."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a tariff applies: a site, a station, or one EVSE of a station."""

    site_id: int | None = None
    station_id: str | None = None
    evse_id: int | None = None

    def __post_init__(self) -> None:
        if (self.site_id is None) == (self.station_id is None) or (
            self.evse_id is not None and self.station_id is None
        ):
            raise ValueError("a target is a site, a station, or a station and one of its EVSEs")

    @property
    def key(self) -> str:
        if self.site_id is not None:
            return f"site:{self.site_id}"
        if self.evse_id is None:
            return f"station:{self.station_id}"
        return f"evse:{self.station_id}/{self.evse_id}"


@dataclass(frozen=True, slots=True)
class PinnedTariff:
    """The version a session is priced under, and the zone its bands are read in."""

    version_id: int
    tariff_id: int
    tariff: Tariff
    time_zone: str


@dataclass(frozen=True, slots=True)
class TariffView:
    tariff: TariffRow
    versions: list[TariffVersionRow]
    assignments: list[TariffAssignmentRow]


@dataclass(frozen=True, slots=True)
class Preview:
    version: TariffVersionRow
    time_zone: str
    price: Price


async def create_tenant(
    name: str, currency: str, actor: str, *, uow: TariffUnitOfWork, clock: Clock
) -> TenantRow:
    async with uow:
        if await uow.tariffs.tenant_named(name) is not None:
            raise TariffConflict(f"A tenant named {name!r} exists")
        row = TenantRow(name=name, currency=currency, created_at=clock.now())
        uow.tariffs.add(row)
        await uow.tariffs.flush()
        uow.tariffs.audit(
            row.created_at, actor, "tenant.create", f"tenant:{row.id}", name=name, currency=currency
        )
        await uow.commit()
    return row


async def list_tenants(*, uow: TariffUnitOfWork, limit: int, offset: int) -> tuple[list[TenantRow], int]:
    async with uow:
        return await uow.tariffs.tenants(limit=limit, offset=offset)


async def create_tariff(
    tenant_id: int,
    name: str,
    definition: dict[str, Any],
    valid_from: datetime | None,
    actor: str,
    *,
    uow: TariffUnitOfWork,
    clock: Clock,
) -> TariffView:
    """A tariff in the tenant's currency with its version 1 (from now unless told otherwise)."""
    async with uow:
        tenant = await uow.tariffs.tenant(tenant_id)
        if tenant is None:
            raise TariffNotFound(f"Tenant {tenant_id} not found")
        if await uow.tariffs.tariff_named(tenant_id, name) is not None:
            raise TariffConflict(f"Tenant {tenant_id} already has a tariff named {name!r}")
        now = clock.now()
        row = TariffRow(tenant_id=tenant_id, name=name, currency=tenant.currency, created_at=now)
        uow.tariffs.add(row)
        await uow.tariffs.flush()
        uow.tariffs.audit(now, actor, "tariff.create", f"tariff:{row.id}", tenant_id=tenant_id, name=name)
        version = await _add_version(uow, row, 1, definition, valid_from or now, actor, now)
        await uow.commit()
    return TariffView(row, [version], [])


async def add_version(
    tariff_id: int,
    definition: dict[str, Any],
    valid_from: datetime | None,
    actor: str,
    *,
    uow: TariffUnitOfWork,
    clock: Clock,
) -> TariffVersionRow:
    """The tariff's next version, in force from `valid_from` (default now): never before the
    latest version's start nor in the past, so no started session changes price."""
    now = clock.now()
    valid_from = valid_from or now
    if valid_from < now - HISTORY_SLACK:
        raise TariffConflict(
            f"valid_from {valid_from.isoformat()} is in the past: history is never rewritten"
        )
    async with uow:
        row = await _live_tariff(uow, tariff_id)
        latest = await uow.tariffs.latest_version(tariff_id)
        if latest is not None and valid_from < latest.valid_from:
            raise TariffConflict(
                f"valid_from {valid_from.isoformat()} is before version {latest.version}'s "
                f"{latest.valid_from.isoformat()}: history is never rewritten"
            )
        number = 1 if latest is None else latest.version + 1
        version = await _add_version(uow, row, number, definition, valid_from, actor, now)
        await uow.commit()
    return version


async def archive(tariff_id: int, actor: str, *, uow: TariffUnitOfWork, clock: Clock) -> TariffRow:
    """Retire a tariff: lookups skip it from now on; sessions that pinned it keep their price."""
    async with uow:
        row = await _tariff(uow, tariff_id)
        if not row.archived:
            row.archived = True
            uow.tariffs.audit(clock.now(), actor, "tariff.archive", f"tariff:{tariff_id}")
            await uow.commit()
    return row


async def assign(
    tariff_id: int, target: Target, actor: str, *, uow: TariffUnitOfWork, clock: Clock
) -> TariffAssignmentRow:
    """Make the tariff the target's, replacing whichever tariff the target had."""
    async with uow:
        await _live_tariff(uow, tariff_id)
        await _check_target(uow, target)
        row = await uow.tariffs.assignment(target.key)
        replaced = None if row is None else row.tariff_id
        if row is None:
            row = TariffAssignmentRow(
                tariff_id=tariff_id,
                target=target.key,
                site_id=target.site_id,
                station_id=target.station_id,
                evse_id=target.evse_id,
            )
            uow.tariffs.add(row)
        row.tariff_id = tariff_id
        subject = f"tariff:{tariff_id}"
        uow.tariffs.audit(clock.now(), actor, "tariff.assign", subject, target=target.key, replaced=replaced)
        await uow.commit()
    return row


async def unassign(
    tariff_id: int, target: Target, actor: str, *, uow: TariffUnitOfWork, clock: Clock
) -> None:
    async with uow:
        row = await uow.tariffs.assignment(target.key)
        if row is None or row.tariff_id != tariff_id:
            raise TariffNotFound(f"Tariff {tariff_id} is not assigned to {target.key}")
        await uow.tariffs.delete(row)
        uow.tariffs.audit(clock.now(), actor, "tariff.unassign", f"tariff:{tariff_id}", target=target.key)
        await uow.commit()


async def list_tariffs(
    *, uow: TariffUnitOfWork, tenant_id: int | None, limit: int, offset: int
) -> tuple[list[TariffRow], int]:
    async with uow:
        return await uow.tariffs.tariffs(tenant_id=tenant_id, limit=limit, offset=offset)


async def get_tariff(tariff_id: int, *, uow: TariffUnitOfWork) -> TariffView:
    async with uow:
        row = await _tariff(uow, tariff_id)
        return TariffView(
            row, await uow.tariffs.versions(tariff_id), await uow.tariffs.assignments(tariff_id)
        )


async def preview(
    tariff_id: int,
    usage: SessionUsage,
    *,
    uow: TariffUnitOfWork,
    version: int | None = None,
    time_zone: str = "UTC",
    site_id: int | None = None,
) -> Preview:
    """What a session would cost under version number `version` (default: the one in force at
    its start), with bands read in `time_zone` or the site's."""
    async with uow:
        row = await _tariff(uow, tariff_id)
        if site_id is not None:
            zone = await uow.tariffs.site_zone(site_id)
            if zone is None:
                raise TariffNotFound(f"Site {site_id} not found")
            time_zone = zone
        if version is None:
            found = await uow.tariffs.version_in_force(tariff_id, usage.started_at)
            if found is None:
                raise NoTariff(
                    f"No version of tariff {tariff_id} is in force at {usage.started_at.isoformat()}"
                )
        else:
            found = await uow.tariffs.version_numbered(tariff_id, version)
            if found is None:
                raise TariffNotFound(f"Tariff {tariff_id} has no version {version}")
    tariff = tariff_from_json(row.currency, found.definition)
    return Preview(found, time_zone, pricing.price(tariff, usage, ZoneInfo(time_zone)))


def even_usage(
    started_at: datetime, ended_at: datetime, energy_wh: int, idle_minutes: int = 0
) -> SessionUsage:
    """A session that charged `energy_wh` at a steady rate, then stayed plugged in idle."""
    unplugged_at = ended_at + timedelta(minutes=idle_minutes)
    readings = (Reading(started_at, 0), Reading(ended_at, energy_wh))
    return SessionUsage(
        started_at=started_at,
        ended_at=unplugged_at,
        readings=readings,
        charging=(Interval(started_at, ended_at),),
        unplugged_at=unplugged_at,
    )


async def tariff_for(
    uow: TariffUnitOfWork, station_id: str, evse_id: int | None, at: datetime
) -> PinnedTariff | None:
    """The tariff a session starting at `at` pays: the EVSE's, else the station's, else its site's,
    skipping archived tariffs and those with no version in force yet. Runs inside the caller's
    unit of work (entered, not committed here): it is on the session start's path."""
    station = await uow.tariffs.station_site(station_id)
    if station is None:
        return None
    site_id, time_zone = station
    for candidate in sorted(await uow.tariffs.candidates(station_id, evse_id, site_id, at), key=_specificity):
        if candidate.version_id is not None:
            return await _pin(uow, candidate.version_id, time_zone)
    return None


async def pinned(uow: TariffUnitOfWork, version_id: int, station_id: str) -> PinnedTariff:
    """A pinned version again, with the station's zone; decoded versions are cached (immutable)."""
    return await _pin(uow, version_id, await zone_for(uow, station_id))


async def zone_for(uow: TariffUnitOfWork, station_id: str) -> str:
    """The IANA zone the station's bands are read in: its site's, or "UTC" without one."""
    station = await uow.tariffs.station_site(station_id)
    return "UTC" if station is None else station[1]


async def _pin(uow: TariffUnitOfWork, version_id: int, time_zone: str) -> PinnedTariff:
    decoded = await uow.tariffs.decoded(version_id)
    if decoded is None:
        raise TariffNotFound(f"Tariff version {version_id} not found")
    return PinnedTariff(version_id, decoded.tariff_id, decoded.tariff, time_zone)


def _specificity(candidate: Candidate) -> int:
    row = candidate.assignment
    return 0 if row.evse_id is not None else 1 if row.station_id is not None else 2


async def _tariff(uow: TariffUnitOfWork, tariff_id: int) -> TariffRow:
    row = await uow.tariffs.tariff(tariff_id)
    if row is None:
        raise TariffNotFound(f"Tariff {tariff_id} not found")
    return row


async def _live_tariff(uow: TariffUnitOfWork, tariff_id: int) -> TariffRow:
    row = await _tariff(uow, tariff_id)
    if row.archived:
        raise TariffConflict(f"Tariff {tariff_id} is archived")
    return row


async def _check_target(uow: TariffUnitOfWork, target: Target) -> None:
    if target.site_id is not None and await uow.tariffs.site_zone(target.site_id) is None:
        raise TariffNotFound(f"Site {target.site_id} not found")
    if target.station_id is not None and not await uow.tariffs.station_exists(target.station_id):
        raise TariffNotFound(f"Station {target.station_id} not found")


async def _add_version(
    uow: TariffUnitOfWork,
    tariff: TariffRow,
    number: int,
    definition: dict[str, Any],
    valid_from: datetime,
    actor: str,
    now: datetime,
) -> TariffVersionRow:
    """Check the definition, store it in canonical form as version `number`, audit it."""
    decoded = tariff_from_json(tariff.currency, definition)
    validation.validate(decoded)
    assert tariff.id is not None
    row = TariffVersionRow(
        tariff_id=tariff.id,
        version=number,
        valid_from=valid_from,
        definition=definition_to_json(decoded),
        created_at=now,
        created_by=actor,
    )
    uow.tariffs.add(row)
    await uow.tariffs.flush()
    details = {"version": row.version, "version_id": row.id, "valid_from": valid_from.isoformat()}
    uow.tariffs.audit(now, actor, "tariff.version", f"tariff:{tariff.id}", **details)
    return row
