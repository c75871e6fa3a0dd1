"""Lenient stations: what gets repaired, and what never does."""

from __future__ import annotations

from csms.ocpp.repair import repair, request_schema


def test_numbers_as_strings_long_strings_and_unknown_properties_are_repaired() -> None:
    schema = request_schema("1.6", "BootNotification")
    assert schema is not None
    payload = {
        "chargePointVendor": "ACME",
        "chargePointModel": "M",
        "chargePointSerialNumber": "S" * 40,
        "firmwareVersion": "1.0",
        "vendorField": "x",
    }
    fixed, repairs = repair(schema, payload)
    assert fixed == {
        "chargePointVendor": "ACME",
        "chargePointModel": "M",
        "chargePointSerialNumber": "S" * 25,
        "firmwareVersion": "1.0",
    }
    assert repairs == [
        "/chargePointSerialNumber: truncated to 25 characters",
        "/vendorField: unknown property dropped",
    ]


def test_nested_numbers_and_unknown_optional_enums() -> None:
    schema = request_schema("1.6", "MeterValues")
    assert schema is not None
    payload = {
        "connectorId": "1",
        "transactionId": "42",
        "meterValue": [
            {
                "timestamp": "2026-11-24T12:00:00Z",
                "sampledValue": [{"value": "10", "unit": "Wh", "phase": "L4"}],
            }
        ],
    }
    fixed, repairs = repair(schema, payload)
    assert fixed["connectorId"] == 1 and fixed["transactionId"] == 42
    assert fixed["meterValue"][0]["sampledValue"][0] == {"value": "10", "unit": "Wh"}
    assert len(repairs) == 3


def test_required_enums_and_garbage_numbers_are_left_for_validation_to_refuse() -> None:
    schema = request_schema("1.6", "StatusNotification")
    assert schema is not None
    payload = {"connectorId": "one", "errorCode": "Melted", "status": "Available"}
    fixed, repairs = repair(schema, payload)
    assert fixed == payload and repairs == []
