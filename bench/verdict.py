"""The issue's targets, judged on the CSMS's figures.

A target whose scenario this run did not exercise (fewer stations, a lower rate, a smaller
burst) is ``None`` rather than ``False``: not measured is not failed.
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.stats import Figures, lookup

HELD_TARGET = 10_000
STEADY_RATE, STEADY_P99_MS = 1_000, 50.0
PEAK_STATIONS, PEAK_CALLS_PER_S = 100, 3_000
IDLE_KIB_PER_CONNECTION = 30.0


def targets(result: Mapping[str, object], *, stations: int, rate: float, burst_stations: int) -> Figures:
    held = lookup(result, ("connections_held",)) or 0
    steady_rate = lookup(result, ("steady", "calls_per_s")) or 0
    steady_p99 = lookup(result, ("steady", "p99_ms"))
    steady_errors = lookup(result, ("steady", "errors")) or 0
    peak = lookup(result, ("burst", "calls_per_s")) or 0
    peak_errors = lookup(result, ("burst", "errors")) or 0
    per_connection = lookup(result, ("rss_per_idle_connection_kib",))
    return {
        "stations_10000_held": held >= HELD_TARGET if stations >= HELD_TARGET else None,
        "steady_1000_calls_per_s_p99_under_50_ms": (
            steady_rate >= 0.99 * STEADY_RATE
            and steady_p99 is not None
            and steady_p99 < STEADY_P99_MS
            and steady_errors == 0
            if rate >= STEADY_RATE
            else None
        ),
        "peak_3000_persisted_calls_per_s_100_stations": (
            peak >= PEAK_CALLS_PER_S and peak_errors == 0 if burst_stations >= PEAK_STATIONS else None
        ),
        "rss_per_idle_connection_under_30_kib": (
            per_connection <= IDLE_KIB_PER_CONNECTION if per_connection is not None else None
        ),
    }
