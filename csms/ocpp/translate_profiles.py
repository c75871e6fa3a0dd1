"""Translators for charging profiles (registered with csms.ocpp.translate).

The domain keeps 2.0.1's words; 1.6 calls the station-wide limit ChargePointMaxProfile, has one
schedule per profile under ``csChargingProfiles`` and names the EVSE as ``connectorId``.
"""

from __future__ import annotations

from typing import Any

from chargepoints.errors import InvalidCommand
from chargepoints.profiles import ClearChargingProfile, GetCompositeSchedule, Profile, SetChargingProfile
from csms.ocpp import timestamps
from csms.ocpp.translate import Message, translator

_PURPOSE_16 = {"ChargingStationMaxProfile": "ChargePointMaxProfile"}


def _schedule(profile: Profile) -> dict[str, Any]:
    periods = []
    for period in profile.periods:
        item: dict[str, Any] = {"startPeriod": period.start_s, "limit": period.limit}
        if period.phases is not None:
            item["numberPhases"] = period.phases
        periods.append(item)
    schedule: dict[str, Any] = {"chargingRateUnit": profile.unit, "chargingSchedulePeriod": periods}
    if profile.start is not None:
        schedule["startSchedule"] = timestamps.format(profile.start)
    if profile.duration_s is not None:
        schedule["duration"] = profile.duration_s
    if profile.min_rate is not None:
        schedule["minChargingRate"] = profile.min_rate
    return schedule


def _common(profile: Profile) -> dict[str, Any]:
    common: dict[str, Any] = {"stackLevel": profile.stack_level, "chargingProfileKind": profile.kind}
    if profile.recurrency is not None:
        common["recurrencyKind"] = profile.recurrency
    if profile.valid_from is not None:
        common["validFrom"] = timestamps.format(profile.valid_from)
    if profile.valid_to is not None:
        common["validTo"] = timestamps.format(profile.valid_to)
    return common


@translator("1.6", SetChargingProfile)
def _set16(op: SetChargingProfile) -> Message:
    profile = op.profile
    body = {
        "chargingProfileId": profile.id,
        **_common(profile),
        "chargingProfilePurpose": _PURPOSE_16.get(profile.purpose, profile.purpose),
        "chargingSchedule": _schedule(profile),
    }
    if profile.purpose == "ChargingStationExternalConstraints":
        raise InvalidCommand("OCPP 1.6 has no ChargingStationExternalConstraints profiles")
    if "id" in profile.transaction:
        body["transactionId"] = profile.transaction["id"]
    return "SetChargingProfile", {"connectorId": op.evse_id, "csChargingProfiles": body}


@translator("2.0.1", SetChargingProfile)
def _set201(op: SetChargingProfile) -> Message:
    profile = op.profile
    body = {
        "id": profile.id,
        **_common(profile),
        "chargingProfilePurpose": profile.purpose,
        "chargingSchedule": [{"id": profile.id, **_schedule(profile)}],
    }
    if "station_tx_id" in profile.transaction:
        body["transactionId"] = profile.transaction["station_tx_id"]
    return "SetChargingProfile", {"evseId": op.evse_id, "chargingProfile": body}


@translator("1.6", ClearChargingProfile)
def _clear16(op: ClearChargingProfile) -> Message:
    payload: dict[str, Any] = {}
    for key, value in (
        ("id", op.profile_id),
        ("connectorId", op.evse_id),
        ("stackLevel", op.stack_level),
        ("chargingProfilePurpose", _PURPOSE_16.get(op.purpose or "", op.purpose)),
    ):
        if value is not None:
            payload[key] = value
    return "ClearChargingProfile", payload


@translator("2.0.1", ClearChargingProfile)
def _clear201(op: ClearChargingProfile) -> Message:
    payload: dict[str, Any] = {}
    if op.profile_id is not None:
        payload["chargingProfileId"] = op.profile_id
    criteria = {
        k: v
        for k, v in (
            ("evseId", op.evse_id),
            ("chargingProfilePurpose", op.purpose),
            ("stackLevel", op.stack_level),
        )
        if v is not None
    }
    if criteria:
        payload["chargingProfileCriteria"] = criteria
    return "ClearChargingProfile", payload


@translator("1.6", GetCompositeSchedule)
def _composite16(op: GetCompositeSchedule) -> Message:
    payload: dict[str, Any] = {"connectorId": op.evse_id, "duration": op.duration_s}
    if op.unit is not None:
        payload["chargingRateUnit"] = op.unit
    return "GetCompositeSchedule", payload


@translator("2.0.1", GetCompositeSchedule)
def _composite201(op: GetCompositeSchedule) -> Message:
    payload: dict[str, Any] = {"evseId": op.evse_id, "duration": op.duration_s}
    if op.unit is not None:
        payload["chargingRateUnit"] = op.unit
    return "GetCompositeSchedule", payload
