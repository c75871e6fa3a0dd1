"""Translators for the local authorisation list (registered with csms.ocpp.translate)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargepoints.local_list import GetLocalListVersion, LocalEntry, SendLocalList
from chargepoints.model import TokenStatus
from csms.ocpp import timestamps
from csms.ocpp.translate import Message, translator

_V16_STATUSES = {s.value for s in TokenStatus}  # all valid 1.6 AuthorizationStatus values too


def _expiry(entry: LocalEntry) -> str | None:
    return timestamps.format(datetime.fromisoformat(entry.expires_at)) if entry.expires_at else None


def _entry16(entry: LocalEntry) -> dict[str, Any]:
    if entry.status is None:
        return {"idTag": entry.token}  # no idTagInfo: remove from the list
    info: dict[str, Any] = {"status": entry.status if entry.status in _V16_STATUSES else "Invalid"}
    if entry.expires_at:
        info["expiryDate"] = _expiry(entry)
    if entry.group_id:
        info["parentIdTag"] = entry.group_id
    return {"idTag": entry.token, "idTagInfo": info}


def _entry201(entry: LocalEntry) -> dict[str, Any]:
    token = {"idToken": entry.token, "type": entry.type}
    if entry.status is None:
        return {"idToken": token}
    info: dict[str, Any] = {"status": entry.status}
    if entry.expires_at:
        info["cacheExpiryDateTime"] = _expiry(entry)
    if entry.group_id:
        info["groupIdToken"] = {"idToken": entry.group_id, "type": "Central"}
    return {"idToken": token, "idTokenInfo": info}


@translator("1.6", SendLocalList)
def _send16(op: SendLocalList) -> Message:
    return "SendLocalList", {
        "listVersion": op.version,
        "updateType": "Full" if op.full else "Differential",
        "localAuthorizationList": [_entry16(e) for e in op.entries],
    }


@translator("2.0.1", SendLocalList)
def _send201(op: SendLocalList) -> Message:
    payload: dict[str, Any] = {
        "versionNumber": op.version,
        "updateType": "Full" if op.full else "Differential",
    }
    if op.entries:
        payload["localAuthorizationList"] = [_entry201(e) for e in op.entries]
    return "SendLocalList", payload


@translator("1.6", GetLocalListVersion)
@translator("2.0.1", GetLocalListVersion)
def _version(op: GetLocalListVersion) -> Message:
    return "GetLocalListVersion", {}
