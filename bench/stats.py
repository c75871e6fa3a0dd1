"""Latency recording and the arithmetic on the final figures (percentiles, ratios, targets)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

Figures = dict[str, object]

# Figures compared between servers; each is a path into a target's result.
RATIO_FIGURES = (
    ("connections_held",),
    ("rss_idle_kib",),
    ("rss_per_idle_connection_kib",),
    ("steady", "calls_per_s"),
    ("steady", "p50_ms"),
    ("steady", "p95_ms"),
    ("steady", "p99_ms"),
    ("burst", "calls_per_s"),
    ("burst", "p50_ms"),
    ("burst", "p95_ms"),
    ("burst", "p99_ms"),
)


@dataclass
class Recorder:
    """Outcomes of one phase. Errors keep a few samples so a failing run says why."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def ok(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def failed(self, reason: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(reason[:200])

    def summary(self, seconds: float) -> Figures:
        ordered = sorted(self.latencies)
        figures: Figures = {
            "calls": len(ordered),
            "errors": self.errors,
            "seconds": round(seconds, 3),
            "calls_per_s": round(len(ordered) / seconds, 1) if seconds > 0 else 0.0,
            "p50_ms": percentile_ms(ordered, 50),
            "p95_ms": percentile_ms(ordered, 95),
            "p99_ms": percentile_ms(ordered, 99),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
        }
        if self.error_samples:
            figures["error_samples"] = self.error_samples
        return figures


def percentile_ms(ordered: list[float], pct: float) -> float | None:
    """Nearest-rank percentile: always a latency that was really observed."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1] * 1000, 2)


def lookup(result: Mapping[str, object], path: tuple[str, ...]) -> float | None:
    value: object = result
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def ratios(result: Mapping[str, object], baseline: Mapping[str, object]) -> Figures:
    """``result / baseline`` for each compared figure both have (above 1 = more than baseline)."""
    out: Figures = {}
    for path in RATIO_FIGURES:
        mine, theirs = lookup(result, path), lookup(baseline, path)
        if mine is not None and theirs:
            out[".".join(path)] = round(mine / theirs, 3)
    return out
