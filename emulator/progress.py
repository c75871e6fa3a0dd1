"""Watching a fleet run: live figures on stderr and the summary printed at the end.

On a terminal the figures redraw in place (rich); otherwise, as in CI logs, a line is
printed every few seconds. Stdout is left for the JSON summary.
"""

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from emulator.stats import FleetStats

PLAIN_EVERY_S = 5.0


class Watch:
    """Follows a fleet's snapshots: the call rate between two of them, and the summary."""

    def __init__(self, *, show: bool = True, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._show = show
        self._live: Live | None = None
        self._started = time.monotonic()
        self._last = FleetStats()
        self._last_at = self._started
        self._printed_at = 0.0
        self.calls_per_s = 0.0

    def __enter__(self) -> "Watch":
        if self._show and self._console.is_terminal:
            self._live = Live(console=self._console, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()

    def update(self, stats: FleetStats) -> None:
        """Take a new snapshot and show it."""
        now = time.monotonic()
        if now > self._last_at:
            self.calls_per_s = (stats.calls - self._last.calls) / (now - self._last_at)
        self._last, self._last_at = stats, now
        if self._live is not None:
            self._live.update(self._table(stats), refresh=True)
        elif self._show and now - self._printed_at >= PLAIN_EVERY_S:
            self._printed_at = now
            self._console.print(self._line(stats), highlight=False)

    def _line(self, stats: FleetStats) -> str:
        return (
            f"connected {stats.connected}/{stats.stations}  charging {stats.charging}  "
            f"calls/s {self.calls_per_s:.0f}  errors {stats.errors + stats.connect_failures}  "
            f"CALLERRORs {stats.call_errors}  faults {sum(stats.faults.values())}"
        )

    def _table(self, stats: FleetStats) -> Table:
        table = Table(title="csms-emulator", title_justify="left", show_header=True)
        for column in ("connected", "charging", "calls/s", "errors", "CALLERRORs", "faults", "late ticks"):
            table.add_column(column, justify="right")
        table.add_row(
            f"{stats.connected}/{stats.stations}",
            str(stats.charging),
            f"{self.calls_per_s:.0f}",
            str(stats.errors + stats.connect_failures),
            str(stats.call_errors),
            ", ".join(f"{kind} {n}" for kind, n in sorted(stats.faults.items())) or "0",
            f"{stats.late_ticks}/{stats.ticks}",
        )
        return table

    def summary(self, stats: FleetStats, **extra: Any) -> dict[str, Any]:
        """The run in one JSON-ready object: its figures, averages and `extra` (e.g. the URL)."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return {
            **extra,
            "duration_s": round(elapsed, 1),
            "calls_per_s": round(stats.calls / elapsed, 1),
            "late_tick_ratio": round(stats.late_ticks / stats.ticks, 4) if stats.ticks else 0.0,
            **stats.as_dict(),
        }
