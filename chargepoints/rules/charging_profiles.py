"""Charging profiles in 2.0.1's words: what OCPP lets a CSMS set, and the limit a station that
follows them applies (1.6 section 3.13, 2.0.1 K01 and K08).

Both versions stack profiles alike; they differ in what may be set. 1.6 has no
ChargingStationExternalConstraints and takes limits in steps of 0.1 (its schema); 2.0.1 allows
at most 1024 periods a schedule (its schema) and leaves external constraints to the station's
own energy manager (K01.FR.22). Checking here lets the API refuse a profile with every reason at
once, before the station refuses it with one bare status.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STATION_MAX = "ChargingStationMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX = "TxProfile"
EXTERNAL = "ChargingStationExternalConstraints"
PURPOSES = (STATION_MAX, TX_DEFAULT, TX, EXTERNAL)
KINDS = ("Absolute", "Recurring", "Relative")
UNITS = ("A", "W")
RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(weeks=1)}
MAX_PERIODS_201 = 1024
"""2.0.1's schema caps chargingSchedulePeriod; 1.6 leaves it to the station's ChargingScheduleMaxPeriods."""
MAX_TX_ID_201 = 36
"""2.0.1's transactionId is a string of at most 36 characters."""
SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Period:
    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """One profile with one schedule, in 2.0.1 terms."""

    id: int
    stack_level: int
    purpose: str
    kind: str
    unit: str
    periods: tuple[Period, ...]
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    start: datetime | None = None
    duration_s: int | None = None
    min_rate: float | None = None
    transaction: dict[str, Any] = field(default_factory=dict)  # {"id": int, "station_tx_id": str}


def problems(profile: Profile, evse_id: int, version: str) -> list[str]:
    """Everything the OCPP `version` ("1.6" or "2.0.1") says is wrong with setting `profile` on
    `evse_id` (0 = the whole station); empty when it may be sent. Messages are plain sentences
    an operator understands, each naming the field."""
    if version not in ("1.6", "2.0.1"):
        return [f"version {version!r} is not an OCPP version with charging profiles (1.6 or 2.0.1)."]
    return [
        *_words(profile),
        *_periods(profile, version),
        *_rates(profile, version),
        *_timing(profile),
        *_placement(profile, evse_id, version),
    ]


def _words(profile: Profile) -> Iterator[str]:
    """Values outside OCPP's enumerations, which a station's schema check would refuse."""
    if profile.purpose not in PURPOSES:
        yield f"purpose {profile.purpose!r} is not one of {', '.join(PURPOSES)}."
    if profile.kind not in KINDS:
        yield f"kind {profile.kind!r} is not one of {', '.join(KINDS)}."
    if profile.unit not in UNITS:
        yield f"unit {profile.unit!r} is neither A nor W."
    if profile.stack_level < 0:
        yield f"stack_level is {profile.stack_level}; it must be 0 or more."


def _periods(profile: Profile, version: str) -> Iterator[str]:
    periods = profile.periods
    if not periods:
        yield "periods is empty; a schedule needs at least one period."
    elif version == "2.0.1" and len(periods) > MAX_PERIODS_201:
        yield f"periods has {len(periods)} entries; OCPP 2.0.1 allows at most {MAX_PERIODS_201}."
    if periods and periods[0].start_s != 0:
        yield f"periods[0].start_s is {periods[0].start_s}; the first period must start at 0."
    for index in range(1, len(periods)):
        before, start_s = periods[index - 1].start_s, periods[index].start_s
        if start_s <= before:
            yield (
                f"periods[{index}].start_s is {start_s}; each period must start later than "
                f"the one before ({before})."
            )
    for index, period in enumerate(periods):
        yield from _limit(f"periods[{index}].limit", period.limit, version)
        if period.phases is not None and not 1 <= period.phases <= 3:
            yield f"periods[{index}].phases is {period.phases}; a period uses 1 to 3 phases."


def _rates(profile: Profile, version: str) -> Iterator[str]:
    if profile.min_rate is not None:
        yield from _limit("min_rate", profile.min_rate, version)
    if profile.duration_s is not None and profile.duration_s <= 0:
        yield f"duration_s is {profile.duration_s}; a schedule must last longer than 0 seconds."


def _limit(name: str, value: float, version: str) -> Iterator[str]:
    if not math.isfinite(value):
        yield f"{name} is {value}; it must be a number."
    elif value < 0:
        yield f"{name} is {value}; it cannot be negative."
    elif version == "1.6" and not _in_tenths(value):
        yield f"{name} is {value}; OCPP 1.6 takes it in steps of 0.1."


def _in_tenths(value: float) -> bool:
    """Whether a float is a multiple of 0.1 as JSON writes it (16.1 is, 16.05 is not)."""
    tenths = value * 10
    return not math.isfinite(tenths) or math.isclose(tenths, round(tenths), abs_tol=1e-6)


def _timing(profile: Profile) -> Iterator[str]:
    """Kind, recurrency and the instants that anchor and bound a schedule."""
    kind, recurrency = profile.kind, profile.recurrency
    if kind == "Recurring" and recurrency is None:
        yield "recurrency is missing; a Recurring profile repeats Daily or Weekly."
    elif recurrency is not None and recurrency not in RECURRENCE:
        yield f"recurrency {recurrency!r} is neither Daily nor Weekly."
    elif recurrency is not None and kind != "Recurring":
        yield f"recurrency is only for Recurring profiles; this one is {kind}."
    if kind in ("Absolute", "Recurring") and profile.start is None:
        yield f"start is missing; an {kind} profile counts its periods from it."
    if kind == "Relative" and profile.start is not None:
        yield "start must be empty for a Relative profile: its periods count from the session's start."
    moments = {"start": profile.start, "valid_from": profile.valid_from, "valid_to": profile.valid_to}
    naive = [name for name, moment in moments.items() if moment is not None and moment.utcoffset() is None]
    yield from (f"{name} has no time zone; OCPP times are UTC instants." for name in naive)
    valid_from, valid_to = profile.valid_from, profile.valid_to
    if not naive and valid_from is not None and valid_to is not None and valid_from >= valid_to:
        yield f"valid_from ({valid_from.isoformat()}) must be before valid_to ({valid_to.isoformat()})."


def _placement(profile: Profile, evse_id: int, version: str) -> Iterator[str]:
    """Which EVSE a purpose may be set on, and which purposes belong to a transaction."""
    purpose, transaction = profile.purpose, profile.transaction
    if evse_id < 0:
        yield f"evse_id is {evse_id}; use 0 for the whole station or an EVSE number."
    if purpose == EXTERNAL and version == "1.6":
        yield f"purpose {EXTERNAL} does not exist in OCPP 1.6."
    elif purpose == EXTERNAL:
        yield f"purpose {EXTERNAL} is set by the station's own energy manager, never by a CSMS (K01.FR.22)."
    if purpose == STATION_MAX and evse_id != 0:
        yield f"evse_id is {evse_id}; a {STATION_MAX} limits the whole station, so it is set on 0."
    if purpose == TX and evse_id == 0:
        yield f"evse_id is 0; a {TX} is set on the EVSE its transaction runs on."
    if purpose == TX and not transaction:
        yield f"transaction is missing; a {TX} applies to one running transaction."
    if purpose != TX and transaction:
        yield f"transaction is set; only a {TX} belongs to a transaction, not a {purpose}."
    station_tx_id = str(transaction.get("station_tx_id", ""))
    if version == "2.0.1" and len(station_tx_id) > MAX_TX_ID_201:
        yield f"transaction {station_tx_id!r} is longer than the {MAX_TX_ID_201} characters of OCPP 2.0.1."


def in_force(history: Sequence[tuple[int, Profile]]) -> list[tuple[int, Profile]]:
    """The profiles a station keeps after these (EVSE, profile) were set in this order: a later
    one replaces any with its id, or with its EVSE, purpose and stack level (1.6 3.13.2, K01.FR.05)."""
    kept: list[tuple[int, Profile]] = []
    for evse_id, profile in history:
        slot = (evse_id, profile.purpose, profile.stack_level)
        kept = [(e, p) for e, p in kept if p.id != profile.id and (e, p.purpose, p.stack_level) != slot]
        kept.append((evse_id, profile))
    return kept


@dataclass(frozen=True, slots=True)
class Step:
    start_s: int  # seconds from the schedule's begin
    limit: float | None  # in the requested unit; None = no profile limits it
    phases: int | None = None


def composite(
    profiles: Sequence[tuple[int, Profile]],
    evse_id: int,
    begin: datetime,
    duration_s: int,
    unit: str,
    *,
    volts: float = 230.0,
    phases: int = 3,
    session_start: datetime | None = None,
) -> list[Step]:
    """The limit a station following OCPP's stacking rules applies to `evse_id` over
    [begin, begin + duration_s), as merged steps; `profiles` are (evse_id they were set on, profile).

    Within a purpose the highest stack level with a period at the time wins (set on the EVSE
    beats set on 0 at the same level); a TxProfile of the running session overrides the
    TxDefaultProfile; the station maximum (and external constraints) cap the result. EVSE 0 is
    the whole station, so only the station-wide purposes count there. Recurring schedules
    repeat from `start` both ways, bounded by valid_from/valid_to. Limits are rounded to 0.1 as
    stations report them; an instant inside a second counts from that whole second.
    """
    end = begin + timedelta(seconds=duration_s)
    relative = session_start or begin
    ranked = {purpose: _ranked(profiles, purpose, evse_id, session_start is not None) for purpose in PURPOSES}
    moments = {begin}
    for ranking in ranked.values():
        for _, profile in ranking:
            moments.update(m for m in _changes(profile, begin, end, relative) if begin < m < end)
    steps: list[Step] = []
    for moment in sorted(moments):
        value = _combined(ranked, moment, relative, unit, volts, phases)
        limit, step_phases = (None, None) if value is None else (round(value[0], 1), value[1])
        _append(steps, Step((moment - begin) // SECOND, limit, step_phases))
    return steps


def _ranked(
    profiles: Sequence[tuple[int, Profile]], purpose: str, evse_id: int, in_session: bool
) -> list[tuple[int, Profile]]:
    """The profiles of one purpose that bear on `evse_id`, the strongest first."""
    if evse_id == 0 and purpose not in (STATION_MAX, EXTERNAL):
        return []  # TxDefault on 0 applies to each EVSE, not to the station's total
    if purpose == TX and (evse_id == 0 or not in_session):
        return []
    found = [(on, p) for on, p in profiles if p.purpose == purpose and on in (0, evse_id)]
    return sorted(found, key=lambda item: (item[1].stack_level, item[0] != 0), reverse=True)


def _combined(
    ranked: dict[str, list[tuple[int, Profile]]],
    at: datetime,
    relative: datetime,
    unit: str,
    volts: float,
    phases: int,
) -> tuple[float, int | None] | None:
    """(limit in `unit`, phases of the period that sets it) at `at`; None when nothing limits."""
    session = _winner(ranked[TX], at, relative) or _winner(ranked[TX_DEFAULT], at, relative)
    found = [_winner(ranked[STATION_MAX], at, relative), _winner(ranked[EXTERNAL], at, relative), session]
    limits = [
        (_convert(period.limit, profile.unit, unit, volts * (period.phases or phases)), period.phases)
        for profile, period in (f for f in found if f is not None)
    ]
    return min(limits, key=lambda limit: limit[0]) if limits else None


def _winner(
    ranking: list[tuple[int, Profile]], at: datetime, relative: datetime
) -> tuple[Profile, Period] | None:
    for _, profile in ranking:
        period = _period_at(profile, at, relative)
        if period is not None:
            return profile, period
    return None


def _convert(value: float, unit: str, wanted: str, per_amp: float) -> float:
    if unit == wanted:
        return value
    return value * per_amp if wanted == "W" else value / per_amp


def _anchor(profile: Profile, at: datetime, relative: datetime) -> datetime | None:
    """When period 0 starts, as seen at `at`; None when the profile has no anchor."""
    if profile.kind == "Relative":
        return relative
    step = RECURRENCE.get(profile.recurrency or "") if profile.kind == "Recurring" else None
    if profile.start is None or step is None:
        return profile.start
    return profile.start + step * ((at - profile.start) // step)


def _period_at(profile: Profile, at: datetime, relative: datetime) -> Period | None:
    if (profile.valid_from and at < profile.valid_from) or (profile.valid_to and at >= profile.valid_to):
        return None
    anchor = _anchor(profile, at, relative)
    if anchor is None or at < anchor:
        return None
    offset = (at - anchor).total_seconds()
    if profile.duration_s is not None and offset >= profile.duration_s:
        return None
    current = None
    for period in profile.periods:
        if period.start_s > offset:
            break
        current = period
    return current


def _changes(profile: Profile, begin: datetime, end: datetime, relative: datetime) -> Iterator[datetime]:
    """Instants at which this profile may start, stop or change its limit (some outside the window)."""
    yield from (m for m in (profile.valid_from, profile.valid_to) if m is not None)
    anchor = _anchor(profile, begin, relative)
    step = RECURRENCE.get(profile.recurrency or "") if profile.kind == "Recurring" else None
    while anchor is not None and anchor < end:
        offsets = [period.start_s for period in profile.periods]
        offsets += [] if profile.duration_s is None else [profile.duration_s]
        horizon = (end - anchor) / SECOND  # offsets beyond the window could overflow a datetime
        yield from (anchor + timedelta(seconds=offset) for offset in offsets if offset < horizon)
        anchor = anchor + step if step is not None else None


def _append(steps: list[Step], step: Step) -> None:
    """Add a step, letting a later change within the same second win and merging equal neighbours."""
    if steps and steps[-1].start_s == step.start_s:
        steps.pop()
    if steps and (steps[-1].limit, steps[-1].phases) == (step.limit, step.phases):
        return
    steps.append(step)


def differences(
    ours: Sequence[Step], theirs: Sequence[Step], *, tolerance: float = 0.1, slack_s: int = 1
) -> list[str]:
    """Where a station's reported composite schedule differs from ours, in plain words; [] if same.

    Where ours has no limit the station may apply its own hardware limit, so that is no
    difference. Disagreements lasting `slack_s` or less are left out: the two clocks and their
    rounding to whole seconds can shift a boundary by that much.
    """
    if not theirs:
        return [] if all(s.limit is None for s in ours) else ["The station reports no schedule at all."]
    cuts = sorted({s.start_s for s in ours} | {s.start_s for s in theirs})
    found: list[tuple[int, int | None, str]] = []
    for index, cut in enumerate(cuts):
        until = cuts[index + 1] if index + 1 < len(cuts) else None
        problem = _disagreement(_at(ours, cut), _at(theirs, cut), tolerance)
        if problem is None or (until is not None and until - cut <= slack_s):
            continue
        if found and found[-1][1] == cut and found[-1][2] == problem:
            found[-1] = (found[-1][0], until, problem)
        else:
            found.append((cut, until, problem))
    return [
        f"From {start} s {'on' if until is None else f'to {until} s'} {problem}."
        for start, until, problem in found
    ]


def _at(steps: Sequence[Step], offset: int) -> Step | None:
    return next((s for s in reversed(steps) if s.start_s <= offset), None)


def _disagreement(ours: Step | None, theirs: Step | None, tolerance: float) -> str | None:
    if ours is None or ours.limit is None:
        return None
    if theirs is None or theirs.limit is None:
        return f"the station applies no limit, we expect {ours.limit:g}"
    if abs(theirs.limit - ours.limit) > tolerance + 1e-9:
        return f"the station applies {theirs.limit:g}, we expect {ours.limit:g}"
    if None not in (ours.phases, theirs.phases) and ours.phases != theirs.phases:
        return f"the station uses {theirs.phases} phases, we expect {ours.phases}"
    return None
