"""Abnormal sessions: why a session's measured data must not be billed before a person looks.

A flagged session gets no charge detail record until an operator accepts, corrects or voids it.
Every reason has a stable code for machines and a sentence with the figures for the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

NO_ENERGY_AFTER = timedelta(minutes=2)
"""Shorter sessions without energy are plain aborted plug-ins, not worth a look."""
POWER_MARGIN_PERCENT = 110
"""Meters and ratings disagree by a few percent; beyond 10 % over the rating something is wrong."""
FASTEST_CHARGER_W = 350_000
"""The ceiling for the lifetime-baseline check when the EVSE's rating is unknown."""
OFFLINE_LAG = timedelta(minutes=10)
"""A 1.6 start that reaches us this long after it happened was queued while the station was offline."""


class ReasonCode(StrEnum):
    UNKNOWN_TOKEN = "unknown_token"
    UNKNOWN_TRANSACTION = "unknown_transaction"
    NO_ENERGY = "no_energy"
    EXCESS_ENERGY = "excess_energy"
    METER_BACKWARDS = "meter_backwards"
    OFFLINE_BASELINE = "offline_baseline"
    STOP_MISSING = "stop_missing"


START_CODES = frozenset({ReasonCode.UNKNOWN_TOKEN, ReasonCode.UNKNOWN_TRANSACTION})
"""Reasons known when the session begins; the others are measured when it ends (or goes silent)."""


class ReviewState(StrEnum):
    """No state (None) means nothing to decide; a pending session waits for an operator."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    CORRECTED = "corrected"
    VOIDED = "voided"


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    text: str


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What was measured: register readings as (time, Wh) in any order; ``ended_at`` is None
    while the session runs; ``max_power_w`` is the EVSE's (or connector's) rating if known."""

    started_at: datetime | None
    ended_at: datetime | None
    meter_start_wh: int | None
    meter_stop_wh: int | None
    register: tuple[tuple[datetime, int], ...] = ()
    max_power_w: int | None = None
    offline: bool = False


def unknown_token(status: str) -> Reason:
    return Reason(ReasonCode.UNKNOWN_TOKEN, f"started with {status} token")


def unknown_transaction(transaction_id: int) -> Reason:
    return Reason(
        ReasonCode.UNKNOWN_TRANSACTION, f"StopTransaction for unknown transactionId {transaction_id}"
    )


def started_offline(happened_at: datetime, received_at: datetime) -> bool:
    """OCPP 1.6 has no offline flag; a start delivered late was held back by the station."""
    return received_at - happened_at > OFFLINE_LAG


def review(facts: SessionFacts) -> tuple[Reason, ...]:
    """The measured reasons, in a fixed order; empty for a normal session."""
    found = [_meter_backwards(facts), _no_energy(facts)]
    baseline = _offline_baseline(facts)
    # A lifetime register taken for the start also exceeds the rating; name the cause, not both.
    found.append(baseline or _excess_energy(facts))
    return tuple(reason for reason in found if reason is not None)


def stop_missing(last_update: datetime, now: datetime, after: timedelta) -> Reason | None:
    """A running session nothing was heard of for ``after``: its stop was probably lost."""
    if now - last_update <= after:
        return None
    hours = int((now - last_update) / timedelta(hours=1))
    return Reason(
        ReasonCode.STOP_MISSING,
        f"no stop received: nothing heard since {_clock(last_update)} ({hours} h, limit {_span(after)})",
    )


def _duration(facts: SessionFacts) -> timedelta | None:
    if facts.started_at is None or facts.ended_at is None:
        return None
    return max(facts.ended_at - facts.started_at, timedelta(0))


def _energy(facts: SessionFacts) -> int | None:
    if facts.meter_start_wh is None or facts.meter_stop_wh is None:
        return None
    return facts.meter_stop_wh - facts.meter_start_wh


def _no_energy(facts: SessionFacts) -> Reason | None:
    duration = _duration(facts)
    if _energy(facts) != 0 or duration is None or duration <= NO_ENERGY_AFTER:
        return None
    return Reason(ReasonCode.NO_ENERGY, f"no energy delivered in {_span(duration)}")


def _capacity_exceeded(energy_wh: int, power_w: int, duration: timedelta) -> bool:
    # Integer arithmetic: energy * 3600 s/h * 100 > power * seconds * 110.
    return energy_wh * 3600 * 100 > power_w * duration.total_seconds() * POWER_MARGIN_PERCENT


def _at_most_wh(power_w: int, duration: timedelta) -> int:
    return int(power_w * duration.total_seconds() * POWER_MARGIN_PERCENT / 100 / 3600)


def _excess_energy(facts: SessionFacts) -> Reason | None:
    energy, duration, power = _energy(facts), _duration(facts), facts.max_power_w
    if energy is None or duration is None or not power or not _capacity_exceeded(energy, power, duration):
        return None
    return Reason(
        ReasonCode.EXCESS_ENERGY,
        f"{energy:,} Wh in {_span(duration)} is more than the {power:,} W EVSE can deliver "
        f"({_at_most_wh(power, duration):,} Wh at most)",
    )


def _offline_baseline(facts: SessionFacts) -> Reason | None:
    """An offline start sometimes reports 0 instead of the register, so the whole lifetime of
    the meter would be billed to this one session."""
    duration, stop = _duration(facts), facts.meter_stop_wh
    if not facts.offline or facts.meter_start_wh != 0 or duration is None or stop is None:
        return None
    power = facts.max_power_w or FASTEST_CHARGER_W
    if not _capacity_exceeded(stop, power, duration):
        return None
    return Reason(
        ReasonCode.OFFLINE_BASELINE,
        f"started offline with meter 0 Wh, but the stop reading {stop:,} Wh is more than "
        f"{_at_most_wh(power, duration):,} Wh possible in {_span(duration)}: the start is probably "
        "a lifetime register baseline",
    )


def _meter_backwards(facts: SessionFacts) -> Reason | None:
    points: list[tuple[datetime, int, int]] = [(at, 1, wh) for at, wh in facts.register]
    if facts.started_at is not None and facts.meter_start_wh is not None:
        points.append((facts.started_at, 0, facts.meter_start_wh))
    if facts.ended_at is not None and facts.meter_stop_wh is not None:
        points.append((facts.ended_at, 2, facts.meter_stop_wh))
    highest: int | None = None
    for at, _, wh in sorted(points):
        if highest is not None and wh < highest:
            return Reason(
                ReasonCode.METER_BACKWARDS,
                f"meter ran backwards: {wh:,} Wh at {_clock(at)} after {highest:,} Wh earlier",
            )
        highest = wh if highest is None else max(highest, wh)
    start, stop = facts.meter_start_wh, facts.meter_stop_wh
    if start is not None and stop is not None and stop < start:
        return Reason(ReasonCode.METER_BACKWARDS, f"meter stop {stop:,} Wh is below meter start {start:,} Wh")
    return None


def _span(duration: timedelta) -> str:
    minutes = int(duration.total_seconds()) // 60
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _clock(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")
