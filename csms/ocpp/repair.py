"""Repairs for the ways real chargers break the schemas, for stations marked lenient.

Strict is the default: a lenient station's payload is repaired only where the intent is
unambiguous (a number sent as a string, an over-long string, an unknown optional enum value or
property) and every repair is reported, so the operator sees what the station got wrong.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

Schema = dict[str, Any]


@cache
def request_schema(version: str, action: str) -> Schema | None:
    package = "ocpp.v16.schemas" if version == "1.6" else "ocpp.v201.schemas"
    name = action if version == "1.6" else f"{action}Request"
    resource = resources.files(package).joinpath(f"{name}.json")
    if not resource.is_file():
        return None
    schema: Schema = json.loads(resource.read_text(encoding="utf-8-sig"))
    return schema


def repair(schema: Schema, payload: Any) -> tuple[Any, list[str]]:
    """A repaired copy of ``payload`` and a line per repair (empty when nothing was wrong)."""
    repairs: list[str] = []
    fixed = _repair(schema, schema, payload, "", repairs)
    return fixed, repairs


def _resolve(root: Schema, node: Schema) -> Schema:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        resolved: Schema = root["definitions"][ref.rsplit("/", 1)[-1]]
        return resolved
    return node


def _repair(root: Schema, node: Schema, value: Any, path: str, repairs: list[str]) -> Any:
    node = _resolve(root, node)
    kind = node.get("type")
    if kind == "object" and isinstance(value, dict):
        return _repair_object(root, node, value, path, repairs)
    if kind == "array" and isinstance(value, list):
        items = node.get("items", {})
        return [_repair(root, items, item, f"{path}[{i}]", repairs) for i, item in enumerate(value)]
    if kind in ("integer", "number") and isinstance(value, str):
        return _number(kind, value, path, repairs)
    if kind == "string" and isinstance(value, str) and len(value) > node.get("maxLength", len(value)):
        repairs.append(f"{path or '/'}: truncated to {node['maxLength']} characters")
        return value[: node["maxLength"]]
    return value


def _number(kind: str, value: str, path: str, repairs: list[str]) -> Any:
    try:
        number = float(value)
    except ValueError:
        return value  # not repairable; validation will say so
    converted: int | float = int(number) if kind == "integer" and number.is_integer() else number
    repairs.append(f"{path}: number sent as string {value!r}")
    return converted


def _repair_object(root: Schema, node: Schema, value: dict[str, Any], path: str, repairs: list[str]) -> Any:
    properties: dict[str, Schema] = node.get("properties", {})
    required = set(node.get("required", []))
    out: dict[str, Any] = {}
    for key, item in value.items():
        where = f"{path}/{key}"
        if key not in properties:
            if node.get("additionalProperties", True) is False:
                repairs.append(f"{where}: unknown property dropped")
                continue
            out[key] = item
            continue
        spec = _resolve(root, properties[key])
        if "enum" in spec and item not in spec["enum"] and key not in required:
            repairs.append(f"{where}: unknown value {item!r} dropped")
            continue
        out[key] = _repair(root, spec, item, where, repairs)
    return out
