"""Charging needs: when the driver leaves and how much energy the vehicle needs.

They come from the vehicle (2.0.1 NotifyEVChargingNeeds) or from the driver's app; the latest
word wins. Cost-aware charging turns a need into a plan over the session's pinned tariff: charge
in the cheapest bands that still meet it (`chargepoints.rules.charging_plan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from chargepoints import events
from chargepoints.errors import ChargingError
from chargepoints.load_tables import ChargingNeedRow
from chargepoints.ports import Clock, EventPublisher
from chargepoints.repository import UnitOfWork
from chargepoints.rules.charging_plan import Plan, PriceWindow, plan
from chargepoints.tables import StationRow, TransactionRow
from tariffs.model import Tariff
from tariffs.pricing import band_at, next_change


class NoSession(ChargingError):
    """No session is running where the need was reported."""


@dataclass(frozen=True, slots=True)
class Need:
    departure_at: datetime
    energy_wh: int
    max_power_w: int | None = None


async def record(
    transaction_id: int,
    need: Need,
    source: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    publisher: EventPublisher,
) -> ChargingNeedRow:
    """Keep the need of a running session and let smart charging plan around it."""
    now = clock.now()
    async with uow:
        tx = await uow.session.get(TransactionRow, transaction_id)
        if tx is None or tx.state != "Active":
            raise NoSession(f"Transaction {transaction_id} is not running")
        row = await uow.session.get(ChargingNeedRow, transaction_id)
        if row is None:
            row = ChargingNeedRow(
                transaction_id=transaction_id,
                departure_at=need.departure_at,
                energy_wh=need.energy_wh,
                source=source,
                updated_at=now,
            )
            uow.session.add(row)
        row.departure_at, row.energy_wh, row.max_power_w = need.departure_at, need.energy_wh, need.max_power_w
        row.source, row.updated_at = source, now
        station = await uow.session.get(StationRow, tx.station_id)
        uow.events.append(
            events.SiteLoadChanged(tx.station_id, station.site_id if station else None, transaction_id)
        )
        await uow.commit(publisher)
    return row


async def running_on(station_id: str, evse_id: int, *, uow: UnitOfWork) -> int:
    """The id of the session running on an EVSE; NoSession when there is none."""
    async with uow:
        query = select(TransactionRow.id).where(
            col(TransactionRow.station_id) == station_id,
            col(TransactionRow.evse_id) == evse_id,
            col(TransactionRow.state) == "Active",
        )
        found = (await uow.session.execute(query.order_by(col(TransactionRow.id).desc()))).scalars().first()
    if found is None:
        raise NoSession(f"No session is running on {station_id} EVSE {evse_id}")
    return int(found)


def price_windows(tariff: Tariff, zone: ZoneInfo, begin: datetime, end: datetime) -> list[PriceWindow]:
    """The tariff's bands between two instants, each with its price per kWh."""
    windows: list[PriceWindow] = []
    at = begin
    while at < end:
        band = band_at(tariff, at, zone)
        following = next_change(tariff, at, zone)
        until = end if following is None else min(following, end)
        windows.append(PriceWindow(at, until, band.energy_fee + band.service_fee))
        at = until
    return windows


def cost_plan(need: ChargingNeedRow, tariff: Tariff, zone: ZoneInfo, now: datetime, max_w: Decimal) -> Plan:
    """When to charge, at up to `max_w`, so the need is met at the least energy price."""
    if need.max_power_w is not None:
        max_w = min(max_w, Decimal(need.max_power_w))
    windows = price_windows(tariff, zone, now, need.departure_at) if need.departure_at > now else []
    return plan(now, need.departure_at, need.energy_wh, max_w, windows)
