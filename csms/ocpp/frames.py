"""OCPP-J framing: ``[2, id, action, payload]``, ``[3, id, payload]``, ``[4, id, code, text, details]``.

Parsing is strict about shape but recovers the unique id whenever it can, because a frame with
a readable id deserves a CALLERROR while one without can only be dropped (OCPP-J §4.2.3).
"""

from __future__ import annotations

from typing import Any

import orjson
from ocpp.messages import Call, CallError, CallResult

from csms.ocpp.errors import ErrorCodes

Frame = Any  # Call | CallResult | CallError; the ocpp library is untyped


class FrameError(Exception):
    def __init__(self, unique_id: str | None, code: str, description: str) -> None:
        super().__init__(description)
        self.unique_id, self.code, self.description = unique_id, code, description


def parse(raw: str | bytes, codes: ErrorCodes) -> Frame:
    try:
        message: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise FrameError(None, codes.rpc_framework, "Frame is not valid JSON") from None
    if not isinstance(message, list) or len(message) < 3:
        raise FrameError(None, codes.rpc_framework, "Frame is not an OCPP-J array")
    type_id, unique_id = message[0], message[1]
    if not isinstance(unique_id, str) or not 0 < len(unique_id) <= 36:
        raise FrameError(None, codes.rpc_framework, "Frame has no valid unique id")
    if type_id == Call.message_type_id:
        if len(message) != 4 or not isinstance(message[2], str):
            raise FrameError(unique_id, codes.rpc_framework, "CALL must be [2, id, action, payload]")
        if not isinstance(message[3], dict):
            raise FrameError(unique_id, codes.format, "CALL payload must be a JSON object")
        return Call(unique_id, message[2], message[3])
    if type_id == CallResult.message_type_id:
        return CallResult(unique_id, message[2])
    if type_id == CallError.message_type_id and len(message) >= 4:
        details = message[4] if len(message) > 4 else {}
        return CallError(unique_id, message[2], message[3], details)
    raise FrameError(unique_id, codes.message_type, f"Unknown message type {type_id!r}")


def dumps(message: list[Any]) -> str:
    return orjson.dumps(message).decode()


def call_error(unique_id: str, code: str, description: str, details: dict[str, Any] | None = None) -> str:
    return dumps([CallError.message_type_id, unique_id, code, description, details or {}])
