"""Payload validation against the JSON schemas shipped in the ``ocpp`` package, compiled once.

The library's own validator interprets each schema per message and costs most of a call's CPU;
compiled validators give the same verdicts several times faster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema

from csms.ocpp.errors import ErrorCodes, OcppCallError

Validator = Callable[[Any], Any]

_RULE_TO_CODE = {
    "type": "type",
    "maxLength": "type",
    "minLength": "type",
    "required": "occurrence",
    "minItems": "occurrence",
    "maxItems": "occurrence",
    "enum": "property",
    "pattern": "property",
    "minimum": "property",
    "maximum": "property",
    "multipleOf": "property",
    "format": "property",
}


@cache
def _validator(version: str, schema_name: str) -> Validator | None:
    package = "ocpp.v16.schemas" if version == "1.6" else "ocpp.v201.schemas"
    resource = resources.files(package).joinpath(f"{schema_name}.json")
    if not resource.is_file():
        return None
    schema = json.loads(resource.read_text(encoding="utf-8-sig"))
    schema.pop("$schema", None)  # the 2.0.1 files name a draft fastjsonschema does not know
    schema.pop("$id", None)
    compiled: Validator = fastjsonschema.compile(schema)
    return compiled


def request_schema_name(version: str, action: str) -> str:
    return action if version == "1.6" else f"{action}Request"


def validate_request(version: str, action: str, payload: Any, codes: ErrorCodes) -> None:
    """Raise the version's CALLERROR for a payload that breaks the action's schema."""
    validate = _validator(version, request_schema_name(version, action))
    if validate is None:
        raise OcppCallError(codes.not_implemented, f"No schema for {action}")
    if not isinstance(payload, dict):
        raise OcppCallError(codes.format, "Payload must be a JSON object")
    try:
        validate(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        kind = _RULE_TO_CODE.get(str(exc.rule), "format")
        raise OcppCallError(codes.for_kind(kind), exc.message[:200]) from None


def validate_response(version: str, action: str, payload: Any) -> str | None:
    """A message naming what is wrong with a station's CALLRESULT, or None when it conforms."""
    validate = _validator(version, f"{action}Response")
    if validate is None:
        return None
    try:
        validate(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        return str(exc.message)
    return None
