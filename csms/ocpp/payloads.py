"""Key-case conversion between OCPP's camelCase and the handlers' snake_case, cached per key.

The ``ocpp`` library converts every key of every message with regular expressions; the set of
keys OCPP uses is small, so converting each distinct key once (with the library's own rules)
removes that cost from the hot path.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case


@cache
def _snake(key: str) -> str:
    return str(next(iter(camel_to_snake_case({key: None}))))


@cache
def _camel(key: str) -> str:
    return str(next(iter(snake_to_camel_case({key: None}))))


def to_snake(data: Any) -> Any:
    if isinstance(data, dict):
        return {_snake(k): to_snake(v) for k, v in data.items()}
    if isinstance(data, list):
        return [to_snake(v) for v in data]
    return data


def to_camel(data: Any) -> Any:
    """camelCase keys, with unset (None) optional fields left out as OCPP expects."""
    if isinstance(data, dict):
        return {_camel(k): to_camel(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [to_camel(v) for v in data if v is not None]
    return data


def response_payload(result: Any) -> Any:
    """A handler's ``call_result`` dataclass (or plain dict) as the wire payload."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    return to_camel(result)
