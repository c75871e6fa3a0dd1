"""Use cases a station's messages trigger. Each commits once and then publishes its events,
so nothing is acknowledged to a station (or announced to a viewer) before it is stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chargepoints import events
from chargepoints.model import (
    STATION_EVSE,
    AuthorizationResult,
    BootDecision,
    BootInfo,
    IdToken,
    MeterReport,
    RegistrationStatus,
    StationEvent,
    StationEventKind,
    StatusReport,
    VariableReport,
)
from chargepoints.ports import Clock, EventPublisher
from chargepoints.repository import UnitOfWork
from chargepoints.tables import (
    ConnectorRow,
    StationEventRow,
    StationRow,
    StatusHistoryRow,
)
from chargepoints.transactions import authorization, meter_event, note_readings, sample_values


async def boot(
    info: BootInfo,
    *,
    uow: UnitOfWork,
    clock: Clock,
    publisher: EventPublisher,
    heartbeat_interval: int,
    unknown_station_status: RegistrationStatus,
) -> BootDecision:
    """Record who the station says it is and answer with its registration status.

    Unknown stations get the configured policy; under ``Rejected`` no row is created, so a
    stranger cannot fill the station table by knocking.
    """
    now = clock.now()
    async with uow:
        station = await uow.chargepoints.station(info.station_id)
        if station is None:
            if unknown_station_status is RegistrationStatus.REJECTED:
                return BootDecision(RegistrationStatus.REJECTED, heartbeat_interval, now)
            station = StationRow(
                id=info.station_id, registration_status=unknown_station_status, created_at=now
            )
            uow.chargepoints.add(station)
        station.vendor, station.model = info.vendor, info.model
        station.serial_number, station.firmware_version = info.serial_number, info.firmware_version
        station.ocpp_version = info.ocpp_version
        station.boot_info = {"reason": info.reason, **info.extra}
        station.last_boot_at = station.last_seen_at = now
        status = RegistrationStatus(station.registration_status)
        uow.collect(events.StationBooted(info.station_id, status))
        await uow.commit(publisher)
    return BootDecision(status, heartbeat_interval, now)


async def record_heartbeats(station_ids: Sequence[str], *, uow: UnitOfWork, clock: Clock) -> None:
    """Mark many stations as seen in one statement (the gateway group-commits heartbeats)."""
    async with uow:
        await uow.chargepoints.touch_stations(set(station_ids), clock.now())
        await uow.commit()


@dataclass(frozen=True, slots=True)
class Credentials:
    password_hash: str | None
    status: RegistrationStatus
    lenient: bool


async def credentials(station_id: str, *, uow: UnitOfWork) -> Credentials | None:
    """What the gateway checks before the upgrade, or None for a station we do not know."""
    async with uow:
        station = await uow.chargepoints.station(station_id)
        if station is None:
            return None
        status = RegistrationStatus(station.registration_status)
        return Credentials(station.password_hash, status, station.lenient)


async def report_status(
    report: StatusReport, *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> None:
    """Keep the current status per connector and the full history; EVSE 0 is the station."""
    now = clock.now()
    async with uow:
        repo = uow.chargepoints
        uow.chargepoints.add(
            StatusHistoryRow(
                station_id=report.station_id,
                evse_id=report.evse_id,
                connector_id=report.connector_id,
                status=report.status,
                charging_state=report.charging_state,
                error_code=report.error_code,
                info=report.info,
                vendor_error_code=report.vendor_error_code,
                timestamp=report.timestamp,
                received_at=now,
            )
        )
        if report.evse_id == STATION_EVSE:
            station = await repo.station(report.station_id)
            if station is not None:
                station.status, station.error_code = report.status, report.error_code
        else:
            await _update_connector(uow, report)
        await repo.touch_stations({report.station_id}, now)
        uow.collect(
            events.ConnectorStatusChanged(
                report.station_id,
                report.evse_id,
                report.connector_id,
                report.status,
                report.error_code,
            )
        )
        await uow.commit(publisher)


async def _update_connector(uow: UnitOfWork, report: StatusReport) -> None:
    repo = uow.chargepoints
    connector = await repo.connector(report.station_id, report.evse_id, report.connector_id)
    if connector is None:
        await repo.ensure_evse(report.station_id, report.evse_id)
        connector = ConnectorRow(
            station_id=report.station_id,
            evse_id=report.evse_id,
            connector_id=report.connector_id,
            status=report.status,
            status_at=report.timestamp,
        )
        repo.add(connector)
    elif connector.status_at > report.timestamp:
        return  # a late, older report must not overwrite a newer state
    connector.status, connector.status_at = report.status, report.timestamp
    connector.error_code, connector.info = report.error_code, report.info
    if report.charging_state is not None:
        connector.charging_state = report.charging_state
        # 1.6 reports Charging/SuspendedEV only here, so the running session learns it here too.
        tx = await repo.active_transaction(report.station_id, report.evse_id)
        if tx is not None:
            tx.charging_state = report.charging_state


async def authorize(station_id: str, token: IdToken, *, uow: UnitOfWork, clock: Clock) -> AuthorizationResult:
    async with uow:
        return await authorization(uow, token, clock.now(), check_concurrency=True)


async def record_meter_values(
    reports: Sequence[MeterReport], *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> None:
    """Store the samples of many MeterValues in one transaction (the gateway group-commits them).

    A sample naming a transaction we do not know is kept, unattached, rather than refused.
    """
    now = clock.now()
    async with uow:
        repo = uow.chargepoints
        known = await repo.transactions_for(reports)
        rows: list[dict[str, object]] = []
        for report in reports:
            tx = known.get((report.station_id, report.transaction_id or report.station_tx_id))
            tx_id = tx.id if tx is not None else None
            rows.extend(sample_values(report.station_id, report.evse_id, tx_id, report.samples))
            if tx is not None:
                note_readings(tx, report.samples, now)
            uow.collect(meter_event(report.station_id, report.evse_id, tx_id, report.samples, now))
        await repo.insert_samples(rows)
        await uow.commit(publisher)


async def record_variables(
    station_id: str, reports: Iterable[VariableReport], *, uow: UnitOfWork, clock: Clock
) -> int:
    async with uow:
        count = await uow.chargepoints.upsert_variables(station_id, reports, clock.now())
        await uow.commit()
    return count


async def record_station_event(event: StationEvent, *, uow: UnitOfWork, clock: Clock) -> None:
    """Keep the notification; firmware and diagnostics status also update the station."""
    async with uow:
        repo = uow.chargepoints
        repo.add(
            StationEventRow(
                station_id=event.station_id,
                kind=event.kind,
                code=event.code,
                details=event.details,
                timestamp=event.timestamp,
                received_at=clock.now(),
            )
        )
        station = await repo.station(event.station_id)
        if station is not None and event.kind is StationEventKind.FIRMWARE_STATUS:
            station.firmware_status = event.code
        elif station is not None and event.kind in (
            StationEventKind.DIAGNOSTICS_STATUS,
            StationEventKind.LOG_STATUS,
        ):
            station.diagnostics_status = event.code
        await uow.commit()
