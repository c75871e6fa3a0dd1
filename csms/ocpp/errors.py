"""CALLERROR codes per OCPP version, and the error the gateway raises to send one.

OCPP 1.6 spells two codes differently from 2.0.1 ("FormationViolation",
"OccurenceConstraintViolation"); a station of one version must get its own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocpp.exceptions import OCPPError


class OcppCallError(OCPPError):
    """An OCPPError whose code is chosen at raise time, so one class serves both versions."""

    code = "GenericError"
    default_description = "OCPP error"

    def __init__(self, code: str, description: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(description=description, details=details or {})
        self.code = code


@dataclass(frozen=True, slots=True)
class ErrorCodes:
    format: str
    occurrence: str
    property: str = "PropertyConstraintViolation"
    type: str = "TypeConstraintViolation"
    not_implemented: str = "NotImplemented"
    not_supported: str = "NotSupported"
    security: str = "SecurityError"
    internal: str = "InternalError"
    message_type: str = "FormationViolation"
    rpc_framework: str = "FormationViolation"

    def for_kind(self, kind: str) -> str:
        return str(getattr(self, kind))

    def for_library(self, code: str) -> str:
        """The ``ocpp`` library raises 2.0.1 spellings; a 1.6 station gets its own words."""
        spelled = {"FormatViolation": self.format, "OccurrenceConstraintViolation": self.occurrence}
        return spelled.get(code, code)


V16_CODES = ErrorCodes(format="FormationViolation", occurrence="OccurenceConstraintViolation")
V201_CODES = ErrorCodes(
    format="FormatViolation",
    occurrence="OccurrenceConstraintViolation",
    message_type="MessageTypeNotSupported",
    rpc_framework="RpcFrameworkError",
)
