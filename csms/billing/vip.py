"""VIP levels: a tenant's drivers who spent enough over the last 90 days pay less service fee.

A driver's spend is what their settlements took from them: in each ``settle`` entry, the sum of
its postings on their wallet and holds accounts is minus what the session cost them after any
coupon (the hold is returned to the wallet, the cost leaves it). Sums are made in Python: SQLite
keeps money as text and SQL would add it as floats, and one driver's 90 days are few rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from csms import audit
from csms.accounts.tables import TenantRow
from csms.billing import model
from csms.billing.errors import Conflict, NotFound
from csms.billing.model import EntryKind
from csms.billing.tables import LedgerAccountRow, LedgerEntryRow, LedgerPostingRow, VipLevelRow
from tariffs.currency import minor_unit, round_half_up
from tariffs.model import LineKind

WINDOW = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a driver stands: the level reached, and what is missing for the next."""

    spend: Decimal
    currency: str
    level: VipLevelRow | None
    next_level: VipLevelRow | None

    @property
    def missing(self) -> Decimal | None:
        return None if self.next_level is None else self.next_level.min_spend - self.spend


def service_fee(lines: Iterable[Mapping[str, str | None]]) -> Decimal:
    """The service-fee part of a CDR's stored ``lines`` (exact, unrounded)."""
    return sum(
        (Decimal(line["amount"] or 0) for line in lines if line["kind"] == LineKind.SERVICE), Decimal(0)
    )


def level_for(levels: Sequence[VipLevelRow], spend: Decimal) -> VipLevelRow | None:
    """The level with the highest ``min_spend`` the spend reaches."""
    reached = [level for level in levels if level.min_spend <= spend]
    return max(reached, key=lambda level: level.min_spend, default=None)


def next_for(levels: Sequence[VipLevelRow], spend: Decimal) -> VipLevelRow | None:
    """The nearest level still out of reach."""
    ahead = [level for level in levels if level.min_spend > spend]
    return min(ahead, key=lambda level: level.min_spend, default=None)


def discount(fee: Decimal, fraction: Decimal, currency: str) -> Decimal:
    """``fraction`` of the fee, rounded once, half-up to the currency's minor unit."""
    if fee <= 0 or fraction <= 0:
        return Decimal(0)
    return round_half_up(Fraction(fee) * Fraction(min(fraction, Decimal(1))), minor_unit(currency))


async def spend(session: AsyncSession, user_id: int, currency: str, now: datetime) -> Decimal:
    """What the driver's settlements took from them in ``currency`` over the last 90 days."""
    mine = (model.wallet(user_id, currency), model.holds(user_id, currency))
    query = (
        select(col(LedgerPostingRow.amount))
        .join(LedgerEntryRow, col(LedgerEntryRow.id) == col(LedgerPostingRow.entry_id))
        .join(LedgerAccountRow, col(LedgerAccountRow.id) == col(LedgerPostingRow.account_id))
        .where(
            col(LedgerEntryRow.kind) == EntryKind.SETTLE.value,
            col(LedgerEntryRow.created_at) > now - WINDOW,
            col(LedgerAccountRow.kind).in_([account.kind.value for account in mine]),
            col(LedgerAccountRow.owner) == mine[0].owner,
            col(LedgerAccountRow.currency) == currency,
        )
    )
    return -sum((await session.execute(query)).scalars(), Decimal(0))


async def levels(session: AsyncSession, tenant_id: int) -> list[VipLevelRow]:
    query = (
        select(VipLevelRow)
        .where(col(VipLevelRow.tenant_id) == tenant_id)
        .order_by(col(VipLevelRow.min_spend), col(VipLevelRow.id))
    )
    return list((await session.execute(query)).scalars())


async def standing(session: AsyncSession, user_id: int, tenant_id: int, now: datetime) -> Standing:
    currency = await tenant_currency(session, tenant_id)
    spent = await spend(session, user_id, currency, now)
    found = await levels(session, tenant_id)
    return Standing(spent, currency, level_for(found, spent), next_for(found, spent))


async def service_discount(
    session: AsyncSession,
    user_id: int,
    tenant_id: int,
    lines: list[dict[str, str | None]],
    currency: str,
    now: datetime,
) -> Decimal:
    """What the driver's VIP level takes off this session's service fee (``lines`` as stored in
    ``CdrRow.lines``); for the settlement, in its transaction."""
    fee = service_fee(lines)
    if fee <= 0:
        return Decimal(0)
    level = level_for(await levels(session, tenant_id), await spend(session, user_id, currency, now))
    return Decimal(0) if level is None else discount(fee, level.service_fee_discount, currency)


async def create_level(
    session: AsyncSession,
    tenant_id: int,
    name: str,
    min_spend: Decimal,
    fraction: Decimal,
    *,
    actor: str,
    at: datetime,
) -> VipLevelRow:
    """A level in the caller's transaction (it commits); Conflict for a name the tenant uses."""
    await tenant_currency(session, tenant_id)
    taken = await session.scalar(
        select(VipLevelRow.id).where(col(VipLevelRow.tenant_id) == tenant_id, col(VipLevelRow.name) == name)
    )
    if taken is not None:
        raise Conflict(f"The tenant already has a level named {name!r}")
    row = VipLevelRow(
        tenant_id=tenant_id, name=name, min_spend=min_spend, service_fee_discount=fraction, created_at=at
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="vip_level.create",
        subject=f"vip_level:{row.id}",
        details={
            "tenant_id": tenant_id,
            "name": name,
            "min_spend": str(min_spend),
            "discount": str(fraction),
        },
        at=at,
    )
    return row


async def delete_level(session: AsyncSession, level_id: int, *, actor: str, at: datetime) -> None:
    row = await session.get(VipLevelRow, level_id)
    if row is None:
        raise NotFound(f"VIP level {level_id} not found")
    details = {"tenant_id": row.tenant_id, "name": row.name, "min_spend": str(row.min_spend)}
    await session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="vip_level.delete",
        subject=f"vip_level:{level_id}",
        details=details,
        at=at,
    )


async def tenant_currency(session: AsyncSession, tenant_id: int) -> str:
    tenant = await session.get(TenantRow, tenant_id)
    if tenant is None:
        raise NotFound(f"Tenant {tenant_id} not found")
    return tenant.currency
