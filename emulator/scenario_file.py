"""Reading a scenario from TOML, strictly.

An unknown key or a value of the wrong type stops the run with a message naming it: a typo
in a fault section would otherwise run a fleet that silently tests nothing.
"""

import tomllib
from pathlib import Path
from typing import Any, cast

from ocpp.v16.enums import ChargePointErrorCode

from emulator.scenario import (
    FAULT_KINDS,
    MALFORMED_FRAMES,
    SESSION_LENGTH_KINDS,
    VERSION_MIXES,
    Arrivals,
    FaultKind,
    FaultRule,
    MalformedFrame,
    Network,
    Scenario,
    ScenarioError,
    SessionLength,
    SessionLengthKind,
    StationGroup,
    VersionMix,
)
from emulator.station import OcppVersion

VERSIONS: tuple[OcppVersion, ...] = ("1.6", "2.0.1")
ERROR_CODES = frozenset(code.value for code in ChargePointErrorCode)
RULE_KEYS = frozenset({"kind", "stations", "percent", "at_s", "spread_s", "every_s", "duration_s"})
# The settings each fault kind understands, beyond RULE_KEYS.
KIND_KEYS: dict[str, frozenset[str]] = {
    "faulted": frozenset({"evse", "error_code"}),
    "meter_reset": frozenset({"evse"}),
    "slow_responses": frozenset({"delay_s"}),
    "clock_skew": frozenset({"offset_s"}),
    "duplicates": frozenset({"actions"}),
    "malformed": frozenset({"frame"}),
}
# Faults that happen at an instant rather than last a while.
INSTANT = frozenset({"drop", "malformed", "meter_reset"})


class _Table:
    """A TOML table read key by key; `close()` refuses keys nobody asked for."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(f"{where} must be a table")
        self.data: dict[str, Any] = data
        self.where = where
        self._read: set[str] = set()

    def _get(self, key: str) -> Any:
        self._read.add(key)
        return self.data.get(key)

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _fail(self, key: str, wanted: str) -> ScenarioError:
        return ScenarioError(f"{self._name(key)} must be {wanted}, not {self.data[key]!r}")

    def number(self, key: str, default: float, *, low: float = 0.0, high: float = float("inf")) -> float:
        value = self.optional_number(key, low=low, high=high)
        return default if value is None else value

    def optional_number(self, key: str, *, low: float = 0.0, high: float = float("inf")) -> float | None:
        value = self._get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self._fail(key, f"a number from {low:g} to {high:g}")
        return float(value)

    def integer(self, key: str, default: int, *, low: int = 1) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self._fail(key, f"a whole number of at least {low}")
        return value

    def text(self, key: str, default: str, choices: tuple[str, ...] | frozenset[str] = ()) -> str:
        value = self.optional_text(key)
        if value is not None and choices and value not in choices:
            raise self._fail(key, f"one of {', '.join(sorted(choices))}")
        return default if value is None else value

    def optional_text(self, key: str) -> str | None:
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._fail(key, "a list of strings")
        return tuple(value)

    def table(self, key: str) -> "_Table":
        return _Table(self._get(key) or {}, self._name(key))

    def tables(self, key: str) -> list["_Table"]:
        value = self._get(key) or []
        if not isinstance(value, list):
            raise self._fail(key, "an array of tables ([[...]])")
        return [_Table(item, f"{key}[{index}]") for index, item in enumerate(value)]

    def close(self, allowed: frozenset[str] | None = None) -> None:
        unknown = sorted(set(self.data) - (self._read if allowed is None else allowed))
        if unknown:
            raise ScenarioError(f"unknown setting {self._name(unknown[0])}")


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; errors name the file and the setting."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return parse_scenario(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


def parse_scenario(data: dict[str, Any]) -> Scenario:
    """Build a scenario from parsed TOML."""
    root = _Table(data, "")
    scenario = Scenario(
        stations=tuple(_group(table) for table in root.tables("stations")),
        arrivals=_arrivals(root.table("arrivals")),
        sessions=_sessions(root.table("sessions")),
        id_tokens=_tokens(root.table("tokens")),
        network=_network(root.table("network")),
        faults=tuple(_fault(table) for table in root.tables("faults")),
        seed=root.integer("seed", 1, low=0),
    )
    root.close()
    return scenario


def _group(table: _Table) -> StationGroup:
    group = StationGroup(
        count=table.integer("count", 1),
        prefix=table.text("prefix", "EMU-"),
        first=table.integer("first", 1, low=0),
        versions=_versions(table),
        evses=table.integer("evses", 2),
        password=table.optional_text("password"),
        meter_interval_s=table.number("meter_interval_s", 10.0, low=0.001),
        max_power_w=table.integer("max_power_w", 22000),
    )
    table.close()
    return group


def _versions(table: _Table) -> VersionMix:
    """`"1.6"`, `"2.0.1"`, `"mixed"` (alternating) or weights like `{ "1.6" = 3, "2.0.1" = 1 }`."""
    if not isinstance(table.data.get("version"), dict):
        return VERSION_MIXES[table.text("version", "1.6", tuple(VERSION_MIXES))]
    weights = table.table("version")
    pairs = tuple((version, weights.number(version, 0.0)) for version in VERSIONS)
    weights.close()
    if sum(weight for _, weight in pairs) <= 0:
        raise ScenarioError(f"{weights.where} needs a positive weight")
    return tuple(pair for pair in pairs if pair[1] > 0)


def _arrivals(table: _Table) -> Arrivals:
    kind = table.text("kind", "per_tick", ("poisson", "per_tick"))
    if kind == "poisson":
        arrivals = Arrivals(rate_per_hour=table.number("rate_per_hour", 1.0))
    else:
        arrivals = Arrivals(probability=table.number("probability", 0.05, high=1.0))
    table.close()
    return arrivals


def _sessions(table: _Table) -> SessionLength:
    lowest = table.number("min_minutes", 3.0)
    sessions = SessionLength(
        kind=cast(SessionLengthKind, table.text("kind", "uniform", SESSION_LENGTH_KINDS)),
        minutes=table.number("minutes", 30.0, low=0.001),
        min_minutes=lowest,
        max_minutes=table.number("max_minutes", max(15.0, lowest), low=lowest),
        stddev_minutes=table.number("stddev_minutes", 10.0),
    )
    table.close()
    return sessions


def _tokens(table: _Table) -> tuple[str, ...]:
    """Listed ids, plus `count` generated ones like TAG-0001 when a `prefix` is given."""
    listed = table.texts("ids")
    prefix = table.optional_text("prefix")
    count = table.integer("count", 100)
    table.close()
    generated = () if prefix is None else tuple(f"{prefix}{n:04d}" for n in range(1, count + 1))
    tokens = listed + generated
    return tokens or ("TAG-0001",)


def _network(table: _Table) -> Network:
    base = table.number("backoff_base_s", 1.0, low=0.001)
    network = Network(
        connect_concurrency=table.integer("connect_concurrency", 200),
        backoff_base_s=base,
        backoff_cap_s=table.number("backoff_cap_s", max(60.0, base), low=base),
        stable_link_s=table.number("stable_link_s", 30.0),
    )
    table.close()
    return network


def _fault(table: _Table) -> FaultRule:
    kind = table.text("kind", "", FAULT_KINDS)
    if not kind:
        raise ScenarioError(f"{table.where}.kind is missing; one of {', '.join(FAULT_KINDS)}")
    rule = FaultRule(
        kind=cast(FaultKind, kind),
        stations=table.texts("stations"),
        percent=table.number("percent", 0.0, high=100.0),
        at_s=table.number("at_s", 0.0),
        spread_s=table.number("spread_s", 0.0),
        every_s=table.optional_number("every_s", low=0.001),
        duration_s=table.optional_number("duration_s"),
        evse=table.integer("evse", 1),
        error_code=table.text("error_code", "OtherError", ERROR_CODES),
        delay_s=table.number("delay_s", 5.0),
        offset_s=table.number("offset_s", 0.0, low=float("-inf")),
        actions=table.texts("actions"),
        frame=cast(MalformedFrame, table.text("frame", "bad_json", MALFORMED_FRAMES)),
    )
    table.close(RULE_KEYS | KIND_KEYS.get(kind, frozenset()))
    if not rule.stations and rule.percent <= 0:
        raise ScenarioError(f"{table.where} hits no station: give stations = [...] or percent")
    if kind in INSTANT and rule.duration_s is not None:
        raise ScenarioError(f"{table.where}: {kind} happens at an instant and takes no duration_s")
    return rule
