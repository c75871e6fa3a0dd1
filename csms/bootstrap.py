"""Wires the real adapters into the use cases: the only place that chooses implementations."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chargepoints import alarms, services
from chargepoints.driver_sessions import PaymentGuard, PostPaid
from chargepoints.live_cost import LiveCosts
from chargepoints.load_management import LoadManager
from chargepoints.model import MeterReport, RegistrationStatus
from chargepoints.ports import Clock, FileStore, StationGateway, SystemClock
from chargepoints.repository import UnitOfWork
from csms.accounts.model import AuthConfig
from csms.accounts.ports import SmsSender
from csms.accounts.tokens import load_secret_key
from csms.batching import GroupCommit
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
    auth: AuthConfig
    sms: SmsSender
    cluster: Cluster | None = None
    scheduler: AsyncIOScheduler | None = field(default=None)
    live: LiveHub = field(default_factory=LiveHub)  # driver live progress, fed by the bus
    payments: PaymentGuard = field(default_factory=PostPaid)  # the wallet's check goes here

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
        if with_scheduler:
            self.scheduler = create_scheduler(self.settings, self.uow, self.clock, self.station_gateway)
            self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        await self.commands.stop()
        await self.live_costs.stop()
        await self.alarms.work.stop()
        await self.load.stop()
        await self.connections.close_all()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.message_log.stop()
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
        _auth_config(settings),
        sms_sender(settings),
        cluster,
        live=live,
    )


def _auth_config(settings: Settings) -> AuthConfig:
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    if configured is None and settings.redis_url:
        log.warning("CSMS_SECRET_KEY is unset: each node signs tokens with its own key, so set one")
    key = load_secret_key(configured, settings.data_dir)
    return AuthConfig(key, timedelta(seconds=settings.sms_code_ttl))
