"""What the version adapters need from the rest of the system, wired by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chargepoints.model import MeterReport, RegistrationStatus
from chargepoints.ports import Clock, EventPublisher
from chargepoints.repository import UnitOfWork
from csms.batching import GroupCommit
from csms.ocpp.message_log import MessageLog


@dataclass(frozen=True, slots=True)
class GatewayContext:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    publisher: EventPublisher
    message_log: MessageLog
    meter_values: GroupCommit[MeterReport]
    heartbeats: GroupCommit[str]
    heartbeat_interval: int
    unknown_station_status: RegistrationStatus
    response_timeout: float = 30.0

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)
