"""Transaction use cases for both protocol generations.

OCPP 1.6 stations start and stop by message and get their transaction id from us; 2.0.1
stations name the transaction and report it as a sequence of events. Both end up as one
``TransactionRow``; every write a station may repeat is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from chargepoints import cdrs, events, reservations
from chargepoints.model import (
    AuthorizationResult,
    AuthorizationStatus,
    IdToken,
    Sample,
    TokenStatus,
    TransactionEvent,
    TransactionEventType,
    TransactionStart,
    TransactionStop,
    TxState,
)
from chargepoints.ports import Clock, EventPublisher
from chargepoints.repository import UnitOfWork
from chargepoints.rules.authorization import StoredToken, decide
from chargepoints.rules.metering import phase_draw, register_readings, widen
from chargepoints.rules.review import Reason, started_offline, unknown_token, unknown_transaction
from chargepoints.tables import TransactionEventRow, TransactionRow
from tariffs import services as tariff_services


async def authorization(
    uow: UnitOfWork,
    token: IdToken,
    now: datetime,
    *,
    check_concurrency: bool,
    except_transaction: int | None = None,
) -> AuthorizationResult:
    """The token's verdict from the id token table; used inside other use cases too."""
    row = await uow.chargepoints.token(token.value)
    if row is None:
        if token.type == "NoAuthorization":
            return decide(StoredToken(TokenStatus.ACCEPTED), now=now)
        return decide(None, now=now)
    busy = check_concurrency and await uow.chargepoints.token_in_transaction(
        token.value, except_id=except_transaction
    )
    stored = StoredToken(TokenStatus(row.status), row.expires_at, row.group_id, row.master_pass)
    return decide(stored, now=now, in_other_transaction=busy)


def sample_values(
    station_id: str, evse_id: int, transaction_id: int | None, samples: Iterable[Sample]
) -> list[dict[str, object]]:
    """Samples as plain rows for a bulk INSERT, the cheap path for the largest table."""
    return [
        {
            "transaction_id": transaction_id,
            "station_id": station_id,
            "evse_id": evse_id,
            "timestamp": s.timestamp,
            "measurand": s.measurand,
            "value": s.value,
            "unit": s.unit,
            "phase": s.phase,
            "location": s.location,
            "context": s.context,
        }
        for s in samples
    ]


async def _respect_reservations(
    uow: UnitOfWork,
    station_id: str,
    evse_id: int | None,
    id_token: str,
    reservation_id: int | None,
    verdict: AuthorizationResult,
    now: datetime,
) -> AuthorizationResult:
    """A reserved EVSE accepts only the reserving token; a start on one's own reservation uses it."""
    if verdict.status is not AuthorizationStatus.ACCEPTED:
        return verdict
    if await reservations.blocking_reservation(uow, station_id, evse_id, id_token, now) is not None:
        return AuthorizationResult(AuthorizationStatus.INVALID, verdict.expires_at, verdict.group_id)
    await reservations.consume(uow, station_id, reservation_id, id_token, now)
    return verdict


def meter_event(
    station_id: str, evse_id: int, transaction_id: int | None, samples: Sequence[Sample], now: datetime
) -> events.MeterValuesRecorded:
    """What live views (and the running cost) learn from a batch of samples."""
    readings = register_readings(samples)
    power = [s.value for s in samples if s.measurand == "Power.Active.Import" and s.phase is None]
    soc = [s.value for s in samples if s.measurand == "SoC"]
    current_a, phases = phase_currents(samples)
    return events.MeterValuesRecorded(
        station_id,
        evse_id,
        transaction_id,
        readings[-1] if readings else None,
        power[-1] if power else None,
        samples[-1].timestamp if samples else now,
        soc[-1] if soc else None,
        current_a,
        phases,
    )


def phase_currents(samples: Sequence[Sample]) -> tuple[float | None, int | None]:
    """``phase_draw`` of the latest Current.Import readings in a batch."""
    currents = [s for s in samples if s.measurand == "Current.Import"]
    if not currents:
        return None, None
    latest = max(s.timestamp for s in currents)
    return phase_draw((s.phase, s.value) for s in currents if s.timestamp == latest)


def note_readings(tx: TransactionRow, samples: Iterable[Sample], now: datetime) -> None:
    for reading in register_readings(samples):
        tx.meter_start_wh, tx.meter_stop_wh = widen(tx.meter_start_wh, tx.meter_stop_wh, reading)
    tx.updated_at = now


async def start_transaction(
    cmd: TransactionStart, *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> tuple[int, AuthorizationResult]:
    """Issue a transaction id (OCPP 1.6). A resent start returns the id issued the first time,
    found by the start's fingerprint, also after a restart."""
    now = clock.now()
    async with uow:
        repo = uow.chargepoints
        tx = await repo.transaction_by_station_tx(cmd.station_id, cmd.dedup_key)
        if tx is not None and tx.id is not None:
            verdict = await authorization(
                uow, cmd.id_token, now, check_concurrency=True, except_transaction=tx.id
            )
            return tx.id, verdict
        verdict = await authorization(uow, cmd.id_token, now, check_concurrency=True)
        verdict = await _respect_reservations(
            uow, cmd.station_id, cmd.evse_id, cmd.id_token.value, cmd.reservation_id, verdict, now
        )
        await repo.ensure_evse(cmd.station_id, cmd.evse_id)
        tx = TransactionRow(
            station_id=cmd.station_id,
            station_tx_id=cmd.dedup_key,
            evse_id=cmd.evse_id,
            connector_id=cmd.connector_id,
            id_token=cmd.id_token.value,
            started_at=cmd.timestamp,
            meter_start_wh=cmd.meter_start_wh,
            meter_stop_wh=cmd.meter_start_wh,
            offline=started_offline(cmd.timestamp, now),
            updated_at=now,
        )
        if verdict.status is not AuthorizationStatus.ACCEPTED:
            _flag_start(tx, unknown_token(verdict.status))
        await _pin_tariff(uow, tx)
        repo.add(tx)
        await repo.flush()
        assert tx.id is not None
        uow.collect(events.TransactionStarted(cmd.station_id, tx.id, cmd.evse_id, cmd.id_token.value))
        await uow.commit(publisher)
        return tx.id, verdict


async def stop_transaction(
    cmd: TransactionStop, *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> AuthorizationResult | None:
    """End a 1.6 transaction, then write its CDR in a unit of work of its own. A resent stop
    changes nothing (and finds the CDR written); a stop for an id we never issued is still kept,
    flagged for review, because the energy was delivered all the same."""
    verdict, tx_id = await _stop(cmd, uow, clock, publisher)
    await cdrs.settle_after_stop(tx_id, uow=uow, clock=clock, publisher=publisher)
    return verdict


async def _stop(
    cmd: TransactionStop, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> tuple[AuthorizationResult | None, int]:
    now = clock.now()
    async with uow:
        repo = uow.chargepoints
        tx = await repo.transaction(cmd.station_id, cmd.transaction_id)
        if tx is None:
            tx = await _orphan_stop(uow, cmd, now)
        verdict = None
        if cmd.id_token is not None:
            verdict = await authorization(uow, cmd.id_token, now, check_concurrency=False)
        assert tx.id is not None
        if tx.state == TxState.ENDED:
            await uow.commit()
            return verdict, tx.id
        tx.state, tx.ended_at, tx.stop_reason = TxState.ENDED, cmd.timestamp, cmd.reason
        tx.stop_id_token = cmd.id_token.value if cmd.id_token else None
        tx.meter_stop_wh, tx.charging_state, tx.updated_at = cmd.meter_stop_wh, None, now
        await repo.insert_samples(sample_values(cmd.station_id, tx.evse_id or 0, tx.id, cmd.samples))
        uow.collect(events.TransactionEnded(cmd.station_id, tx.id, tx.energy_wh, cmd.reason))
        await uow.commit(publisher)
        return verdict, tx.id


async def _orphan_stop(uow: UnitOfWork, cmd: TransactionStop, now: datetime) -> TransactionRow:
    key = f"unknown:{cmd.transaction_id}"
    tx = await uow.chargepoints.transaction_by_station_tx(cmd.station_id, key)
    if tx is None:
        tx = TransactionRow(station_id=cmd.station_id, station_tx_id=key, updated_at=now)
        _flag_start(tx, unknown_transaction(cmd.transaction_id))
        uow.chargepoints.add(tx)
        await uow.chargepoints.flush()
    return tx


async def record_transaction_event(
    cmd: TransactionEvent, *, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> AuthorizationResult | None:
    """Apply a 2.0.1 TransactionEvent. Events are idempotent by station, transaction and seqNo,
    and may arrive in any order: the first one seen creates the transaction, Ended is final.
    Any event of an ended transaction is followed by its CDR, in a unit of work of its own: the
    CDR waits for events that arrive late (see ``cdrs.EVENTS_GRACE``) and is written once."""
    verdict, ended = await _record_event(cmd, uow, clock, publisher)
    if ended is not None:
        await cdrs.settle_after_stop(ended, uow=uow, clock=clock, publisher=publisher)
    return verdict


async def _record_event(
    cmd: TransactionEvent, uow: UnitOfWork, clock: Clock, publisher: EventPublisher
) -> tuple[AuthorizationResult | None, int | None]:
    """The verdict on the event's token, and the transaction's id once it has ended."""
    now = clock.now()
    async with uow:
        repo = uow.chargepoints
        verdict = None
        if cmd.id_token is not None:
            verdict = await authorization(uow, cmd.id_token, now, check_concurrency=False)
        if await repo.transaction_event_seen(cmd.station_id, cmd.station_tx_id, cmd.seq_no):
            return verdict, None
        if (
            verdict is not None
            and cmd.id_token is not None
            and cmd.event_type is TransactionEventType.STARTED
        ):
            verdict = await _respect_reservations(
                uow, cmd.station_id, cmd.evse_id, cmd.id_token.value, cmd.reservation_id, verdict, now
            )
        tx = await repo.transaction_by_station_tx(cmd.station_id, cmd.station_tx_id)
        created = tx is None
        if tx is None:
            tx = TransactionRow(station_id=cmd.station_id, station_tx_id=cmd.station_tx_id, updated_at=now)
            repo.add(tx)
        was_active = tx.state == TxState.ACTIVE and not created
        first_token = tx.id_token is None and cmd.id_token is not None
        _apply_event(tx, cmd)
        note_readings(tx, cmd.samples, now)
        if first_token and verdict is not None and verdict.status is not AuthorizationStatus.ACCEPTED:
            _flag_start(tx, unknown_token(verdict.status))
        if created or cmd.event_type is TransactionEventType.STARTED:
            await _pin_tariff(uow, tx)  # Started may come after other events queued offline
        if tx.evse_id is not None:
            await repo.ensure_evse(cmd.station_id, tx.evse_id)
        repo.add(_event_row(cmd, now))
        await repo.flush()
        assert tx.id is not None
        await repo.insert_samples(sample_values(cmd.station_id, tx.evse_id or 0, tx.id, cmd.samples))
        if created:
            uow.collect(events.TransactionStarted(cmd.station_id, tx.id, tx.evse_id, tx.id_token))
        if cmd.samples and tx.state == TxState.ACTIVE:
            uow.collect(meter_event(cmd.station_id, tx.evse_id or 0, tx.id, cmd.samples, now))
        if tx.state == TxState.ENDED and (was_active or created):
            uow.collect(events.TransactionEnded(cmd.station_id, tx.id, tx.energy_wh, tx.stop_reason))
        # A twin of this event racing in on a second connection fails the unique key above: that
        # station gets InternalError, retries, and its retry is recognised as already applied.
        await uow.commit(publisher)
        return verdict, tx.id if tx.state == TxState.ENDED else None


def _flag_start(tx: TransactionRow, reason: Reason) -> None:
    """Note why the session will need a look; it joins the review queue when it ends."""
    cdrs.note_reasons(tx, [*cdrs.start_reasons(tx), reason])


async def _pin_tariff(uow: UnitOfWork, tx: TransactionRow) -> None:
    """Pin the tariff version in force at the start: the session is priced under it, whatever
    versions come later."""
    at = tx.started_at or tx.updated_at
    pinned = await tariff_services.tariff_for(uow, tx.station_id, tx.evse_id, at)
    tx.tariff_version_id = pinned.version_id if pinned is not None else None


def _apply_event(tx: TransactionRow, cmd: TransactionEvent) -> None:
    if cmd.event_type is TransactionEventType.STARTED or tx.started_at is None:
        tx.started_at = cmd.timestamp if tx.started_at is None else min(tx.started_at, cmd.timestamp)
    if cmd.event_type is TransactionEventType.STARTED:
        tx.started_at = cmd.timestamp
    tx.evse_id = cmd.evse_id if cmd.evse_id is not None else tx.evse_id
    tx.connector_id = cmd.connector_id if cmd.connector_id is not None else tx.connector_id
    if cmd.id_token is not None and tx.id_token is None:
        tx.id_token = cmd.id_token.value
    tx.remote_start_id = cmd.remote_start_id or tx.remote_start_id
    tx.offline = tx.offline or cmd.offline
    newest = tx.last_seq_no is None or cmd.seq_no > tx.last_seq_no
    if newest:
        tx.last_seq_no = cmd.seq_no
        if cmd.charging_state is not None and tx.state == TxState.ACTIVE:
            tx.charging_state = cmd.charging_state
    if cmd.event_type is TransactionEventType.ENDED:
        tx.state, tx.ended_at, tx.stop_reason = TxState.ENDED, cmd.timestamp, cmd.stopped_reason
        tx.charging_state = None
        if cmd.id_token is not None:
            tx.stop_id_token = cmd.id_token.value


def _event_row(cmd: TransactionEvent, now: datetime) -> TransactionEventRow:
    return TransactionEventRow(
        station_id=cmd.station_id,
        station_tx_id=cmd.station_tx_id,
        seq_no=cmd.seq_no,
        event_type=cmd.event_type,
        trigger_reason=cmd.trigger_reason,
        offline=cmd.offline,
        timestamp=cmd.timestamp,
        received_at=now,
    )
