"""Pure rules, table-tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargepoints.model import AuthorizationStatus, Sample, TokenStatus
from chargepoints.rules.authorization import StoredToken, decide
from chargepoints.rules.identity import is_valid_station_id
from chargepoints.rules.metering import normalise, register_readings, widen

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
PAST, FUTURE = NOW - timedelta(seconds=1), NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("token", "busy", "expected"),
    [
        (None, False, AuthorizationStatus.UNKNOWN),
        (StoredToken(TokenStatus.ACCEPTED), False, AuthorizationStatus.ACCEPTED),
        (StoredToken(TokenStatus.ACCEPTED, FUTURE), False, AuthorizationStatus.ACCEPTED),
        (StoredToken(TokenStatus.ACCEPTED, PAST), False, AuthorizationStatus.EXPIRED),
        (StoredToken(TokenStatus.ACCEPTED, NOW), False, AuthorizationStatus.EXPIRED),
        (StoredToken(TokenStatus.EXPIRED), False, AuthorizationStatus.EXPIRED),
        (StoredToken(TokenStatus.BLOCKED, PAST), True, AuthorizationStatus.BLOCKED),
        (StoredToken(TokenStatus.INVALID), False, AuthorizationStatus.INVALID),
        (StoredToken(TokenStatus.ACCEPTED), True, AuthorizationStatus.CONCURRENT_TX),
        (StoredToken(TokenStatus.ACCEPTED, master_pass=True), True, AuthorizationStatus.ACCEPTED),
        (StoredToken(TokenStatus.ACCEPTED, PAST), True, AuthorizationStatus.EXPIRED),
    ],
)
def test_authorization(token: StoredToken | None, busy: bool, expected: AuthorizationStatus) -> None:
    assert decide(token, now=NOW, in_other_transaction=busy).status is expected


def test_authorization_carries_expiry_and_group() -> None:
    result = decide(StoredToken(TokenStatus.ACCEPTED, FUTURE, "FLEET"), now=NOW)
    assert (result.expires_at, result.group_id) == (FUTURE, "FLEET")


@pytest.mark.parametrize(
    ("value", "unit", "measurand", "expected"),
    [
        (1.5, "kWh", "Energy.Active.Import.Register", (1500.0, "Wh")),
        (7.2, "kW", "Power.Active.Import", (7200.0, "W")),
        (230.0, "V", "Voltage", (230.0, "V")),
        (12.0, None, "Energy.Active.Import.Register", (12.0, "Wh")),
        (80.0, None, "SoC", (80.0, "Percent")),
        (16.0, None, "Current.Import", (16.0, "A")),
    ],
)
def test_normalise(value: float, unit: str | None, measurand: str, expected: tuple[float, str]) -> None:
    assert normalise(value, unit, measurand) == expected


def test_register_readings_ignore_phases_and_other_measurands() -> None:
    samples = [
        Sample(NOW, "Energy.Active.Import.Register", 10.0, "Wh"),
        Sample(NOW, "Energy.Active.Import.Register", 3.0, "Wh", phase="L1"),
        Sample(NOW, "Power.Active.Import", 7000.0, "W"),
    ]
    assert register_readings(samples) == [10.0]


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1))
def test_widen_is_order_independent(readings: list[int]) -> None:
    start = last = None
    for reading in readings:
        start, last = widen(start, last, reading)
    assert (start, last) == (min(readings), max(readings))


@pytest.mark.parametrize(
    ("station_id", "valid"),
    [
        ("CP-1", True),
        ("a" * 48, True),
        ("a" * 49, False),
        ("", False),
        ("has space", False),
        ("colon:id", False),
        ("sta*tion_=+|@.x", True),
        ("ünï", False),
        ("../etc", False),
    ],
)
def test_station_ids(station_id: str, valid: bool) -> None:
    assert is_valid_station_id(station_id) is valid
