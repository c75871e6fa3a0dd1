"""Scenario files: what they describe, how strictly they are read, and a fleet run from one."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from chargepoints.tables import ConnectorRow, StationRow
from emulator.cli import parse_args, scenario_from_args
from emulator.scenario import Arrivals, FaultRule, ScenarioError, SessionLength, StationGroup, plan_faults
from emulator.scenario_file import load_scenario, parse_scenario
from tests.builders import a_station, a_token
from tests.conftest import LiveServer

EXAMPLE = Path(__file__).parents[2] / "emulator" / "scenarios" / "example.toml"
EMULATOR = str(Path(sys.executable).with_name("csms-emulator"))


def test_the_shipped_example_describes_a_mixed_site() -> None:
    scenario = load_scenario(EXAMPLE)
    specs = scenario.specs()
    assert len(specs) == 50
    assert [s.version for s in specs[:4]] == ["1.6", "2.0.1", "1.6", "2.0.1"]
    dc = [s for s in specs if s.station_id.startswith("DC-")]
    assert sum(s.version == "2.0.1" for s in dc) == 8 and {s.evse_count for s in dc} == {1}
    assert {s.password for s in dc} == {"change-me-dc"}
    assert scenario.arrivals.rate_per_hour == 1.5 and len(scenario.id_tokens) == 52
    assert {rule.kind for rule in scenario.faults} == {
        "faulted", "drop", "offline", "slow_responses", "no_responses", "duplicates",
        "malformed", "clock_skew", "meter_reset", "duplicate_id",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"stations": [{"count": 2, "evse": 1}]}, "stations[0].evse"),
        ({"stations": [{"count": "2"}]}, "stations[0].count"),
        ({"stations": [{"version": "1.5"}]}, "stations[0].version"),
        ({"sessions": {"kind": "forever"}}, "sessions.kind"),
        ({"arrivals": {"kind": "per_tick", "probability": 2}}, "arrivals.probability"),
        ({"faults": [{"kind": "earthquake", "percent": 1}]}, "faults[0].kind"),
        ({"faults": [{"kind": "drop"}]}, "faults[0] hits no station"),
        ({"faults": [{"kind": "drop", "percent": 5, "duration_s": 3}]}, "takes no duration_s"),
        ({"faults": [{"kind": "drop", "percent": 5, "delay_s": 3}]}, "faults[0].delay_s"),
        ({"faults": [{"kind": "faulted", "percent": 5, "error_code": "Oops"}]}, "faults[0].error_code"),
        ({"network": {"backoff_base_s": 5, "backoff_cap_s": 1}}, "network.backoff_cap_s"),
        ({"tokenz": {}}, "tokenz"),
    ],
)
def test_a_mistake_is_refused_with_its_name(data: dict[str, object], named: str) -> None:
    with pytest.raises(ScenarioError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_scenario(data)


def test_version_weights_interleave_rather_than_block() -> None:
    group = StationGroup(count=8, versions=(("1.6", 1.0), ("2.0.1", 3.0)))
    assert [s.version for s in group.specs()] == ["2.0.1", "1.6", "2.0.1", "2.0.1"] * 2


def test_a_fleet_percentage_is_exact_and_the_same_every_run() -> None:
    ids = [f"S-{n}" for n in range(200)]
    rules = (FaultRule("drop", percent=5), FaultRule("faulted", stations=("S-7",)))
    plan = plan_faults(rules, ids, seed=3)
    assert sum("drop" in [r.kind for r in hit] for hit in plan.values()) == 10
    assert plan == plan_faults(rules, ids, seed=3) != plan_faults(rules, ids, seed=4)
    with pytest.raises(ScenarioError, match="S-999"):
        plan_faults((FaultRule("drop", stations=("S-999",)),), ids, seed=3)


def test_arrivals_and_session_lengths_follow_their_distributions() -> None:
    poisson = Arrivals(rate_per_hour=6.0)
    assert poisson.chance(600) == pytest.approx(1 - 2.718281828**-1, rel=1e-6)
    assert Arrivals(probability=0.3).chance(10) == 0.3
    rng = random.Random(1)
    assert SessionLength("fixed", minutes=2).sample_s(rng) == 120
    assert all(
        60 <= SessionLength("uniform", min_minutes=1, max_minutes=2).sample_s(rng) <= 120 for _ in range(50)
    )
    normal = [
        SessionLength("normal", minutes=10, stddev_minutes=20, min_minutes=5).sample_s(rng) for _ in range(50)
    ]
    assert min(normal) == 300


def test_command_line_flags_replace_the_stations_and_override_the_rest() -> None:
    args = parse_args(["--scenario", str(EXAMPLE), "--password", "P", "--tokens", "A,B"])
    scenario = scenario_from_args(args)
    assert len(scenario.specs()) == 50 and {s.password for s in scenario.specs()} == {"P"}
    assert scenario.id_tokens == ("A", "B") and scenario.arrivals.rate_per_hour == 1.5

    replaced = scenario_from_args(parse_args(["--scenario", str(EXAMPLE), "--count", "3", "--ocpp", "2.0.1"]))
    assert [s.station_id for s in replaced.specs()] == ["EMU-0001", "EMU-0002", "EMU-0003"]
    assert {s.version for s in replaced.specs()} == {"2.0.1"}


async def test_a_scenario_file_runs_a_fleet_against_the_server(server: LiveServer, tmp_path: Path) -> None:
    scenario = tmp_path / "site.toml"
    scenario.write_text(
        """
        [[stations]]
        count = 2
        prefix = "AC-"
        version = "mixed"
        evses = 3
        password = "ac-secret-0001"
        meter_interval_s = 0.05

        [[stations]]
        count = 1
        prefix = "DC-"
        version = "2.0.1"
        evses = 1
        password = "dc-secret-0001"

        [arrivals]
        kind = "per_tick"
        probability = 1.0

        [tokens]
        prefix = "TAG-"
        count = 8
        """
    )
    for station_id, password in [("AC-0001", "ac"), ("AC-0002", "ac"), ("DC-0001", "dc")]:
        await a_station(server.system, station_id, password=f"{password}-secret-0001")
    for n in range(1, 9):
        await a_token(server.system, f"TAG-{n:04d}")
    process = await asyncio.create_subprocess_exec(
        EMULATOR, "--url", server.ws, "--scenario", str(scenario), "--duration", "1.5", "--quiet",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 10)

    summary = json.loads(out)
    assert process.returncode == 0
    assert summary["stations"] == summary["peak_connected"] == 3 and summary["sessions_started"] >= 2
    async with server.system.sessions() as session:
        stations = {row.id: row for row in (await session.execute(select(StationRow))).scalars()}
        connectors = list((await session.execute(select(ConnectorRow))).scalars())
    assert {sid: row.ocpp_version for sid, row in stations.items()} == {
        "AC-0001": "1.6", "AC-0002": "2.0.1", "DC-0001": "2.0.1"
    }  # fmt: skip
    assert sorted((c.station_id, c.evse_id) for c in connectors if c.evse_id) == [
        ("AC-0001", 1), ("AC-0001", 2), ("AC-0001", 3), ("AC-0002", 1), ("AC-0002", 2), ("AC-0002", 3),
        ("DC-0001", 1),
    ]  # fmt: skip
