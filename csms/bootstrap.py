"""Wires the real adapters into the use cases: the only place that chooses implementations."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chargepoints import alarms, services
from chargepoints.driver_sessions import PaymentGuard
from chargepoints.live_cost import LiveCosts
from chargepoints.load_management import LoadManager
from chargepoints.model import MeterReport, RegistrationStatus
from chargepoints.ports import Clock, FileStore, StationGateway, SystemClock
from chargepoints.repository import UnitOfWork
from csms.accounts.model import AuthConfig
from csms.accounts.ports import SmsSender
from csms.accounts.tables import UserRow
from csms.accounts.tokens import load_secret_key
from csms.batching import GroupCommit
from csms.billing import coupon_jobs
from csms.billing import jobs as billing_jobs
from csms.billing import payments as billing_payments
from csms.billing.ports import RefundSender
from csms.billing.providers import Providers
from csms.billing.providers.sandbox import SandboxProvider, over_http, sandbox_secret
from csms.billing.refund_sender import ProviderRefunds
from csms.billing.wallet import WalletPolicy, Wallets
from csms.bus import InProcessBus, RedisBus
from csms.commands import CommandRunner
from csms.db import create_engine, session_factory
from csms.filestore import LocalFileStore
from csms.ocpp.cluster import Cluster
from csms.ocpp.connections import Connections
from csms.ocpp.context import GatewayContext
from csms.ocpp.message_log import MessageLog
from csms.scheduler import create_scheduler
from csms.settings import Settings, UnknownStationPolicy
from csms.sms import sms_sender
from web.live import LiveHub

log = logging.getLogger(__name__)

_POLICY = {
    UnknownStationPolicy.REJECT: RegistrationStatus.REJECTED,
    UnknownStationPolicy.ACCEPT: RegistrationStatus.ACCEPTED,
    UnknownStationPolicy.PENDING: RegistrationStatus.PENDING,
}


@dataclass
class System:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus
    clock: Clock
    message_log: MessageLog
    connections: Connections
    gateway: GatewayContext
    commands: CommandRunner
    station_gateway: StationGateway
    files: FileStore
    live_costs: LiveCosts
    alarms: alarms.AlarmRaiser
    load: LoadManager
    wallets: Wallets
    payments: PaymentGuard  # what a driver's start must pass: the wallet's minimum balance
    auth: AuthConfig
    sms: SmsSender
    cluster: Cluster | None = None
    payment_providers: Providers | None = None
    refund_sender: RefundSender = field(default_factory=ProviderRefunds)
    scheduler: AsyncIOScheduler | None = field(default=None)
    live: LiveHub = field(default_factory=LiveHub)  # driver live progress, fed by the bus

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def start(self, *, with_scheduler: bool = True) -> None:
        await self.bus.start()
        if self.cluster is not None:
            await self.cluster.start()
        self.message_log.start()
        self.live_costs.start()
        self.alarms.work.start()
        self.load.start()
        self.wallets.work.start()
        if with_scheduler:
            self.scheduler = create_scheduler(self.settings, self.uow, self.clock, self.station_gateway)
            self.scheduler.add_job(
                self.wallets.sweep, "interval", minutes=1, id="settle-wallets", coalesce=True, max_instances=1
            )
            drift = billing_jobs.check_drift
            self.scheduler.add_job(drift, "interval", hours=1, args=[self.sessions, self.clock], id="drift")
            self.scheduler.add_job(
                self._remind_coupons, "interval", hours=1, id="remind-coupons", coalesce=True
            )
            self.scheduler.start()

    async def _remind_coupons(self) -> None:
        await coupon_jobs.remind(uow=self.uow(), clock=self.clock, notify=self._text_user)

    async def _text_user(self, user_id: int, text: str) -> None:
        """An SMS to a user's phone (coupon reminders)."""
        async with self.sessions() as session:
            user = await session.get(UserRow, user_id)
        if user is not None:
            await self.sms.send(user.phone, text)

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        await self.commands.stop()
        await self.live_costs.stop()
        await self.alarms.work.stop()
        await self.load.stop()
        await self.wallets.work.stop()
        await self.connections.close_all()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.message_log.stop()
        if self.payment_providers is not None:
            await self.payment_providers.stop()
        await self.bus.stop()
        await self.engine.dispose()


def build(settings: Settings, *, clock: Clock | None = None, bus: InProcessBus | None = None) -> System:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    clock = clock or SystemClock()
    if bus is None:
        bus = RedisBus(settings.redis_url) if settings.redis_url else InProcessBus()
    message_log = MessageLog(sessions, clock)

    async def record_meter_values(reports: list[MeterReport]) -> None:
        await services.record_meter_values(reports, uow=UnitOfWork(sessions), clock=clock, publisher=bus)

    async def record_heartbeats(station_ids: list[str]) -> None:
        await services.record_heartbeats(station_ids, uow=UnitOfWork(sessions), clock=clock)

    gateway = GatewayContext(
        sessions=sessions,
        clock=clock,
        publisher=bus,
        message_log=message_log,
        meter_values=GroupCommit(record_meter_values),
        heartbeats=GroupCommit(record_heartbeats),
        heartbeat_interval=settings.heartbeat_interval,
        unknown_station_status=_POLICY[settings.unknown_stations],
        response_timeout=settings.response_timeout,
    )
    connections = Connections()
    cluster = None
    if settings.redis_url:
        node_id = settings.node_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        cluster = Cluster(
            connections, settings.redis_url, node_id, call_timeout_s=settings.response_timeout + 5
        )
    station_gateway: StationGateway = cluster or connections
    commands = CommandRunner(lambda: UnitOfWork(sessions), station_gateway, clock)
    live_costs = LiveCosts(
        lambda: UnitOfWork(sessions),
        station_gateway,
        bus,
        clock,
        update_interval_s=settings.cost_update_interval,
        vendor_id=settings.cost_data_transfer_vendor,
    )
    bus.subscribe(live_costs.on_event)
    live = LiveHub()
    bus.subscribe(live.on_event)
    alarm_raiser = alarms.AlarmRaiser(lambda: UnitOfWork(sessions), clock, station_gateway)
    bus.subscribe(alarm_raiser.on_event)
    load = LoadManager(
        lambda: UnitOfWork(sessions),
        station_gateway,
        clock,
        debounce_s=settings.load_debounce,
        stack_level=settings.load_stack_level,
        retry_s=settings.load_retry,
    )
    bus.subscribe(load.on_event)
    auth = _auth_config(settings)
    payment_providers = _payment_providers(settings, auth, sessions, clock)
    policy = WalletPolicy(
        settings.wallet_min_balance,
        settings.wallet_hold,
        settings.platform_fee_rate,
        settings.points_per_kwh,
        settings.points_per_currency_unit,
        settings.invitation_points,
    )
    wallets = Wallets(lambda: UnitOfWork(sessions), station_gateway, clock, policy)
    bus.subscribe(wallets.on_event)
    return System(
        settings,
        engine,
        sessions,
        bus,
        clock,
        message_log,
        connections,
        gateway,
        commands,
        station_gateway,
        LocalFileStore(settings.data_dir),
        live_costs,
        alarm_raiser,
        load,
        wallets,
        wallets,
        auth,
        sms_sender(settings),
        cluster,
        payment_providers,
        live=live,
    )


def _auth_config(settings: Settings) -> AuthConfig:
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    if configured is None and settings.redis_url:
        log.warning("CSMS_SECRET_KEY is unset: each node signs tokens with its own key, so set one")
    key = load_secret_key(configured, settings.data_dir)
    return AuthConfig(key, timedelta(seconds=settings.sms_code_ttl))


def _payment_providers(
    settings: Settings, auth: AuthConfig, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> Providers:
    """The sandbox, which calls our webhook like a real provider would: over HTTP when the
    server's public address is known, else straight into the same verify-and-credit path."""
    client = httpx.AsyncClient(timeout=10)
    tolerance = settings.payment_webhook_tolerance_s
    sandbox = SandboxProvider(sandbox_secret(auth.secret_key), clock=clock, tolerance_s=tolerance)
    if settings.public_url:
        sandbox.deliver = over_http(f"{settings.public_url}/api/v1/payments/sandbox/webhook", client)
    else:

        async def deliver(headers: dict[str, str], body: bytes) -> None:
            await billing_payments.receive(sandbox, headers, body, sessions=sessions, clock=clock)

        sandbox.deliver = deliver
    return Providers([sandbox], default=settings.payment_provider, client=client)
