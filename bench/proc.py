"""Process helpers shared by the servers, the load generator and the orchestrator.

Figures are read from ``/proc`` rather than from the measured process itself, so measuring
costs the server nothing and works the same for the CSMS and for the comparison servers.
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_open_file_limit() -> int:
    """Lift the soft open-file limit to the hard one: every connection is a file on both ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (``VmRSS``), 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time ``pid`` has used so far, threads included."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name may hold spaces; the fields we want follow its closing parenthesis.
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def pin_to_cpu(pid: int, cpu: int | None) -> None:
    """Keep ``pid`` on one core so a server and the load generator never steal each other's."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {cpu})


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop when it is installed: uvicorn picks it for the CSMS, so the
    comparison servers and the load generator must use it too for the ratios to be fair."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def event_loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
