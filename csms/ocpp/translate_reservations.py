"""Translators for ReserveNow and CancelReservation (registered with csms.ocpp.translate)."""

from __future__ import annotations

from typing import Any

from chargepoints.reservations import CancelReservation, ReserveNow
from csms.ocpp import timestamps
from csms.ocpp.translate import Message, translator


@translator("1.6", ReserveNow)
def _reserve16(op: ReserveNow) -> Message:
    payload: dict[str, Any] = {
        "connectorId": op.evse_id or 0,  # 0 = any connector of the station
        "expiryDate": timestamps.format(op.expires_at),
        "idTag": op.id_token,
        "reservationId": op.reservation_id,
    }
    if op.group_id is not None:
        payload["parentIdTag"] = op.group_id
    return "ReserveNow", payload


@translator("2.0.1", ReserveNow)
def _reserve201(op: ReserveNow) -> Message:
    payload: dict[str, Any] = {
        "id": op.reservation_id,
        "expiryDateTime": timestamps.format(op.expires_at),
        "idToken": {"idToken": op.id_token, "type": "ISO14443"},
    }
    if op.evse_id is not None:
        payload["evseId"] = op.evse_id
    if op.group_id is not None:
        payload["groupIdToken"] = {"idToken": op.group_id, "type": "Central"}
    return "ReserveNow", payload


@translator("1.6", CancelReservation)
@translator("2.0.1", CancelReservation)
def _cancel(op: CancelReservation) -> Message:
    return "CancelReservation", {"reservationId": op.reservation_id}
