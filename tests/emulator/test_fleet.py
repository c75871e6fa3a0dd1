"""The fleet runner as a library (`Fleet`, `run_fleet`) and as `csms-emulator`, against the real server."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from chargepoints.tables import StationRow, TransactionRow
from emulator import Fleet, StationSpec, run_fleet
from emulator.scenario import Arrivals, Scenario
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

EMULATOR = str(Path(sys.executable).with_name("csms-emulator"))


async def _provision(server: LiveServer, ids: list[str], password: str | None = None) -> None:
    for station_id in ids:
        await a_station(server.system, station_id, password=password)


async def _rows(server: LiveServer, table: type[StationRow] | type[TransactionRow]) -> list[object]:
    async with server.system.sessions() as session:
        return list((await session.execute(select(table))).scalars())


async def test_a_fleet_in_a_test_connects_charges_and_counts(server: LiveServer) -> None:
    specs = [
        StationSpec(f"F-{n}", "1.6" if n % 2 else "2.0.1", evse_count=1, meter_interval_s=0.05)
        for n in range(4)
    ]
    await _provision(server, [spec.station_id for spec in specs])
    for n in range(4):
        await a_token(server.system, f"TAG-{n}")
    scenario = Scenario(arrivals=Arrivals(probability=1.0), id_tokens=tuple(f"TAG-{n}" for n in range(4)))

    async with Fleet(server.ws, specs, scenario=scenario) as fleet:
        await asyncio.wait_for(fleet.wait_connected(), 2)
        assert [station.spec.station_id for station in fleet.stations] == ["F-0", "F-1", "F-2", "F-3"]
        while fleet.stats().sessions_started < 2:
            await asyncio.sleep(0.02)
        stats = fleet.stats()
    assert stats.stations == stats.connected == 4 and stats.connects == 4
    assert stats.sessions_started >= 2 and stats.ticks > 0 and stats.errors == 0
    assert fleet.stats().connected == 0  # leaving the block closed every link
    rows = await _rows(server, TransactionRow)
    assert len(rows) >= 2 and {row.state for row in rows} == {"Ended"}  # type: ignore[attr-defined]


async def test_run_fleet_reports_progress_until_stopped(server: LiveServer) -> None:
    specs = [StationSpec(f"R-{n}", "1.6", evse_count=1) for n in range(3)]
    await _provision(server, [spec.station_id for spec in specs])
    progress: list[tuple[int, int]] = []
    stop = asyncio.Event()
    running = asyncio.create_task(
        run_fleet(
            server.ws,
            specs,
            stop=stop,
            id_tokens=["T"],
            session_probability=0.0,
            on_progress=lambda n, total: progress.append((n, total)),
        )
    )
    while (3, 3) not in progress:
        await asyncio.sleep(0.01)
    stop.set()
    stats = await asyncio.wait_for(running, 3)
    assert progress[-1] == (0, 3) and stats.connects == 3 and stats.sessions_started == 0


@pytest.mark.parametrize("procs", [1, 2])
async def test_the_command_line_runs_a_fleet_and_prints_a_summary(server: LiveServer, procs: int) -> None:
    ids = [f"EMU-{n:04d}" for n in range(1, 5)]
    await _provision(server, ids, password="fleet-secret-01")
    process = await asyncio.create_subprocess_exec(
        EMULATOR, "--url", server.ws, "--count", "4", "--version", "mixed", "--password", "fleet-secret-01",
        "--procs", str(procs), "--duration", "1", "--quiet",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 10)

    summary = json.loads(out)
    assert process.returncode == 0
    assert summary["stations"] == summary["peak_connected"] == summary["connects"] == 4
    assert summary["procs"] == procs and summary["calls"] >= 4 * 3  # a boot and two statuses each, at least
    stations = await _rows(server, StationRow)
    assert sorted((s.id, s.ocpp_version) for s in stations) == [  # type: ignore[attr-defined]
        ("EMU-0001", "1.6"), ("EMU-0002", "2.0.1"), ("EMU-0003", "1.6"), ("EMU-0004", "2.0.1")
    ]  # fmt: skip


async def test_a_bad_scenario_stops_the_command_with_one_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[faults]]\nkind = "drop"\n')
    process = await asyncio.create_subprocess_exec(
        EMULATOR, "--scenario", str(scenario), stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 1
    assert (
        err.decode().strip()
        == f"csms-emulator: {scenario}: faults[0] hits no station: give stations = [...] or percent"
    )
