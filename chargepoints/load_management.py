"""Site load management: share a site's grid connection among the sessions charging there.

Whenever a session starts or stops, changes the phases it uses, stops drawing what it was
given, or the site's limit or a driver's charging needs change, the site is shared out again
(`chargepoints.rules.load_allocation`) and each session whose share moved is sent a TxProfile.
Lower limits go out first and are answered before any higher one is sent, so the site never
overshoots while the stations take the change. A session with charging needs gets no more than
its cost plan allows at the moment (`chargepoints.charging_needs`); plans and meter feeds that
expire wake the site again on time.

Recomputes are debounced per site and idempotent: what was last sent lives in
`session_allocations`, so only changes go out, also from another node or after a restart. The
node the station is connected to reacts to its events. A station that refuses a profile or does
not answer is sent it again with a growing delay, and an alarm flags it until it takes one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import col, select

from chargepoints import alarms, events, site_loads
from chargepoints.charging_needs import cost_plan
from chargepoints.load_tables import AllocationRow, ChargingNeedRow, SiteLoadRow, SiteLoadSampleRow
from chargepoints.ports import Clock, StationGateway
from chargepoints.profiles import SetChargingProfile
from chargepoints.repository import UnitOfWork
from chargepoints.rules.charging_plan import Plan
from chargepoints.rules.charging_profiles import Period, Profile
from chargepoints.rules.load_allocation import (
    QUANTUM,
    Demand,
    LimitUnit,
    SiteLimit,
    allocate,
    reclaim_cap,
    worth_sending,
)
from chargepoints.rules.metering import phase_draw
from chargepoints.serial import SerialWork
from chargepoints.site_loads import effective_limit
from chargepoints.tables import (
    ChargingProfileRow,
    EvseRow,
    IdTokenRow,
    MeterSampleRow,
    StationRow,
    TransactionRow,
)
from csms.accounts.model import Role
from csms.accounts.tables import UserRow
from tariffs import services as tariff_services

log = logging.getLogger(__name__)

VOLTS = Decimal(230)
HARDWARE_A = Decimal(32)
"""What a session may draw when its EVSE's rating is unknown."""
VIP_WEIGHT = 2
TICK = timedelta(seconds=60)
"""A site with sessions is shared out at least this often (history, expiring feeds and plans)."""
MEASURED_WITHIN = timedelta(minutes=2)
MAX_ATTEMPTS = 6
SITE_CACHE_S = 60.0


class AllocationStatus:
    PENDING = "Pending"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    FAILED = "Failed"  # no answer: offline, timed out, or a CALLERROR


@dataclass(slots=True)
class Charging:
    """One running session as smart charging sees it."""

    tx: TransactionRow
    version: str | None
    weight: int = 1
    hardware_a: Decimal = HARDWARE_A
    measured_a: Decimal | None = None
    phases: int = 3
    need: ChargingNeedRow | None = None
    plan: Plan | None = None
    sent: AllocationRow | None = None

    @property
    def id(self) -> int:
        assert self.tx.id is not None
        return self.tx.id


@dataclass(slots=True)
class Outcome:
    """What one recompute decided: each session's amps, and when to share the site out again."""

    allocations: dict[int, Decimal] = field(default_factory=dict)
    wake_at: datetime | None = None


class LoadManager:
    """Subscribe `on_event` to the bus; `start()` and `stop()` run its tasks."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        gateway: StationGateway,
        clock: Clock,
        *,
        debounce_s: float,
        stack_level: int,
        retry_s: float,
    ) -> None:
        self._uow, self._gateway, self._clock = uow, gateway, clock
        self._debounce, self._stack_level, self._retry = debounce_s, stack_level, timedelta(seconds=retry_s)
        self.work: SerialWork[events.Event] = SerialWork(self._route, name="load-management")
        self._dirty: set[int] = set()
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._wakes: dict[int, asyncio.TimerHandle] = {}
        self._sites: dict[str, tuple[int | None, float]] = {}
        self._given: dict[int, tuple[Decimal, int, bool]] = {}  # tx -> (allocated, phases, capped)

    def start(self) -> None:
        self.work.start()

    async def stop(self) -> None:
        await self.work.stop()
        for handle in self._wakes.values():
            handle.cancel()
        for run in list(self._runs.values()):
            run.cancel()
        await asyncio.gather(*self._runs.values(), return_exceptions=True)

    async def settled(self) -> None:
        """Wait until every event so far has been acted on (for tests and shutdown)."""
        await self.work.settled()
        while self._runs:
            await asyncio.gather(*list(self._runs.values()), return_exceptions=True)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.SiteLoadChanged):
            if event.site_id is not None and (
                not event.station_id or self._gateway.is_connected(event.station_id)
            ):
                self.work.offer(event)
        elif not self._gateway.is_connected(event.station_id):
            return
        elif isinstance(event, events.TransactionStarted | events.TransactionEnded):
            if isinstance(event, events.TransactionEnded):
                self._given.pop(event.transaction_id, None)
            self.work.offer(event)
        elif isinstance(event, events.MeterValuesRecorded) and self._moved(event):
            self.work.offer(event)

    def _moved(self, event: events.MeterValuesRecorded) -> bool:
        """Whether a reading changes what its session should get: phases switched, or it draws
        well below its share (reclaim) or up to a share it was held back to (give it back)."""
        if event.transaction_id is None or event.transaction_id not in self._given:
            return False
        allocated, phases, capped = self._given[event.transaction_id]
        if event.phases is not None and event.phases != phases:
            return True
        if event.current_a is None:
            return False
        measured = Decimal(str(event.current_a))
        if capped:
            return measured >= allocated - 1
        return reclaim_cap(allocated, measured, Decimal(0)) is not None

    async def _route(self, event: events.Event) -> None:
        if isinstance(event, events.SiteLoadChanged) and event.site_id is not None:
            if not event.station_id and not await self._holds_station_of(event.site_id):
                return
            self.poke(event.site_id)
            return
        site_id = await self._site_of(event.station_id)
        if site_id is not None:
            self.poke(site_id)

    async def _site_of(self, station_id: str) -> int | None:
        loop = asyncio.get_running_loop()
        cached = self._sites.get(station_id)
        if cached is not None and loop.time() - cached[1] < SITE_CACHE_S:
            return cached[0]
        async with self._uow() as uow:
            station = await uow.session.get(StationRow, station_id)
        site_id = station.site_id if station else None
        self._sites[station_id] = (site_id, loop.time())
        return site_id

    async def _holds_station_of(self, site_id: int) -> bool:
        async with self._uow() as uow:
            query = select(StationRow.id).where(col(StationRow.site_id) == site_id)
            station_ids = list((await uow.session.execute(query)).scalars())
        return any(self._gateway.is_connected(station_id) for station_id in station_ids)

    def poke(self, site_id: int) -> None:
        """Share the site out again soon; pokes within the debounce window become one."""
        self._dirty.add(site_id)
        if site_id not in self._runs:
            self._runs[site_id] = asyncio.create_task(self._run(site_id), name=f"load-site-{site_id}")

    async def _run(self, site_id: int) -> None:
        try:
            while site_id in self._dirty:
                await asyncio.sleep(self._debounce)
                self._dirty.discard(site_id)
                try:
                    outcome = await self.recompute(site_id)
                except Exception:
                    log.exception("load management of site %s failed", site_id)
                    continue
                self._wake(site_id, outcome.wake_at)
        finally:
            self._runs.pop(site_id, None)

    def _wake(self, site_id: int, at: datetime | None) -> None:
        previous = self._wakes.pop(site_id, None)
        if previous is not None:
            previous.cancel()
        if at is not None:
            delay = max((at - self._clock.now()).total_seconds(), 0.0)
            self._wakes[site_id] = asyncio.get_running_loop().call_later(delay, self.poke, site_id)

    async def recompute(self, site_id: int) -> Outcome:
        """Share the site out now and send each session whose share changed its new limit."""
        now = self._clock.now()
        async with self._uow() as uow:
            load = await uow.session.get(SiteLoadRow, site_id)
            sessions = await _sessions(uow, site_id, now)
            await uow.session.execute(
                delete(AllocationRow).where(
                    col(AllocationRow.site_id) == site_id,
                    col(AllocationRow.transaction_id).not_in([s.id for s in sessions]),
                )
            )
            await uow.commit()
        for session in sessions:
            session.plan = await self._plan(session, now)
        limit = _limit(load, now) if load is not None and load.enabled else None
        outcome = Outcome()
        capped: set[int] = set()  # sessions held to what they draw, so others get the rest
        if limit is None:
            outcome.allocations = {s.id: _plan_a(s, now) for s in sessions if s.plan is not None}
        else:
            assert load is not None
            demands = [self._demand(s, load.min_current_a, now) for s in sessions]
            outcome.allocations = allocate(limit, demands)
            capped = {d.key for d, s in zip(demands, sessions, strict=True) if d.max_a < _uncapped(s, now)}
        by_id = {s.id: s for s in sessions}
        changes = [
            (by_id[tx_id], amps)
            for tx_id, amps in sorted(outcome.allocations.items())
            if self._due(by_id[tx_id].sent, amps, now)
        ]
        lower = [(s, a) for s, a in changes if s.sent is None or a < s.sent.limit_a]
        higher = [(s, a) for s, a in changes if s.sent is not None and a >= s.sent.limit_a]
        for batch in (lower, higher):
            await asyncio.gather(*(self._send(site_id, s, a, now) for s, a in batch))
        for session in sessions:
            amps = outcome.allocations.get(session.id)
            if amps is not None:
                self._given[session.id] = (amps, session.phases, session.id in capped)
        if limit is not None or outcome.allocations:  # a site nobody manages needs no history or wake-ups
            await self._keep_sample(site_id, limit, sessions, outcome.allocations, now)
            async with self._uow() as uow:
                rows = await site_loads.allocations(uow.session, site_id)
            retries = [at for at in map(self._retry_at, rows) if at is not None]
            outcome.wake_at = _next_wake(sessions, load, retries, now)
        return outcome

    def _due(self, sent: AllocationRow | None, amps: Decimal, now: datetime) -> bool:
        if sent is None:
            return True
        if sent.status in (AllocationStatus.REJECTED, AllocationStatus.FAILED):
            retry_at = self._retry_at(sent)
            return sent.limit_a != amps or (retry_at is not None and now >= retry_at)
        return sent.limit_a != amps and worth_sending(sent.limit_a, amps)

    def _retry_at(self, sent: AllocationRow) -> datetime | None:
        """When a limit the station did not take is sent again: later after each failure, and
        not at all after the last attempt (its alarm stays open for a person)."""
        if sent.status not in (AllocationStatus.REJECTED, AllocationStatus.FAILED) or sent.sent_at is None:
            return None
        if sent.attempts >= MAX_ATTEMPTS:
            return None
        backoff: timedelta = self._retry * 2 ** max(sent.attempts - 1, 0)
        return sent.sent_at + backoff

    def _demand(self, session: Charging, min_a: Decimal, now: datetime) -> Demand:
        most = _uncapped(session, now)
        if session.sent is not None and session.sent.status == AllocationStatus.ACCEPTED:
            cap = reclaim_cap(session.sent.limit_a, session.measured_a, min_a)
            if cap is not None:
                most = min(most, cap)
        return Demand(
            key=session.id,
            phases=session.phases,
            min_a=min_a,
            max_a=most,
            weight=session.weight,
            since=session.tx.started_at,
        )

    async def _plan(self, session: Charging, now: datetime) -> Plan | None:
        if session.need is None or session.tx.tariff_version_id is None:
            return None
        async with self._uow() as uow:
            pinned = await tariff_services.pinned(uow, session.tx.tariff_version_id, session.tx.station_id)
        most_w = session.hardware_a * VOLTS * session.phases
        return cost_plan(session.need, pinned.tariff, ZoneInfo(pinned.time_zone), now, most_w)

    async def _send(self, site_id: int, session: Charging, amps: Decimal, now: datetime) -> None:
        """Send one session its limit and keep the station's answer."""
        profile_id = await self._before_send(site_id, session, amps, now)
        profile = Profile(
            profile_id,
            self._stack_level,
            "TxProfile",
            "Relative",
            "A",
            (Period(0, float(amps)),),
            transaction={"id": session.id, "station_tx_id": session.tx.station_tx_id},
        )
        status = AllocationStatus.FAILED
        try:
            action, payload = self._gateway.translate(
                session.version or "1.6", SetChargingProfile(session.tx.evse_id or 0, profile)
            )
            answer = await self._gateway.call(session.tx.station_id, action, payload)
            status = (
                AllocationStatus.ACCEPTED if answer.get("status") == "Accepted" else AllocationStatus.REJECTED
            )
        except Exception as exc:
            log.info("TxProfile for transaction %s not delivered: %r", session.id, exc)
        await self._after_send(session, profile_id, status)

    async def _before_send(self, site_id: int, session: Charging, amps: Decimal, now: datetime) -> int:
        """Record what is about to be sent, so no other recompute sends it again meanwhile."""
        async with self._uow() as uow:
            row = await uow.session.get(AllocationRow, session.id)
            profile = (
                None
                if row is None or row.profile_id is None
                else await uow.session.get(ChargingProfileRow, row.profile_id)
            )
            if profile is None:
                profile = ChargingProfileRow(
                    station_id=session.tx.station_id,
                    evse_id=session.tx.evse_id or 0,
                    purpose="TxProfile",
                    stack_level=self._stack_level,
                    created_at=now,
                    updated_at=now,
                )
                uow.session.add(profile)
                await uow.session.flush()
            profile.definition = {  # in the operator API's words, so listings and schedules read it
                "source": "load management",
                "evse_id": session.tx.evse_id or 0,
                "stack_level": self._stack_level,
                "purpose": "TxProfile",
                "kind": "Relative",
                "unit": "A",
                "transaction_id": session.id,
                "periods": [{"start_s": 0, "limit": float(amps)}],
            }
            profile.status, profile.updated_at = "Requested", now
            if row is None:
                row = AllocationRow(
                    transaction_id=session.id,
                    site_id=site_id,
                    station_id=session.tx.station_id,
                    limit_a=amps,
                    updated_at=now,
                )
                uow.session.add(row)
            same = row.limit_a == amps and row.status != AllocationStatus.ACCEPTED
            row.attempts = row.attempts + 1 if same else 1
            if row.raised_at is None or amps > row.limit_a:
                row.raised_at = now
            row.profile_id, row.limit_a, row.status = profile.id, amps, AllocationStatus.PENDING
            row.sent_at = row.updated_at = now
            await uow.commit()
            assert profile.id is not None
            return profile.id

    async def _after_send(self, session: Charging, profile_id: int, status: str) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            row = await uow.session.get(AllocationRow, session.id)
            if row is not None:
                row.status, row.updated_at = status, now
            profile = await uow.session.get(ChargingProfileRow, profile_id)
            if profile is not None:
                installed = status == AllocationStatus.ACCEPTED
                profile.status = "Installed" if installed else "Rejected"
                profile.updated_at = now
            await uow.commit()
        station_id, evse_id = session.tx.station_id, session.tx.evse_id or 0
        if status == AllocationStatus.ACCEPTED:
            await alarms.profile_taken(station_id, evse_id, uow=self._uow(), clock=self._clock)
        else:
            await alarms.profile_refused(station_id, evse_id, status, uow=self._uow(), clock=self._clock)

    async def _keep_sample(
        self,
        site_id: int,
        limit: SiteLimit | None,
        sessions: list[Charging],
        allocations: dict[int, Decimal],
        now: datetime,
    ) -> None:
        per_session = {
            str(s.id): {
                "allocated_a": str(allocations.get(s.id, Decimal(0))),
                "measured_a": None if s.measured_a is None else str(s.measured_a),
                "phases": s.phases,
                "station_id": s.tx.station_id,
                "evse_id": s.tx.evse_id,
            }
            for s in sessions
        }
        measured = [s.measured_a for s in sessions if s.measured_a is not None]
        async with self._uow() as uow:
            uow.session.add(
                SiteLoadSampleRow(
                    site_id=site_id,
                    at=now,
                    unit=limit.unit if limit else "A",
                    limit=limit.value if limit else Decimal(0),
                    allocated_a=sum(allocations.values(), Decimal(0)),
                    measured_a=sum(measured, Decimal(0)) if measured else None,
                    sessions=per_session,
                )
            )
            await uow.commit()


def _limit(load: SiteLoadRow, now: datetime) -> SiteLimit:
    return SiteLimit(effective_limit(load, now), LimitUnit(load.unit), VOLTS)


def _amps(watts: Decimal, phases: int) -> Decimal:
    return (watts / (VOLTS * phases)).quantize(QUANTUM, rounding=ROUND_FLOOR)


def _plan_w(plan: Plan, now: datetime) -> Decimal:
    current = plan.steps[0].limit_w if plan.steps else Decimal(0)
    for step in plan.steps:
        if step.start > now:
            break
        current = step.limit_w
    return current


def _plan_a(session: Charging, now: datetime) -> Decimal:
    assert session.plan is not None
    return min(session.hardware_a, _amps(_plan_w(session.plan, now), session.phases))


def _uncapped(session: Charging, now: datetime) -> Decimal:
    """The most a session could use now: its EVSE's rating, or its cost plan's limit."""
    return session.hardware_a if session.plan is None else _plan_a(session, now)


def _next_wake(
    sessions: list[Charging], load: SiteLoadRow | None, retries: list[datetime], now: datetime
) -> datetime | None:
    if not sessions:
        return None
    moments = [now + TICK, *retries]
    if load is not None and load.dynamic_until is not None and load.dynamic_until > now:
        moments.append(load.dynamic_until)
    for session in sessions:
        if session.plan is not None:
            moments.extend(step.start for step in session.plan.steps if step.start > now)
    return min(moments)


async def _sessions(uow: UnitOfWork, site_id: int, now: datetime) -> list[Charging]:
    """The site's running sessions with what the allocation needs to know about each."""
    query = (
        select(TransactionRow, StationRow.ocpp_version)
        .join(StationRow, col(StationRow.id) == col(TransactionRow.station_id))
        .where(
            col(StationRow.site_id) == site_id,
            col(TransactionRow.state) == "Active",
            col(TransactionRow.evse_id).is_not(None),
        )
        .order_by(col(TransactionRow.id))
    )
    sessions = [Charging(tx, version) for tx, version in (await uow.session.execute(query)).all()]
    if not sessions:
        return []
    ids = [s.id for s in sessions]
    by_id = {s.id: s for s in sessions}
    vip = (
        select(TransactionRow.id)
        .join(IdTokenRow, col(IdTokenRow.token) == col(TransactionRow.id_token))
        .join(UserRow, col(UserRow.id) == col(IdTokenRow.user_id))
        .where(col(TransactionRow.id).in_(ids), col(UserRow.role) == Role.VIP_DRIVER)
    )
    for tx_id in (await uow.session.execute(vip)).scalars():
        by_id[tx_id].weight = VIP_WEIGHT
    station_ids = {s.tx.station_id for s in sessions}
    ratings = select(EvseRow.station_id, EvseRow.evse_id, EvseRow.max_power_w).where(
        col(EvseRow.station_id).in_(station_ids), col(EvseRow.max_power_w).is_not(None)
    )
    rated = {(station, evse): watts for station, evse, watts in (await uow.session.execute(ratings)).all()}
    readings = (
        select(
            MeterSampleRow.transaction_id,
            MeterSampleRow.timestamp,
            MeterSampleRow.phase,
            MeterSampleRow.value,
        )
        .where(
            col(MeterSampleRow.transaction_id).in_(ids),
            col(MeterSampleRow.measurand) == "Current.Import",
            col(MeterSampleRow.timestamp) >= now - MEASURED_WITHIN,
        )
        .order_by(col(MeterSampleRow.timestamp))
    )
    latest: dict[int, tuple[datetime, dict[str | None, float]]] = {}
    for tx_id, at, phase, value in (await uow.session.execute(readings)).all():
        if tx_id not in latest or at > latest[tx_id][0]:
            latest[tx_id] = (at, {})
        latest[tx_id][1][phase] = value
    allocations = select(AllocationRow).where(col(AllocationRow.transaction_id).in_(ids))
    for row in (await uow.session.execute(allocations)).scalars():
        by_id[row.transaction_id].sent = row
    needs = select(ChargingNeedRow).where(col(ChargingNeedRow.transaction_id).in_(ids))
    for need in (await uow.session.execute(needs)).scalars():
        by_id[need.transaction_id].need = need
    for session in sessions:
        watts = rated.get((session.tx.station_id, session.tx.evse_id or 0))
        if watts:
            session.hardware_a = _amps(Decimal(watts), 3)
        _measure(session, latest.get(session.id))
    return sessions


def _measure(session: Charging, reading: tuple[datetime, dict[str | None, float]] | None) -> None:
    """What the session drew at its latest reading. A reading from before its limit last went up
    says nothing about what it would draw now; one taken under a lower limit still shows an EV
    that used less than it was given."""
    if reading is None:
        return
    at, values = reading
    sent = session.sent
    if sent is not None and sent.raised_at is not None and at <= sent.raised_at:
        return
    current, phases = phase_draw(values.items())
    if current is not None:
        session.measured_a = Decimal(str(current))
    session.phases = phases or session.phases
