"""Charging profiles: what each OCPP version lets a CSMS set, and the limit that stacking gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chargepoints.rules.charging_profiles import (
    Period,
    Profile,
    Step,
    composite,
    differences,
    in_force,
    problems,
)

T0 = datetime(2026, 11, 24, tzinfo=UTC)  # a Tuesday, midnight
HOUR = 3600
FIELDS = {"periods", "stack_level", "duration_s", "min_rate", "recurrency", "start", "valid_from", "evse_id"}
FIELDS |= {"transaction", "purpose", "kind", "unit", "version"}

MAX = Profile(1, 0, "ChargingStationMaxProfile", "Absolute", "A", (Period(0, 32.0),), start=T0)
DEFAULT = Profile(2, 0, "TxDefaultProfile", "Absolute", "A", (Period(0, 16.0),), start=T0)
TX = Profile(
    3, 0, "TxProfile", "Relative", "A", (Period(0, 10.0),), transaction={"id": 7, "station_tx_id": "x"}
)


def profile(base: Profile = MAX, **changes: Any) -> Profile:
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("candidate", "evse_id", "version"),
    [
        (MAX, 0, "1.6"),
        (MAX, 0, "2.0.1"),
        (DEFAULT, 0, "1.6"),
        (DEFAULT, 2, "2.0.1"),
        (TX, 1, "1.6"),
        (TX, 1, "2.0.1"),
        (profile(kind="Recurring", recurrency="Weekly"), 0, "2.0.1"),
        (profile(periods=(Period(0, 16.1, 1), Period(60, 0.0, 3))), 0, "1.6"),
        (profile(periods=(Period(0, 16.05),)), 0, "2.0.1"),
        (profile(periods=tuple(Period(i, 1.0) for i in range(1024))), 0, "2.0.1"),
        (profile(periods=(Period(0, 1e308),)), 0, "1.6"),
        (profile(valid_from=T0, valid_to=T0 + timedelta(days=1), duration_s=60, min_rate=6.0), 0, "1.6"),
    ],
)
def test_profiles_that_may_be_sent(candidate: Profile, evse_id: int, version: str) -> None:
    assert problems(candidate, evse_id, version) == []


@pytest.mark.parametrize(
    ("candidate", "evse_id", "version", "expected"),
    [
        (profile(periods=()), 0, "1.6", ["periods is empty"]),
        (profile(periods=(Period(10, 16.0),)), 0, "1.6", ["periods[0].start_s is 10"]),
        (
            profile(periods=(Period(0, 16.0), Period(60, 8.0), Period(60, 6.0), Period(30, 6.0))),
            0,
            "2.0.1",
            ["periods[2].start_s is 60", "periods[3].start_s is 30"],
        ),
        (
            profile(periods=(Period(0, -1.0),)),
            0,
            "2.0.1",
            ["periods[0].limit is -1.0; it cannot be negative"],
        ),
        (profile(periods=(Period(0, float("nan")),)), 0, "2.0.1", ["periods[0].limit is nan"]),
        (
            profile(periods=(Period(0, 16.05),)),
            0,
            "1.6",
            ["periods[0].limit is 16.05; OCPP 1.6 takes it in steps"],
        ),
        (profile(periods=(Period(0, 16.0, 4),)), 0, "1.6", ["periods[0].phases is 4"]),
        (profile(periods=(Period(0, 16.0, 0),)), 0, "2.0.1", ["periods[0].phases is 0"]),
        (
            profile(periods=tuple(Period(i, 1.0) for i in range(1025))),
            0,
            "2.0.1",
            ["periods has 1025 entries"],
        ),
        (profile(stack_level=-1), 0, "1.6", ["stack_level is -1"]),
        (profile(duration_s=0), 0, "1.6", ["duration_s is 0"]),
        (profile(min_rate=-1.0), 0, "1.6", ["min_rate is -1.0; it cannot be negative"]),
        (profile(min_rate=6.05), 0, "1.6", ["min_rate is 6.05; OCPP 1.6"]),
        (profile(kind="Recurring"), 0, "1.6", ["recurrency is missing"]),
        (profile(kind="Recurring", recurrency="Monthly"), 0, "1.6", ["recurrency 'Monthly' is neither"]),
        (
            profile(recurrency="Daily"),
            0,
            "2.0.1",
            ["recurrency is only for Recurring profiles; this one is Absolute"],
        ),
        (profile(kind="Recurring", recurrency="Daily", start=None), 0, "1.6", ["start is missing"]),
        (profile(start=None), 0, "2.0.1", ["start is missing; an Absolute profile"]),
        (profile(TX, start=T0), 1, "2.0.1", ["start must be empty for a Relative profile"]),
        (profile(start=datetime(2026, 11, 24)), 0, "1.6", ["start has no time zone"]),
        (
            profile(valid_from=T0, valid_to=T0),
            0,
            "1.6",
            ["valid_from (2026-11-24T00:00:00+00:00) must be before"],
        ),
        (
            profile(kind="Hourly", unit="kW", purpose="Max"),
            0,
            "1.6",
            ["purpose 'Max'", "kind 'Hourly'", "unit 'kW'"],
        ),
        (MAX, 1, "2.0.1", ["evse_id is 1; a ChargingStationMaxProfile limits the whole station"]),
        (profile(transaction={"id": 7}), 0, "1.6", ["transaction is set; only a TxProfile"]),
        (profile(DEFAULT, transaction={"id": 7}), 1, "2.0.1", ["transaction is set"]),
        (DEFAULT, -1, "1.6", ["evse_id is -1"]),
        (TX, 0, "1.6", ["evse_id is 0; a TxProfile is set on the EVSE"]),
        (profile(TX, transaction={}), 1, "2.0.1", ["transaction is missing"]),
        (profile(TX, transaction={"station_tx_id": "x" * 37}), 1, "2.0.1", ["longer than the 36 characters"]),
        (profile(purpose="ChargingStationExternalConstraints"), 0, "1.6", ["does not exist in OCPP 1.6"]),
        (profile(purpose="ChargingStationExternalConstraints"), 0, "2.0.1", ["never by a CSMS (K01.FR.22)"]),
        (MAX, 0, "2.0", ["version '2.0' is not an OCPP version"]),
    ],
)
def test_problems_name_the_field(candidate: Profile, evse_id: int, version: str, expected: list[str]) -> None:
    found = problems(candidate, evse_id, version)
    assert len(found) == len(expected), found
    for sentence, start in zip(found, expected, strict=True):
        assert start in sentence and sentence.split()[0].split("[")[0] in FIELDS and sentence.endswith(".")


DAILY_MAX = Profile(
    10,
    0,
    "ChargingStationMaxProfile",
    "Recurring",
    "A",
    (Period(0, 25.0), Period(17 * HOUR, 16.0, 3)),
    recurrency="Daily",
    start=T0,
)
DEFAULT_20 = Profile(11, 0, "TxDefaultProfile", "Absolute", "A", (Period(0, 20.0),), start=T0)
NOON = T0 + timedelta(hours=12)


@pytest.mark.parametrize(
    ("profiles", "evse_id", "kwargs", "expected"),
    [
        pytest.param([], 1, {}, [Step(0, None)], id="nothing limits"),
        pytest.param(
            [(0, DAILY_MAX), (0, DEFAULT_20)],
            1,
            {},
            [Step(0, 20.0), Step(5 * HOUR, 16.0, 3), Step(12 * HOUR, 20.0)],
            id="daily maximum and a default",
        ),
        pytest.param(
            [(0, DAILY_MAX), (0, DEFAULT_20)],
            0,
            {},
            [Step(0, 25.0), Step(5 * HOUR, 16.0, 3), Step(12 * HOUR, 25.0)],
            id="the station ignores defaults",
        ),
        pytest.param(
            [(0, DEFAULT_20), (1, profile(DEFAULT_20, id=12, periods=(Period(0, 8.0),)))],
            1,
            {},
            [Step(0, 8.0)],
            id="the EVSE's own wins a tie",
        ),
        pytest.param(
            [
                (1, DEFAULT_20),
                (
                    1,
                    profile(
                        DEFAULT_20,
                        id=12,
                        stack_level=1,
                        start=NOON + timedelta(hours=1),
                        periods=(Period(0, 30.0),),
                    ),
                ),
            ],
            1,
            {},
            [Step(0, 20.0), Step(HOUR, 30.0)],
            id="a higher level takes over when it starts, even with a higher limit",
        ),
        pytest.param(
            [
                (1, DEFAULT_20),
                (
                    1,
                    profile(
                        DEFAULT_20,
                        id=12,
                        stack_level=1,
                        start=NOON,
                        duration_s=HOUR,
                        periods=(Period(0, 8.0),),
                    ),
                ),
            ],
            1,
            {},
            [Step(0, 8.0), Step(HOUR, 20.0)],
            id="duration ends a level, the lower takes over",
        ),
        pytest.param(
            [(1, DEFAULT_20), (1, profile(TX, periods=(Period(0, 32.0), Period(1800, 10.0))))],
            1,
            {"session_start": NOON - timedelta(minutes=10)},
            [Step(0, 32.0), Step(1200, 10.0)],
            id="a TxProfile overrides the default from the session start",
        ),
        pytest.param([(1, DEFAULT_20), (1, TX)], 1, {}, [Step(0, 20.0)], id="no session: no TxProfile"),
        pytest.param(
            [
                (0, profile(MAX, unit="W", periods=(Period(0, 11040.0),))),
                (0, profile(DEFAULT_20, periods=(Period(0, 6.0, 1),))),
            ],
            1,
            {},
            [Step(0, 6.0, 1)],
            id="watts become amps at volts x phases",
        ),
        pytest.param(
            [(0, profile(MAX, unit="W", periods=(Period(0, 11040.0),)))], 1, {}, [Step(0, 16.0)], id="W to A"
        ),
        pytest.param(
            [(0, profile(MAX, valid_from=NOON + timedelta(hours=1), valid_to=NOON + timedelta(hours=2)))],
            1,
            {},
            [Step(0, None), Step(HOUR, 32.0), Step(2 * HOUR, None)],
            id="valid from and to",
        ),
        pytest.param(
            [
                (
                    0,
                    profile(
                        MAX,
                        kind="Recurring",
                        recurrency="Weekly",
                        start=T0 - timedelta(days=1),
                        duration_s=2 * HOUR,
                    ),
                )
            ],
            1,
            {"duration_s": 7 * 86_400},
            [Step(0, None), Step(5 * 86_400 + 12 * HOUR, 32.0), Step(5 * 86_400 + 14 * HOUR, None)],
            id="weekly from a Monday",
        ),
    ],
)
def test_composite(
    profiles: list[tuple[int, Profile]], evse_id: int, kwargs: dict[str, Any], expected: list[Step]
) -> None:
    duration_s = kwargs.pop("duration_s", 86_400)
    assert composite(profiles, evse_id, NOON, duration_s, "A", **kwargs) == expected


def test_composite_in_watts_uses_each_period_s_phases() -> None:
    profiles = [(0, profile(DEFAULT_20, periods=(Period(0, 16.0), Period(HOUR, 16.0, 1))))]
    steps = composite(profiles, 1, T0, 2 * HOUR, "W", volts=230.0, phases=3)
    assert steps == [Step(0, 11040.0), Step(HOUR, 3680.0, 1)]


def test_a_relative_profile_without_session_counts_from_the_begin() -> None:
    relative = profile(MAX, kind="Relative", start=None, periods=(Period(0, 10.0), Period(60, 20.0)))
    assert composite([(0, relative)], 0, NOON, 120, "A") == [Step(0, 10.0), Step(60, 20.0)]


def test_a_change_inside_a_second_counts_from_that_second() -> None:
    begin = NOON - timedelta(milliseconds=300)
    steps = composite([(0, profile(MAX, start=NOON + timedelta(seconds=10)))], 1, begin, 60, "A")
    assert steps == [Step(0, None), Step(10, 32.0)]


def test_periods_far_beyond_the_window_are_no_trouble() -> None:
    far = profile(MAX, periods=(Period(0, 16.0), Period(10**15, 8.0)), duration_s=10**16)
    assert composite([(0, far)], 1, NOON, 60, "A") == [Step(0, 16.0)]


def test_a_later_profile_replaces_its_id_or_its_slot() -> None:
    first, same_slot, other_level = (
        DEFAULT_20,
        profile(DEFAULT_20, id=20),
        profile(DEFAULT_20, id=21, stack_level=1),
    )
    same_id = profile(MAX, id=21)
    history = [(1, first), (1, other_level), (1, same_slot), (2, profile(DEFAULT_20, id=22)), (0, same_id)]
    assert [p.id for _, p in in_force(history)] == [20, 22, 21]


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        ([Step(0, 16.0)], [Step(0, 16.0, 3)], []),
        ([Step(0, 16.0)], [Step(0, 16.05)], []),
        ([Step(0, None)], [Step(0, 31.9, 3)], []),
        (
            [Step(0, None), Step(60, 16.0)],
            [Step(0, 31.9)],
            ["From 60 s on the station applies 31.9, we expect 16."],
        ),
        ([Step(0, 20.0), Step(61200, 16.0)], [Step(0, 20.0), Step(61201, 16.0)], []),
        (
            [Step(0, 20.0), Step(3600, 16.0), Step(7200, 10.0)],
            [Step(0, 20.0), Step(3600, 32.0)],
            [
                "From 3600 s to 7200 s the station applies 32, we expect 16.",
                "From 7200 s on the station applies 32, we expect 10.",
            ],
        ),
        ([Step(0, 16.0, 3)], [Step(0, 16.0, 1)], ["From 0 s on the station uses 1 phases, we expect 3."]),
        ([Step(0, 16.0)], [], ["The station reports no schedule at all."]),
        ([Step(0, None)], [], []),
        ([Step(0, 16.0)], [Step(30, 16.0)], ["From 0 s to 30 s the station applies no limit, we expect 16."]),
    ],
)
def test_differences(ours: list[Step], theirs: list[Step], expected: list[str]) -> None:
    assert differences(ours, theirs) == expected
