"""The wallet as charging sees it: a start needs a minimum balance, a running session has money
held, its CDR settles it exactly once, and a session the balance can no longer pay for is stopped.

Holds and settlements are ledger entries keyed by the transaction (``hold:<id>``,
``settle:<id>``), so a resent stop, a second node or the sweep never settles twice. The node
holding the station reacts to its events on a task of its own; the sweep settles what an event
missed (a restart, a CDR written by the review queue).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints import commands, events
from chargepoints.driver_sessions import Driver
from chargepoints.operations import RemoteStop
from chargepoints.ports import Clock, StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.serial import SerialWork
from chargepoints.tables import CdrRow, IdTokenRow, SiteRow, StationRow, TransactionRow
from csms import audit
from csms.accounts.tables import TenantRow, UserRow
from csms.billing import coupons, ledger, model, rewards, rules, vip
from csms.billing.tables import WalletHoldRow
from tariffs.currency import billed

log = logging.getLogger(__name__)

ACTOR = "wallet"
SWEEP_LOOKBACK = timedelta(days=2)
STOP_REQUESTER = "wallet: balance exhausted"


@dataclass(frozen=True, slots=True)
class WalletPolicy:
    min_balance: Decimal
    hold: Decimal
    platform_rate: Decimal
    points_per_kwh: int = 0
    points_per_unit: int = 0
    invitation_points: int = 0


@dataclass(frozen=True, slots=True)
class Payer:
    """Whose wallet a session draws on, and whose revenue it is."""

    user_id: int
    tenant_id: int
    currency: str
    postpaid: bool = False


class Wallets:
    """`refusal` is the PaymentGuard of driver starts; subscribe `on_event` to the bus and run
    `work` for holds, settlements and stops."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        gateway: StationGateway,
        clock: Clock,
        policy: WalletPolicy,
    ) -> None:
        self._uow, self._gateway, self._clock, self._policy = uow, gateway, clock, policy
        self.work: SerialWork[events.Event] = SerialWork(self._handle, name="wallets")
        self._stopping: set[int] = set()

    async def refusal(self, driver: Driver, station_id: str) -> str | None:
        async with self._uow() as uow:
            tenant = await uow.session.get(TenantRow, driver.tenant_id)
            if tenant is None:
                return "Your account has no operator to pay"
            user = await uow.session.get(UserRow, driver.user_id)
            if user is not None and user.postpaid:  # a fleet account, invoiced monthly
                return None
            balance = await ledger.cached_balance(uow.session, model.wallet(driver.user_id, tenant.currency))
        if balance < self._policy.min_balance:
            return f"Top up your wallet: starting needs {self._policy.min_balance} {tenant.currency}"
        return None

    async def on_event(self, event: events.Event) -> None:
        handled = isinstance(event, events.TransactionStarted | events.CdrWritten | events.SessionCostUpdated)
        if handled and self._gateway.is_connected(event.station_id):
            self.work.offer(event)

    async def _handle(self, event: events.Event) -> None:
        if isinstance(event, events.TransactionStarted):
            await self.hold(event.transaction_id)
        elif isinstance(event, events.CdrWritten):
            await self.settle(event.transaction_id)
        elif isinstance(event, events.SessionCostUpdated):
            await self._check_cost(event)

    async def hold(self, transaction_id: int) -> Decimal | None:
        """Set money aside for a driver's session: the policy's hold, or what the wallet has.
        Post-paid accounts have nothing held, so nothing stops their sessions either."""
        now = self._clock.now()
        async with self._uow() as uow:
            tx = await uow.session.get(TransactionRow, transaction_id)
            payer = await _payer(uow.session, tx)
            if tx is None or payer is None or payer.postpaid:
                return None
            if await uow.session.get(WalletHoldRow, transaction_id) is not None:
                return None
            available = await ledger.cached_balance(uow.session, model.wallet(payer.user_id, payer.currency))
            amount = max(min(self._policy.hold, available), Decimal(0))
            uow.session.add(
                WalletHoldRow(
                    transaction_id=transaction_id,
                    user_id=payer.user_id,
                    amount=amount,
                    currency=payer.currency,
                    created_at=now,
                )
            )
            if amount > 0:
                entry = rules.hold(transaction_id, payer.user_id, amount, payer.currency)
                await ledger.post(uow.session, entry, actor=ACTOR, at=now)
            try:
                await uow.commit()
            except IntegrityError:  # another node held it first
                return None
        return amount

    async def settle(self, transaction_id: int) -> bool:
        """Charge a finished session's CDR to its driver's wallet, once; True if this call did."""
        now = self._clock.now()
        async with self._uow() as uow:
            cdr = (
                await uow.session.execute(select(CdrRow).where(col(CdrRow.transaction_id) == transaction_id))
            ).scalar_one_or_none()
            tx = await uow.session.get(TransactionRow, transaction_id)
            payer = await _payer(uow.session, tx)
            if cdr is None or payer is None or cdr.currency not in (None, payer.currency):
                return False
            if await ledger.posted(uow.session, f"settle:{transaction_id}") is not None:
                return False
            hold = await uow.session.get(WalletHoldRow, transaction_id)
            held = hold.amount if hold is not None and hold.status == "Held" else Decimal(0)
            cost = billed(cdr.total, payer.currency)
            site_tenant, site_rate = await _site_terms(uow.session, cdr.station_id)
            revenue_tenant = site_tenant or payer.tenant_id
            service_fee = vip.service_fee(cdr.lines)
            member = await vip.service_discount(
                uow.session, payer.user_id, payer.tenant_id, cdr.lines, payer.currency, now
            )
            coupon = await _coupon(
                uow.session,
                payer.user_id,
                transaction_id,
                cost - member,
                service_fee - member,
                cdr.station_id,
                now,
            )
            discount = member + coupon
            entry = rules.settle(
                transaction_id,
                payer.user_id,
                revenue_tenant,
                held,
                cost,
                discount,
                self._policy.platform_rate if site_rate is None else site_rate,
                payer.currency,
            )
            await ledger.post(uow.session, entry, actor=ACTOR, at=now)
            await rewards.after_settlement(
                uow.session,
                user_id=payer.user_id,
                transaction_id=transaction_id,
                energy_wh=cdr.energy_wh,
                paid=cost - discount,
                currency=payer.currency,
                now=now,
                per_kwh=self._policy.points_per_kwh,
                per_unit=self._policy.points_per_unit,
                invitation=self._policy.invitation_points,
            )
            if hold is not None:
                hold.status, hold.settled_at = "Settled", now
            try:
                await uow.commit()
            except IntegrityError:  # settled concurrently elsewhere
                return False
        self._stopping.discard(transaction_id)
        return True

    async def sweep(self, *, limit: int = 500) -> int:
        """Settle recent CDRs of drivers that no event settled; returns how many."""
        since = self._clock.now() - SWEEP_LOOKBACK
        async with self._uow() as uow:
            query = (
                select(CdrRow.transaction_id)
                .where(col(CdrRow.created_at) >= since, col(CdrRow.driver_id).is_not(None))
                .order_by(col(CdrRow.id))
                .limit(limit)
            )
            ids = list((await uow.session.execute(query)).scalars())
        return sum([await self.settle(tx_id) for tx_id in ids])

    async def _check_cost(self, event: events.SessionCostUpdated) -> None:
        """Stop a session whose running cost has reached what its wallet and hold can pay. One
        that started with nothing held (no minimum balance is configured) runs on, as a debt."""
        if event.transaction_id in self._stopping:
            return
        async with self._uow() as uow:
            tx = await uow.session.get(TransactionRow, event.transaction_id)
            payer = await _payer(uow.session, tx)
            if tx is None or payer is None or payer.currency != event.currency or tx.state != "Active":
                return
            hold = await uow.session.get(WalletHoldRow, event.transaction_id)
            if hold is None or hold.amount <= 0:  # started with nothing held: settled as a debt instead
                return
            left = await ledger.cached_balance(uow.session, model.wallet(payer.user_id, payer.currency))
            station = await uow.session.get(StationRow, tx.station_id)
        held = hold.amount
        if Decimal(event.total) < held + left:
            return
        self._stopping.add(event.transaction_id)
        await self._stop(tx, station.ocpp_version if station else None, Decimal(event.total), held + left)

    async def _stop(self, tx: TransactionRow, version: str | None, cost: Decimal, funds: Decimal) -> None:
        assert tx.id is not None
        action, payload = self._gateway.translate(version or "1.6", RemoteStop(tx.id, tx.station_tx_id))
        command_id = await commands.queue_command(
            tx.station_id, action, payload, requester=STOP_REQUESTER, uow=self._uow(), clock=self._clock
        )
        async with self._uow() as uow:
            details = {"reason": "wallet balance exhausted", "cost": str(cost), "funds": str(funds)}
            audit.record(
                uow.session,
                actor=ACTOR,
                action="session.stop",
                subject=f"transaction:{tx.id}",
                details=details,
                at=self._clock.now(),
            )
            await uow.commit()
        command = await commands.run_command(
            command_id, uow=self._uow, gateway=self._gateway, clock=self._clock
        )
        log.info("session %s stopped: wallet balance exhausted (%s)", tx.id, command.status)


async def _payer(session: AsyncSession, tx: TransactionRow | None) -> Payer | None:
    """The driver account behind the session's id token, with its tenant's currency."""
    if tx is None or tx.id_token is None:
        return None
    query = (
        select(UserRow.id, UserRow.tenant_id, TenantRow.currency, UserRow.postpaid)
        .join(IdTokenRow, col(IdTokenRow.user_id) == col(UserRow.id))
        .join(TenantRow, col(TenantRow.id) == col(UserRow.tenant_id))
        .where(col(IdTokenRow.token) == tx.id_token)
    )
    found = (await session.execute(query)).first()
    return None if found is None else Payer(int(found[0]), int(found[1]), str(found[2]), bool(found[3]))


async def _coupon(
    session: AsyncSession,
    user_id: int,
    transaction_id: int,
    cost: Decimal,
    service_fee: Decimal,
    station_id: str,
    now: datetime,
) -> Decimal:
    """The driver's best coupon for this session, redeemed in the settlement's transaction."""
    chosen = await coupons.best_for(session, user_id, cost, service_fee, station_id, now)
    if chosen is None or chosen[0].id is None:
        return Decimal(0)
    won = await coupons.redeem(session, chosen[0].id, transaction_id, chosen[1], now)
    return chosen[1] if won else Decimal(0)


async def _site_terms(session: AsyncSession, station_id: str) -> tuple[int | None, Decimal | None]:
    """Whose revenue a session at the station is, and the site's own platform fee rate if any."""
    query = (
        select(col(SiteRow.tenant_id), col(SiteRow.platform_fee_rate))
        .join(StationRow, col(StationRow.site_id) == col(SiteRow.id))
        .where(col(StationRow.id) == station_id)
    )
    found = (await session.execute(query)).first()
    return (None, None) if found is None else (found[0], found[1])
