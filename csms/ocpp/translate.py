"""Domain operations to the (action, payload) of a station's OCPP version.

Each operation type registers one translator per version; ``translate`` refuses operations a
version cannot express, so the caller gets a clear InvalidCommand instead of a broken frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chargepoints.errors import InvalidCommand
from chargepoints.operations import ClearCache, Operation, Reset, ResetKind

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
