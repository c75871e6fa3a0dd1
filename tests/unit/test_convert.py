"""Translating OCPP payloads onto the domain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargepoints.model import AuthorizationResult, AuthorizationStatus, ChargingState, ConnectorStatus
from csms.ocpp import convert16, convert201, timestamps
from csms.ocpp.errors import V16_CODES, OcppCallError

NOW = "2026-11-24T12:00:00Z"
AT = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Available", (ConnectorStatus.AVAILABLE, ChargingState.IDLE)),
        ("Preparing", (ConnectorStatus.OCCUPIED, ChargingState.EV_CONNECTED)),
        ("Charging", (ConnectorStatus.OCCUPIED, ChargingState.CHARGING)),
        ("SuspendedEV", (ConnectorStatus.OCCUPIED, ChargingState.SUSPENDED_EV)),
        ("SuspendedEVSE", (ConnectorStatus.OCCUPIED, ChargingState.SUSPENDED_EVSE)),
        ("Finishing", (ConnectorStatus.OCCUPIED, ChargingState.EV_CONNECTED)),
        ("Reserved", (ConnectorStatus.RESERVED, None)),
        ("Unavailable", (ConnectorStatus.UNAVAILABLE, None)),
        ("Faulted", (ConnectorStatus.FAULTED, None)),
    ],
)
def test_v16_status_becomes_evse_n_connector_1(status: str, expected: tuple[object, object]) -> None:
    report = convert16.status_report("CP", {"connector_id": 3, "error_code": "NoError", "status": status}, AT)
    assert (report.evse_id, report.connector_id) == (3, 1)
    assert (report.status, report.charging_state) == expected
    assert report.error_code is None


def test_v16_connector_0_is_the_station() -> None:
    report = convert16.status_report(
        "CP", {"connector_id": 0, "error_code": "PowerMeterFailure", "status": "Faulted"}, AT
    )
    assert (report.evse_id, report.connector_id, report.error_code) == (0, 0, "PowerMeterFailure")


def test_v16_start_fingerprint_is_stable_and_distinguishes_starts() -> None:
    kw = {"connector_id": 1, "id_tag": "T", "meter_start": 5, "timestamp": NOW}
    assert (
        convert16.transaction_start("CP", kw).dedup_key
        == convert16.transaction_start("CP", dict(kw)).dedup_key
    )
    other = convert16.transaction_start("CP", {**kw, "meter_start": 6})
    assert other.dedup_key != convert16.transaction_start("CP", kw).dedup_key


def test_v16_unknown_token_is_invalid_and_carries_expiry() -> None:
    assert convert16.id_tag_info(AuthorizationResult(AuthorizationStatus.UNKNOWN)) == {"status": "Invalid"}
    expiry = datetime(2027, 1, 1, tzinfo=UTC)
    info = convert16.id_tag_info(AuthorizationResult(AuthorizationStatus.ACCEPTED, expiry, "G"))
    assert info == {"status": "Accepted", "expiry_date": "2027-01-01T00:00:00.000Z", "parent_id_tag": "G"}


def test_v16_samples_skip_signed_data_and_non_numbers() -> None:
    values = [
        {
            "timestamp": NOW,
            "sampled_value": [
                {"value": "1.5", "unit": "kWh"},
                {"value": "abc", "format": "SignedData"},
                {"value": "n/a", "measurand": "SoC"},
            ],
        }
    ]
    (sample,) = convert16.samples(values)
    assert (sample.value, sample.unit, sample.measurand) == (1500.0, "Wh", "Energy.Active.Import.Register")


def test_v201_multiplier_and_unit() -> None:
    values = [
        {
            "timestamp": NOW,
            "sampled_value": [
                {
                    "value": 12.5,
                    "measurand": "Power.Active.Import",
                    "unit_of_measure": {"unit": "W", "multiplier": 3},
                },
            ],
        }
    ]
    (sample,) = convert201.samples(values)
    assert (sample.value, sample.unit) == (12500.0, "W")


def test_timestamps_are_aware_utc_and_bad_ones_are_refused() -> None:
    assert timestamps.parse("2026-11-24T13:00:00+01:00", V16_CODES) == datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert timestamps.parse("2026-11-24T12:00:00", V16_CODES).tzinfo is UTC
    with pytest.raises(OcppCallError):
        timestamps.parse("yesterday", V16_CODES)
