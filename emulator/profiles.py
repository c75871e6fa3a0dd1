"""Smart charging: charging profiles, how they stack, and the limit they set.

Both OCPP versions share the rules (1.6 section 3.13, 2.0.1 K01 and K08): within one purpose
the valid profile with the highest stack level that has a period at time t sets the limit,
and a lower one takes over where the higher has no period. A TxProfile overrides a
TxDefaultProfile for its transaction; the station-wide maximum caps the sum of all EVSEs.
Payload keys arrive snake_cased by the `ocpp` library and match in both versions.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Purpose = Literal["StationMax", "TxDefault", "Tx"]
Unit = Literal["A", "W"]
# ChargingStationExternalConstraints is set by local energy management, never by a CSMS (K01.FR.22).
PURPOSES: dict[str, Purpose] = {
    "ChargePointMaxProfile": "StationMax",
    "ChargingStationMaxProfile": "StationMax",
    "TxDefaultProfile": "TxDefault",
    "TxProfile": "Tx",
}
RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(weeks=1)}


@dataclass(frozen=True, slots=True)
class Period:
    """A limit from `start_s` seconds into the schedule; `phases` None means all of them."""

    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit in force at one moment, in the unit its schedule uses."""

    value: float
    unit: Unit
    phases: int | None = None

    def watts(self, volts: float, phases: int) -> float:
        """The limit as power; amps are per phase, so they scale with the phases in use."""
        if self.unit == "W":
            return self.value
        return self.value * volts * (self.phases or phases)


@dataclass(frozen=True, slots=True)
class Profile:
    """One installed charging profile; `evse_id` 0 stands for the whole station."""

    id: int
    evse_id: int
    stack_level: int
    purpose: Purpose
    kind: str
    unit: Unit
    periods: tuple[Period, ...]
    start: datetime | None = None
    duration_s: int | None = None
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None

    def _anchor(self, at: datetime, session_start: datetime | None) -> datetime | None:
        """When period 0 begins, as seen at `at` (a recurring schedule restarts every day or week)."""
        if self.kind == "Relative":
            return session_start
        start = self.start or self.valid_from
        if start is None or self.kind != "Recurring":
            return start
        step = RECURRENCE[self.recurrency or "Daily"]
        return start + step * ((at - start) // step)

    def limit_at(self, at: datetime, session_start: datetime | None) -> Limit | None:
        """The limit this profile sets at `at`, or None where it has nothing to say."""
        if (self.valid_from and at < self.valid_from) or (self.valid_to and at >= self.valid_to):
            return None
        anchor = self._anchor(at, session_start)
        if anchor is None or at < anchor:
            return None
        offset = (at - anchor).total_seconds()
        if self.duration_s is not None and offset >= self.duration_s:
            return None
        current = None
        for period in self.periods:
            if period.start_s > offset:
                break
            current = period
        return None if current is None else Limit(current.limit, self.unit, current.phases)

    def changes(self, begin: datetime, end: datetime, session_start: datetime | None) -> set[datetime]:
        """Moments strictly inside (begin, end) at which this profile's limit may change."""
        points = {moment for moment in (self.valid_from, self.valid_to) if moment is not None}
        anchor = self._anchor(begin, session_start)
        step = RECURRENCE[self.recurrency or "Daily"] if self.kind == "Recurring" else None
        while anchor is not None and anchor < end:
            points.update(anchor + timedelta(seconds=period.start_s) for period in self.periods)
            if self.duration_s is not None:
                points.add(anchor + timedelta(seconds=self.duration_s))
            anchor = anchor + step if step is not None else None
        return {point for point in points if begin < point < end}


def rate_unit(value: str | None) -> Unit | None:
    """A chargingRateUnit as the model's unit (None stays None: the caller picks)."""
    if value is None:
        return None
    return "A" if value == "A" else "W"


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def parse_profile(data: Mapping[str, Any], evse_id: int) -> Profile:
    """A profile from a snake_cased 1.6 csChargingProfiles or 2.0.1 chargingProfile.

    Raises ValueError for a purpose a CSMS may not set.
    """
    purpose = PURPOSES.get(data["charging_profile_purpose"])
    if purpose is None:
        raise ValueError(f"purpose {data['charging_profile_purpose']} cannot be set by a CSMS")
    schedule = data["charging_schedule"]
    if isinstance(schedule, list):  # 2.0.1 allows up to three; the first is the one for AC/DC charging
        schedule = schedule[0]
    periods = tuple(
        Period(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
        for p in schedule["charging_schedule_period"]
    )
    transaction_id = data.get("transaction_id")
    return Profile(
        id=int(data["charging_profile_id"] if "charging_profile_id" in data else data["id"]),
        evse_id=evse_id,
        stack_level=int(data["stack_level"]),
        purpose=purpose,
        kind=data["charging_profile_kind"],
        unit="A" if schedule["charging_rate_unit"] == "A" else "W",
        periods=periods,
        start=_moment(schedule.get("start_schedule")),
        duration_s=schedule.get("duration"),
        recurrency=data.get("recurrency_kind"),
        valid_from=_moment(data.get("valid_from")),
        valid_to=_moment(data.get("valid_to")),
        transaction_id=None if transaction_id is None else str(transaction_id),
    )


def problem(profile: Profile, *, max_stack_level: int, max_periods: int) -> str | None:
    """Why a station with these limits refuses the profile, or None when it takes it."""
    if profile.stack_level > max_stack_level:
        return f"stack level {profile.stack_level} above {max_stack_level}"
    if not profile.periods or len(profile.periods) > max_periods:
        return f"{len(profile.periods)} periods; 1 to {max_periods} allowed"
    if profile.periods[0].start_s != 0:
        return "the first period must start at 0"
    if profile.purpose == "StationMax" and profile.evse_id != 0:
        return "a station maximum applies to the whole station only"
    if profile.kind == "Recurring" and profile.recurrency not in RECURRENCE:
        return "a recurring profile needs Daily or Weekly recurrence"
    return None


def _winner(profiles: Iterable[Profile], at: datetime, session_start: datetime | None) -> Limit | None:
    """The limit of the highest stack level that has a period at `at`; EVSE-specific wins ties."""
    ranked = sorted(profiles, key=lambda p: (p.stack_level, p.evse_id != 0), reverse=True)
    for profile in ranked:
        limit = profile.limit_at(at, session_start)
        if limit is not None:
            return limit
    return None


@dataclass(frozen=True, slots=True)
class Supply:
    """What converts amps to watts and shares the station maximum at one EVSE."""

    volts: float
    phases: int
    share: int = 1


@dataclass(slots=True)
class ProfileStore:
    """The profiles a station has installed."""

    profiles: list[Profile] = field(default_factory=list)

    def install(self, profile: Profile) -> None:
        """Add a profile, replacing one with its id or its purpose, stack level and EVSE."""
        slot = (profile.purpose, profile.stack_level, profile.evse_id)
        self.profiles = [
            p for p in self.profiles if p.id != profile.id and (p.purpose, p.stack_level, p.evse_id) != slot
        ]
        self.profiles.append(profile)

    def clear(
        self,
        *,
        profile_id: int | None = None,
        evse_id: int | None = None,
        purpose: Purpose | None = None,
        stack_level: int | None = None,
    ) -> bool:
        """Remove the profiles matching every given criterion; False when none matched."""

        def matches(p: Profile) -> bool:
            return (
                (profile_id is None or p.id == profile_id)
                and (evse_id is None or p.evse_id == evse_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        kept = [p for p in self.profiles if not matches(p)]
        removed = len(kept) < len(self.profiles)
        self.profiles = kept
        return removed

    def end_transaction(self, evse_id: int) -> None:
        """A TxProfile lives only as long as its transaction."""
        self.profiles = [p for p in self.profiles if not (p.purpose == "Tx" and p.evse_id == evse_id)]

    def _of(self, purpose: Purpose, evse_id: int) -> list[Profile]:
        return [p for p in self.profiles if p.purpose == purpose and p.evse_id in (0, evse_id)]

    def limit_w(
        self, evse_id: int, at: datetime, session_start: datetime | None, supply: Supply
    ) -> float | None:
        """The power the profiles allow one EVSE at `at`; None when no profile limits it."""
        limits: list[float] = []
        if evse_id != 0:
            tx = _winner(self._of("Tx", evse_id), at, session_start) if session_start else None
            tx = tx or _winner(self._of("TxDefault", evse_id), at, session_start)
            if tx is not None:
                limits.append(tx.watts(supply.volts, supply.phases))
        station = _winner(self._of("StationMax", 0), at, session_start)
        if station is not None:
            limits.append(station.watts(supply.volts, supply.phases) / max(supply.share, 1))
        return min(limits) if limits else None

    def composite(
        self,
        evse_id: int,
        begin: datetime,
        duration_s: int,
        session_start: datetime | None,
        supply: Supply,
        hardware_w: float,
    ) -> list[tuple[int, float]]:
        """(offset s, limit W) steps of the combined limit over the window; equal steps merged."""
        end = begin + timedelta(seconds=duration_s)
        anchor = session_start or begin
        points = {begin}
        for profile in self.profiles:
            if profile.evse_id in (0, evse_id):
                points |= profile.changes(begin, end, anchor)
        steps: list[tuple[int, float]] = []
        for moment in sorted(points):
            allowed = self.limit_w(evse_id, moment, anchor, supply)
            watts = hardware_w if allowed is None else min(hardware_w, allowed)
            if not steps or steps[-1][1] != watts:
                steps.append((int((moment - begin).total_seconds()), watts))
        return steps
