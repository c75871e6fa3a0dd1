"""Charging profile stacking and schedules, as 1.6 section 3.13 and 2.0.1 K01/K08 describe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator.profiles import Profile, ProfileStore, Supply, parse_profile, problem

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SUPPLY = Supply(volts=230.0, phases=3)


def a_profile(
    profile_id: int = 1,
    *,
    stack_level: int = 0,
    purpose: str = "TxDefaultProfile",
    kind: str = "Absolute",
    evse_id: int = 1,
    unit: str = "W",
    periods: tuple[tuple[int, float] | tuple[int, float, int], ...] = ((0, 11_000),),
    duration: int | None = None,
    recurrency: str | None = None,
) -> Profile:
    """A snake_cased 1.6 csChargingProfiles, parsed; Relative profiles get no start."""
    schedule: dict[str, Any] = {
        "charging_rate_unit": unit,
        "charging_schedule_period": [
            {"start_period": p[0], "limit": p[1], "number_phases": p[2] if len(p) > 2 else None}  # type: ignore[misc]
            for p in periods
        ],
        "duration": duration,
        "start_schedule": None if kind == "Relative" else T0.isoformat(),
    }
    data = {
        "charging_profile_id": profile_id,
        "stack_level": stack_level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": kind,
        "recurrency_kind": recurrency,
        "charging_schedule": schedule,
    }
    return parse_profile(data, evse_id)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_highest_stack_level_wins_and_the_lower_one_takes_over_where_it_ends() -> None:
    store = ProfileStore()
    store.install(a_profile())
    store.install(a_profile(2, stack_level=1, periods=((0, 4_000),), duration=600))
    assert store.limit_w(1, at(10), None, SUPPLY) == 4_000
    assert store.limit_w(1, at(700), None, SUPPLY) == 11_000
    assert store.limit_w(1, at(-10), None, SUPPLY) is None  # before the schedules begin


def test_a_tx_profile_overrides_the_default_and_the_station_maximum_caps_both() -> None:
    store = ProfileStore()
    store.install(a_profile())
    store.install(a_profile(2, purpose="TxProfile", kind="Relative", periods=((0, 16_000),)))
    assert store.limit_w(1, at(10), at(0), SUPPLY) == 16_000
    assert store.limit_w(1, at(10), None, SUPPLY) == 11_000  # no session, no TxProfile
    store.install(a_profile(3, purpose="ChargePointMaxProfile", evse_id=0))
    # The station maximum (11 kW) is shared by the two EVSEs that charge.
    assert store.limit_w(1, at(10), at(0), Supply(230.0, 3, share=2)) == 5_500
    store.end_transaction(1)
    assert store.limit_w(1, at(10), at(0), SUPPLY) == 11_000


def test_amps_become_watts_per_phase_in_use() -> None:
    store = ProfileStore()
    store.install(a_profile(unit="A", periods=((0, 16), (60, 10, 1))))
    assert store.limit_w(1, at(0), None, SUPPLY) == pytest.approx(16 * 230 * 3)
    assert store.limit_w(1, at(61), None, SUPPLY) == pytest.approx(10 * 230)


def test_a_daily_schedule_repeats_and_a_relative_one_follows_the_session() -> None:
    daily = a_profile(kind="Recurring", recurrency="Daily", periods=((0, 3_000), (3_600, 9_000)))
    assert daily.limit_at(at(3 * 86_400 + 10), None) == daily.limit_at(at(10), None)
    later = daily.limit_at(at(3 * 86_400 + 3_700), None)
    assert later is not None and later.value == 9_000
    relative = a_profile(kind="Relative", duration=60)
    assert relative.limit_at(at(100), at(90)) is not None
    assert relative.limit_at(at(100), at(30)) is None  # past its duration
    assert relative.limit_at(at(100), None) is None  # no session to be relative to


def test_the_composite_merges_equal_steps_and_caps_at_the_hardware() -> None:
    store = ProfileStore()
    store.install(a_profile(periods=((0, 30_000), (600, 7_000), (1_200, 7_000))))
    steps = store.composite(1, T0, 1_800, None, SUPPLY, hardware_w=22_000)
    assert steps == [(0, 22_000), (600, 7_000)]


def test_installing_replaces_the_same_id_or_slot_and_clearing_filters() -> None:
    store = ProfileStore()
    store.install(a_profile())
    store.install(a_profile(1, stack_level=2))
    store.install(a_profile(7, stack_level=2))
    assert [(p.id, p.stack_level) for p in store.profiles] == [(7, 2)]
    assert not store.clear(purpose="Tx")
    assert store.clear(stack_level=2) and not store.profiles


def test_a_2_0_1_profile_parses_like_a_1_6_one() -> None:
    schedule = {
        "id": 1,
        "charging_rate_unit": "A",
        "start_schedule": T0.isoformat(),
        "charging_schedule_period": [{"start_period": 0, "limit": 32.0}],
    }
    data = {
        "id": 5,
        "stack_level": 1,
        "charging_profile_purpose": "ChargingStationMaxProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": [schedule],
    }
    profile = parse_profile(data, 0)
    assert (profile.id, profile.purpose, profile.unit, profile.periods[0].limit) == (
        5,
        "StationMax",
        "A",
        32.0,
    )
    with pytest.raises(ValueError, match="cannot be set"):
        parse_profile({**data, "charging_profile_purpose": "ChargingStationExternalConstraints"}, 0)


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        (a_profile(stack_level=9), "stack level"),
        (a_profile(purpose="ChargePointMaxProfile", evse_id=1), "whole station"),
        (a_profile(kind="Recurring"), "recurrence"),
        (a_profile(periods=((30, 1_000),)), "start at 0"),
    ],
)
def test_profiles_a_station_refuses(profile: Profile, reason: str) -> None:
    found = problem(profile, max_stack_level=8, max_periods=24)
    assert found is not None and reason in found
