"""Translators for firmware updates and log uploads (registered with csms.ocpp.translate)."""

from __future__ import annotations

from typing import Any

from chargepoints.files import UpdateFirmware, UploadLog
from csms.ocpp import timestamps
from csms.ocpp.translate import Message, translator


@translator("1.6", UpdateFirmware)
def _firmware16(op: UpdateFirmware) -> Message:
    payload: dict[str, Any] = {"location": op.location, "retrieveDate": timestamps.format(op.retrieve_at)}
    if op.retries is not None:
        payload["retries"] = op.retries
    if op.retry_interval_s is not None:
        payload["retryInterval"] = op.retry_interval_s
    return "UpdateFirmware", payload


@translator("2.0.1", UpdateFirmware)
def _firmware201(op: UpdateFirmware) -> Message:
    payload: dict[str, Any] = {
        "requestId": op.request_id,
        "firmware": {"location": op.location, "retrieveDateTime": timestamps.format(op.retrieve_at)},
    }
    if op.retries is not None:
        payload["retries"] = op.retries
    if op.retry_interval_s is not None:
        payload["retryInterval"] = op.retry_interval_s
    return "UpdateFirmware", payload


@translator("1.6", UploadLog)
def _diagnostics16(op: UploadLog) -> Message:
    if op.security_log:
        return "GetLog", _log_payload(op)  # the 1.6 security extension's GetLog
    payload: dict[str, Any] = {"location": op.location}
    if op.since is not None:
        payload["startTime"] = timestamps.format(op.since)
    if op.until is not None:
        payload["stopTime"] = timestamps.format(op.until)
    return "GetDiagnostics", payload


@translator("2.0.1", UploadLog)
def _log201(op: UploadLog) -> Message:
    return "GetLog", _log_payload(op)


def _log_payload(op: UploadLog) -> dict[str, Any]:
    log: dict[str, Any] = {"remoteLocation": op.location}
    if op.since is not None:
        log["oldestTimestamp"] = timestamps.format(op.since)
    if op.until is not None:
        log["latestTimestamp"] = timestamps.format(op.until)
    return {
        "logType": "SecurityLog" if op.security_log else "DiagnosticsLog",
        "requestId": op.request_id,
        "log": log,
    }
