"""CSMS-initiated operations in OCPP 2.0.1's words, independent of a station's version.

The gateway translates each into the message of the station's protocol (csms/ocpp/translate.py),
so use cases and the API never branch on the version.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ResetKind(StrEnum):
    """Immediate = 1.6 Hard; OnIdle = 1.6 Soft (waits for sessions to end)."""

    IMMEDIATE = "Immediate"
    ON_IDLE = "OnIdle"


@dataclass(frozen=True, slots=True)
class Operation:
    """Base of every operation; subclasses are plain values."""


@dataclass(frozen=True, slots=True)
class Reset(Operation):
    kind: ResetKind = ResetKind.ON_IDLE
    evse_id: int | None = None


@dataclass(frozen=True, slots=True)
class ClearCache(Operation):
    pass
