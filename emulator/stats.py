"""Fleet figures: live counters bumped by the stations, and snapshots that add up across processes.

One event loop runs a whole fleet, so the counters are plain integers, bumped without locks.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class LinkCounters:
    """Frames counted on the wire by every station's connection wrapper."""

    calls: int = 0
    call_errors: int = 0
    answers_delayed: int = 0
    answers_withheld: int = 0
    duplicates_sent: int = 0
    malformed_sent: int = 0


@dataclass(slots=True)
class PilotCounters:
    """What the autopilots did; a tick is one meter interval of one station.

    A tick is late when it starts more than `LATE_AFTER_S` after it was due: the event loop
    was too busy to keep the fleet's pace.
    """

    connects: int = 0
    connect_failures: int = 0
    errors: int = 0
    sessions_started: int = 0
    sessions_ended: int = 0
    ticks: int = 0
    late_ticks: int = 0


LATE_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class FleetStats:
    """A snapshot of a fleet, or the sum of several (one per process: the peaks then add up
    even if they were not simultaneous)."""

    stations: int = 0
    connected: int = 0
    peak_connected: int = 0
    charging: int = 0
    calls: int = 0
    call_errors: int = 0
    answers_delayed: int = 0
    answers_withheld: int = 0
    duplicates_sent: int = 0
    malformed_sent: int = 0
    connects: int = 0
    connect_failures: int = 0
    errors: int = 0
    sessions_started: int = 0
    sessions_ended: int = 0
    ticks: int = 0
    late_ticks: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        stations: int,
        connected: int,
        peak_connected: int,
        charging: int,
        link: LinkCounters,
        pilot: PilotCounters,
        faults: Counter[str],
    ) -> "FleetStats":
        """A snapshot of live counters."""
        return cls(
            stations=stations,
            connected=connected,
            peak_connected=peak_connected,
            charging=charging,
            faults=dict(faults),
            **asdict(link),
            **asdict(pilot),
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the JSON summary."""
        return asdict(self)


def merge(parts: Iterable[FleetStats]) -> FleetStats:
    """The sum of the snapshots of the processes sharing one fleet."""
    totals: dict[str, int] = {}
    faults: Counter[str] = Counter()
    for part in parts:
        for each in fields(FleetStats):
            if each.name != "faults":
                totals[each.name] = totals.get(each.name, 0) + getattr(part, each.name)
        faults.update(part.faults)
    return FleetStats(**totals, faults=dict(faults))
