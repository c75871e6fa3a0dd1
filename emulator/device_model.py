"""The 2.0.1 device model: the settings as component/variable pairs, plus live state.

GetVariables, SetVariables and GetBaseReport all read this one list, so what a report
shows is what GetVariables returns and what SetVariables changes.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from emulator.evse import Evse
from emulator.settings import WriteOutcome
from emulator.station import StationState

ITEMS_PER_REPORT = 20
CONNECTOR_TYPES = {"AC": "cType2", "DC": "cCCS2"}


@dataclass(frozen=True, slots=True)
class Variable:
    """One variable: how to read it, and the setting behind it when it has one."""

    component: str
    name: str
    read: Callable[[], str]
    key: str | None = None
    readonly: bool = True
    data_type: str = "string"
    unit: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None

    def component_dict(self) -> dict[str, Any]:
        """The component as OCPP names it."""
        if self.evse_id is None:
            return {"name": self.component}
        evse = {"id": self.evse_id, "connector_id": self.connector_id}
        return {"name": self.component, "evse": {k: v for k, v in evse.items() if v is not None}}


def _configured(state: StationState) -> list[Variable]:
    config, found = state.config, []
    for key in config:
        setting = config.setting(key)
        if setting.variable is not None:
            component, name = setting.variable
            read = partial(config.__getitem__, key)
            found.append(
                Variable(component, name, read, key, setting.readonly, setting.data_type, setting.unit)
            )
    return found


def _evse_variables(evse: Evse, connector_type: str) -> list[Variable]:
    status = partial(getattr, evse, "status")
    return [
        Variable("EVSE", "AvailabilityState", status, evse_id=evse.id),
        Variable(
            "EVSE", "Power", lambda: f"{evse.power_w:.0f}", data_type="decimal", unit="W", evse_id=evse.id
        ),
        Variable("Connector", "AvailabilityState", status, evse_id=evse.id, connector_id=1),
        Variable("Connector", "ConnectorType", lambda: connector_type, evse_id=evse.id, connector_id=1),
    ]


def _live(state: StationState) -> list[Variable]:
    spec = state.spec
    found = [
        Variable("ChargingStation", "AvailabilityState", partial(_station_availability, state)),
        Variable("ChargingStation", "Model", lambda: spec.model),
        Variable("ChargingStation", "VendorName", lambda: spec.vendor),
        Variable("ChargingStation", "SupplyPhases", lambda: str(spec.phases), data_type="integer"),
        Variable("ClockCtrlr", "DateTime", state.now_iso, data_type="dateTime"),
        Variable("SecurityCtrlr", "Identity", lambda: spec.station_id),
    ]
    for evse in state.evses.values():
        found += _evse_variables(evse, CONNECTOR_TYPES[spec.current_type])
    return found


def _station_availability(state: StationState) -> str:
    return "Available" if any(evse.operative for evse in state.evses.values()) else "Unavailable"


def variables(state: StationState) -> list[Variable]:
    """Every variable the station has."""
    return _configured(state) + _live(state)


def _lookup(found: Iterable[Variable], item: dict[str, Any]) -> tuple[Variable | None, str]:
    """The variable an OCPP (component, variable) pair names, or why there is none."""
    component, variable = item["component"], item["variable"]
    evse = component.get("evse") or {}
    same_component = [
        v for v in found if v.component == component["name"] and (not evse or v.evse_id == evse.get("id"))
    ]
    if not same_component:
        return None, "UnknownComponent"
    match = next((v for v in same_component if v.name == variable["name"]), None)
    if match is None:
        return None, "UnknownVariable"
    if item.get("attribute_type", "Actual") != "Actual":
        return None, "NotSupportedAttributeType"
    return match, "Accepted"


def get_variables(state: StationState, requested: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GetVariableResult entries for a GetVariables request."""
    found, results = variables(state), []
    for item in requested:
        variable, status = _lookup(found, item)
        value = None if variable is None else variable.read()
        results.append({**item, "attribute_status": status, "attribute_value": value})
    return results


def set_variables(state: StationState, requested: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SetVariableResult entries for a SetVariables request; read-only variables are Rejected."""
    found, results = variables(state), []
    for item in requested:
        variable, status = _lookup(found, item)
        if variable is not None:
            outcome: WriteOutcome = "Rejected"
            if variable.key is not None:
                outcome = state.config.write(variable.key, item["attribute_value"])
            status = "Rejected" if outcome == "NotSupported" else outcome
        attributes = {k: v for k, v in item.items() if k != "attribute_value"}
        results.append({**attributes, "attribute_status": status})
    return results


def _report_item(variable: Variable) -> dict[str, Any]:
    characteristics = {"data_type": variable.data_type, "supports_monitoring": False, "unit": variable.unit}
    return {
        "component": variable.component_dict(),
        "variable": {"name": variable.name},
        "variable_attribute": [
            {
                "type": "Actual",
                "value": variable.read(),
                "mutability": "ReadOnly" if variable.readonly else "ReadWrite",
            }
        ],
        "variable_characteristics": characteristics,
    }


def report_pages(state: StationState, report_base: str) -> list[list[dict[str, Any]]] | None:
    """NotifyReport pages for a GetBaseReport; None for a report base the station lacks."""
    chosen = variables(state)
    if report_base == "ConfigurationInventory":
        chosen = [v for v in chosen if not v.readonly]
    elif report_base == "SummaryInventory":
        chosen = [v for v in chosen if v.name == "AvailabilityState"]
    elif report_base != "FullInventory":
        return None
    items = [_report_item(v) for v in chosen]
    return [items[i : i + ITEMS_PER_REPORT] for i in range(0, len(items), ITEMS_PER_REPORT)] or [[]]
