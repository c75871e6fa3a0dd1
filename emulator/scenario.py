"""What a fleet run looks like: stations, EV arrivals, session lengths, id tokens, network
behaviour and injected faults.

A scenario is plain data, built from a TOML file (`emulator.scenario_file`) or from command-line
flags, and it is the same in every process of a multi-process run. Every random choice it
drives is seeded, so a run can be replayed.
"""

import math
import random
from dataclasses import dataclass, field
from typing import Literal, get_args

from emulator.errors import EmulatorError
from emulator.station import OcppVersion, StationSpec

FaultKind = Literal[
    "faulted",
    "drop",
    "offline",
    "slow_responses",
    "no_responses",
    "duplicates",
    "malformed",
    "clock_skew",
    "meter_reset",
    "duplicate_id",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
MalformedFrame = Literal["bad_json", "not_array", "unknown_action", "bad_payload"]
MALFORMED_FRAMES: tuple[str, ...] = get_args(MalformedFrame)
SessionLengthKind = Literal["fixed", "uniform", "exponential", "normal"]
SESSION_LENGTH_KINDS: tuple[str, ...] = get_args(SessionLengthKind)


VersionMix = tuple[tuple[OcppVersion, float], ...]
# The named mixes; "mixed" alternates the versions.
VERSION_MIXES: dict[str, VersionMix] = {
    "1.6": (("1.6", 1.0),),
    "2.0.1": (("2.0.1", 1.0),),
    "mixed": (("1.6", 1.0), ("2.0.1", 1.0)),
}


class ScenarioError(EmulatorError, ValueError):
    """A scenario that cannot run; the message names the offending setting."""


@dataclass(frozen=True, slots=True)
class StationGroup:
    """`count` alike stations numbered from `first`; `versions` are relative weights."""

    count: int
    prefix: str = "EMU-"
    first: int = 1
    versions: VersionMix = VERSION_MIXES["1.6"]
    evses: int = 2
    password: str | None = None
    meter_interval_s: float = 10.0
    max_power_w: int = 22000

    def specs(self) -> list[StationSpec]:
        """The group's stations, ids zero-padded to at least four digits (EMU-0001)."""
        width = max(4, len(str(self.first + self.count - 1)))
        return [
            StationSpec(
                station_id=f"{self.prefix}{self.first + index:0{width}d}",
                version=version,
                evse_count=self.evses,
                password=self.password,
                meter_interval_s=self.meter_interval_s,
                max_power_w=self.max_power_w,
            )
            for index, version in enumerate(interleave(self.versions, self.count))
        ]


def interleave(weights: VersionMix, count: int) -> list[OcppVersion]:
    """Versions in proportion to their weights, spread evenly (1:1 alternates) rather than in blocks."""
    total = sum(weight for _, weight in weights)
    given = dict.fromkeys((version for version, _ in weights), 0)
    chosen: list[OcppVersion] = []
    for index in range(count):
        # The version furthest behind its share goes next; ties go to the first listed.
        version = max(weights, key=lambda pair: pair[1] / total * (index + 1) - given[pair[0]])[0]
        given[version] += 1
        chosen.append(version)
    return chosen


@dataclass(frozen=True, slots=True)
class Arrivals:
    """How often an idle EVSE gets an EV: Poisson per hour, or a fixed chance per meter tick."""

    rate_per_hour: float | None = None
    probability: float = 0.05

    def chance(self, interval_s: float) -> float:
        """The chance that an EV arrives within one tick of `interval_s` seconds."""
        if self.rate_per_hour is None:
            return self.probability
        return 1.0 - math.exp(-self.rate_per_hour * interval_s / 3600.0)


@dataclass(frozen=True, slots=True)
class SessionLength:
    """How long an EV stays plugged in, in minutes; `normal` never goes below `min_minutes`."""

    kind: SessionLengthKind = "uniform"
    minutes: float = 30.0
    min_minutes: float = 3.0
    max_minutes: float = 15.0
    stddev_minutes: float = 10.0

    def sample_s(self, rng: random.Random) -> float:
        """One session length in seconds."""
        if self.kind == "fixed":
            minutes = self.minutes
        elif self.kind == "uniform":
            minutes = rng.uniform(self.min_minutes, self.max_minutes)
        elif self.kind == "exponential":
            minutes = rng.expovariate(1.0 / self.minutes)
        else:
            minutes = max(self.min_minutes, rng.gauss(self.minutes, self.stddev_minutes))
        return 60.0 * minutes


@dataclass(frozen=True, slots=True)
class Network:
    """Reconnect policy: back-off doubles from `backoff_base_s` to `backoff_cap_s` with jitter,
    and starts again from the base once a link has lasted `stable_link_s`."""

    connect_concurrency: int = 200
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    stable_link_s: float = 30.0


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One fault for some stations: explicit ids and/or a share of the fleet.

    The clock of a rule starts at each station's first connection: it strikes `at_s` later
    (plus a random part of `spread_s`, so a share of the fleet does not fail in lockstep),
    lasts `duration_s` (None: for good, or instantaneous), and repeats every `every_s`.
    """

    kind: FaultKind
    stations: tuple[str, ...] = ()
    percent: float = 0.0
    at_s: float = 0.0
    spread_s: float = 0.0
    every_s: float | None = None
    duration_s: float | None = None
    evse: int = 1
    error_code: str = "OtherError"
    delay_s: float = 5.0
    offset_s: float = 0.0
    actions: tuple[str, ...] = ()
    frame: MalformedFrame = "bad_json"


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a fleet run needs besides the CSMS URL."""

    stations: tuple[StationGroup, ...] = ()
    arrivals: Arrivals = field(default_factory=Arrivals)
    sessions: SessionLength = field(default_factory=SessionLength)
    id_tokens: tuple[str, ...] = ("TAG-0001",)
    network: Network = field(default_factory=Network)
    faults: tuple[FaultRule, ...] = ()
    seed: int = 1

    def specs(self) -> list[StationSpec]:
        """Every station of every group, refusing an id used twice."""
        specs = [spec for group in self.stations for spec in group.specs()]
        seen: set[str] = set()
        for spec in specs:
            if spec.station_id in seen:
                raise ScenarioError(f"station id {spec.station_id} is used by two station groups")
            seen.add(spec.station_id)
        return specs


FaultPlan = dict[str, tuple[FaultRule, ...]]


def plan_faults(rules: tuple[FaultRule, ...], station_ids: list[str], seed: int) -> FaultPlan:
    """Which rules hit which station, decided once for the whole fleet.

    Deciding before a multi-process run splits the fleet keeps "5 %" meaning 5 % of all
    stations, and the seed makes the same stations fail run after run.
    """
    plan: dict[str, list[FaultRule]] = {}
    known = set(station_ids)
    for index, rule in enumerate(rules):
        strangers = sorted(set(rule.stations) - known)
        if strangers:
            raise ScenarioError(f"faults[{index}] names stations not in the fleet: {', '.join(strangers)}")
        chosen = set(rule.stations)
        share = round(len(station_ids) * rule.percent / 100.0)
        chosen.update(random.Random(f"{seed}/{index}").sample(station_ids, share))
        for station_id in chosen:
            plan.setdefault(station_id, []).append(rule)
    return {station_id: tuple(hit) for station_id, hit in plan.items()}
