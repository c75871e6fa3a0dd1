"""Domain operations to the (action, payload) of a station's OCPP version.

Each operation type registers one translator per version; ``translate`` refuses operations a
version cannot express, so the caller gets a clear InvalidCommand instead of a broken frame.
An OCPP 1.6 ``connectorId`` n is EVSE n / connector 1, so 1.6 refuses any other connector.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from chargepoints.errors import InvalidCommand
from chargepoints.operations import (
    ChangeAvailability,
    ChangeConfiguration,
    ClearCache,
    ClearDisplayMessage,
    DataTransfer,
    GetBaseReport,
    GetConfiguration,
    GetDisplayMessages,
    GetVariables,
    Operation,
    RemoteStart,
    RemoteStop,
    Reset,
    ResetKind,
    SetDisplayMessage,
    SetVariables,
    TriggerKind,
    TriggerMessage,
    UnlockConnector,
    VariableRef,
    VariableValue,
)
from csms.ocpp import timestamps

Message = tuple[str, dict[str, Any]]
Translator = Callable[[Any], Message]
Op = TypeVar("Op", bound=Operation)
_TRANSLATORS: dict[tuple[str, type[Operation]], Translator] = {}


def translator(version: str, kind: type[Op]) -> Callable[[Callable[[Op], Message]], Callable[[Op], Message]]:
    def register(function: Callable[[Op], Message]) -> Callable[[Op], Message]:
        _TRANSLATORS[(version, kind)] = function
        return function

    return register


def translate(version: str, operation: Operation) -> Message:
    function = _TRANSLATORS.get((version, type(operation)))
    if function is None:
        raise InvalidCommand(f"{type(operation).__name__} cannot be expressed in OCPP {version}")
    return function(operation)


def _connector16(evse_id: int | None, connector_id: int | None) -> int:
    """The 1.6 connectorId for an EVSE (0 = the whole station)."""
    if connector_id not in (None, 1):
        raise InvalidCommand("OCPP 1.6 has one connector per EVSE: connector_id must be 1")
    if evse_id is None and connector_id is not None:
        raise InvalidCommand("a connector_id needs an evse_id")
    return evse_id or 0


def _evse201(evse_id: int | None, connector_id: int | None) -> dict[str, Any]:
    """The optional 2.0.1 ``evse`` object, as a dict to merge into a payload."""
    if evse_id is None:
        if connector_id is not None:
            raise InvalidCommand("a connector_id needs an evse_id")
        return {}
    evse: dict[str, Any] = {"id": evse_id}
    if connector_id is not None:
        evse["connectorId"] = connector_id
    return {"evse": evse}


@translator("1.6", Reset)
def _reset16(op: Reset) -> Message:
    if op.evse_id is not None:
        raise InvalidCommand("OCPP 1.6 resets the whole station, not one EVSE")
    return "Reset", {"type": "Hard" if op.kind is ResetKind.IMMEDIATE else "Soft"}


@translator("2.0.1", Reset)
def _reset201(op: Reset) -> Message:
    payload: dict[str, Any] = {"type": op.kind.value}
    if op.evse_id is not None:
        payload["evseId"] = op.evse_id
    return "Reset", payload


@translator("1.6", ClearCache)
@translator("2.0.1", ClearCache)
def _clear_cache(op: ClearCache) -> Message:
    return "ClearCache", {}


@translator("1.6", RemoteStart)
def _remote_start16(op: RemoteStart) -> Message:
    payload: dict[str, Any] = {"idTag": op.id_token.value}
    if op.evse_id is not None:
        payload["connectorId"] = op.evse_id
    return "RemoteStartTransaction", payload


@translator("2.0.1", RemoteStart)
def _remote_start201(op: RemoteStart) -> Message:
    payload: dict[str, Any] = {
        "idToken": {"idToken": op.id_token.value, "type": op.id_token.type},
        "remoteStartId": op.remote_start_id,
    }
    if op.evse_id is not None:
        payload["evseId"] = op.evse_id
    return "RequestStartTransaction", payload


@translator("1.6", RemoteStop)
def _remote_stop16(op: RemoteStop) -> Message:
    return "RemoteStopTransaction", {"transactionId": op.transaction_id}


@translator("2.0.1", RemoteStop)
def _remote_stop201(op: RemoteStop) -> Message:
    return "RequestStopTransaction", {"transactionId": op.station_tx_id}


@translator("1.6", UnlockConnector)
def _unlock16(op: UnlockConnector) -> Message:
    return "UnlockConnector", {"connectorId": _connector16(op.evse_id, op.connector_id)}


@translator("2.0.1", UnlockConnector)
def _unlock201(op: UnlockConnector) -> Message:
    return "UnlockConnector", {"evseId": op.evse_id, "connectorId": op.connector_id}


@translator("1.6", ChangeAvailability)
def _availability16(op: ChangeAvailability) -> Message:
    connector = _connector16(op.evse_id, op.connector_id)
    return "ChangeAvailability", {"connectorId": connector, "type": op.status.value}


@translator("2.0.1", ChangeAvailability)
def _availability201(op: ChangeAvailability) -> Message:
    return "ChangeAvailability", {
        "operationalStatus": op.status.value,
        **_evse201(op.evse_id, op.connector_id),
    }


@translator("1.6", GetConfiguration)
def _get_configuration16(op: GetConfiguration) -> Message:
    return "GetConfiguration", {"key": list(op.keys)} if op.keys else {}


@translator("1.6", ChangeConfiguration)
def _change_configuration16(op: ChangeConfiguration) -> Message:
    if op.key is None:
        raise InvalidCommand("OCPP 1.6 stations need a configuration key")
    return "ChangeConfiguration", {"key": op.key, "value": op.value}


@translator("2.0.1", ChangeConfiguration)
def _change_configuration201(op: ChangeConfiguration) -> Message:
    if op.variable is None:
        raise InvalidCommand("OCPP 2.0.1 stations need a component and variable")
    return _set_variables201(SetVariables((VariableValue(op.variable, op.value),)))


def _variable_data(ref: VariableRef) -> dict[str, Any]:
    component: dict[str, Any] = {"name": ref.component}
    if ref.component_instance is not None:
        component["instance"] = ref.component_instance
    component.update(_evse201(ref.evse_id, ref.connector_id))
    variable: dict[str, Any] = {"name": ref.variable}
    if ref.variable_instance is not None:
        variable["instance"] = ref.variable_instance
    data: dict[str, Any] = {"component": component, "variable": variable}
    if ref.attribute_type is not None:
        data["attributeType"] = ref.attribute_type.value
    return data


@translator("2.0.1", GetVariables)
def _get_variables201(op: GetVariables) -> Message:
    return "GetVariables", {"getVariableData": [_variable_data(ref) for ref in op.variables]}


@translator("2.0.1", SetVariables)
def _set_variables201(op: SetVariables) -> Message:
    data = [{**_variable_data(item.ref), "attributeValue": item.value} for item in op.values]
    return "SetVariables", {"setVariableData": data}


@translator("1.6", GetBaseReport)
def _base_report16(op: GetBaseReport) -> Message:
    # 1.6 has no device model; its whole configuration is the nearest thing to an inventory.
    return "GetConfiguration", {}


@translator("2.0.1", GetBaseReport)
def _base_report201(op: GetBaseReport) -> Message:
    return "GetBaseReport", {"requestId": op.request_id, "reportBase": op.report_base.value}


_TRIGGER16 = {TriggerKind.LOG_STATUS_NOTIFICATION: "DiagnosticsStatusNotification"}


@translator("1.6", TriggerMessage)
def _trigger16(op: TriggerMessage) -> Message:
    payload: dict[str, Any] = {"requestedMessage": _TRIGGER16.get(op.message, op.message.value)}
    connector = _connector16(op.evse_id, op.connector_id)
    if connector:
        payload["connectorId"] = connector
    return "TriggerMessage", payload


@translator("2.0.1", TriggerMessage)
def _trigger201(op: TriggerMessage) -> Message:
    return "TriggerMessage", {"requestedMessage": op.message.value, **_evse201(op.evse_id, op.connector_id)}


@translator("1.6", DataTransfer)
def _data_transfer16(op: DataTransfer) -> Message:
    payload: dict[str, Any] = {"vendorId": op.vendor_id}
    if op.message_id is not None:
        payload["messageId"] = op.message_id
    if op.data is not None:
        # 1.6 data is a string; vendors that exchange structures put JSON text in it.
        payload["data"] = op.data if isinstance(op.data, str) else orjson.dumps(op.data).decode()
    return "DataTransfer", payload


@translator("2.0.1", DataTransfer)
def _data_transfer201(op: DataTransfer) -> Message:
    payload: dict[str, Any] = {"vendorId": op.vendor_id}
    if op.message_id is not None:
        payload["messageId"] = op.message_id
    if op.data is not None:
        payload["data"] = op.data
    return "DataTransfer", payload


@translator("2.0.1", SetDisplayMessage)
def _set_display_message201(op: SetDisplayMessage) -> Message:
    message = op.message
    content: dict[str, Any] = {"format": message.format.value, "content": message.content}
    if message.language is not None:
        content["language"] = message.language
    info: dict[str, Any] = {"id": message.id, "priority": message.priority.value, "message": content}
    if message.state is not None:
        info["state"] = message.state.value
    if message.starts_at is not None:
        info["startDateTime"] = timestamps.format(message.starts_at)
    if message.ends_at is not None:
        info["endDateTime"] = timestamps.format(message.ends_at)
    return "SetDisplayMessage", {"message": info}


@translator("2.0.1", GetDisplayMessages)
def _get_display_messages201(op: GetDisplayMessages) -> Message:
    payload: dict[str, Any] = {"requestId": op.request_id}
    if op.ids:
        payload["id"] = list(op.ids)
    if op.priority is not None:
        payload["priority"] = op.priority.value
    if op.state is not None:
        payload["state"] = op.state.value
    return "GetDisplayMessages", payload


@translator("2.0.1", ClearDisplayMessage)
def _clear_display_message201(op: ClearDisplayMessage) -> Message:
    return "ClearDisplayMessage", {"id": op.id}
