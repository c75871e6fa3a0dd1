"""Pre-built OCPP 1.6 frames, so the load generator spends no CPU on JSON while it measures.

A frame is ``prefix + unique id + suffix``: only the id changes from one call to the next, and
the id is what pairs a CALLRESULT with its CALL.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

BOOT = "BootNotification"
HEARTBEAT = "Heartbeat"
METER_VALUES = "MeterValues"
STATUS = "StatusNotification"

_TIMESTAMP = "2026-01-01T00:00:00Z"

PAYLOADS: dict[str, dict[str, object]] = {
    BOOT: {"chargePointVendor": "Bench", "chargePointModel": "Load", "firmwareVersion": "1.0"},
    HEARTBEAT: {},
    METER_VALUES: {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": _TIMESTAMP,
                "sampledValue": [
                    {"value": "123.0", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
                ],
            }
        ],
    },
    STATUS: {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": _TIMESTAMP},
}

# What the ceiling server answers: valid 1.6 confirmations, fixed once. The session messages
# let the emulator benchmark charge against it; every session gets the same id.
RESULTS: dict[str, dict[str, object]] = {
    BOOT: {"currentTime": _TIMESTAMP, "interval": 300, "status": "Accepted"},
    HEARTBEAT: {"currentTime": _TIMESTAMP},
    METER_VALUES: {},
    STATUS: {},
    "Authorize": {"idTagInfo": {"status": "Accepted"}},
    "StartTransaction": {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
    "StopTransaction": {},
}


@dataclass(frozen=True)
class CallTemplate:
    action: str
    prefix: str
    suffix: str

    def frame(self, unique_id: str) -> str:
        return self.prefix + unique_id + self.suffix


def template(action: str) -> CallTemplate:
    payload = orjson.dumps(PAYLOADS[action]).decode()
    return CallTemplate(action, '[2,"', f'","{action}",{payload}]')


def canned_result(unique_id: str, action: str) -> str:
    return '[3,"' + unique_id + '",' + _RESULT_TEXT.get(action, "{}") + "]"


_RESULT_TEXT = {action: orjson.dumps(result).decode() for action, result in RESULTS.items()}
