"""What a station's answer to a command means."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chargepoints.model import CommandStatus

# Answers that mean "done" or "will be done" across both versions' response enums.
_POSITIVE = frozenset({"Accepted", "Scheduled", "Unlocked", "RebootRequired", "AcceptedCanceled"})


def outcome(response: Mapping[str, Any]) -> CommandStatus:
    """Accepted unless the response's ``status`` says otherwise; answers without a status (such
    as GetConfiguration or GetVariables, whose results are per item) count as accepted."""
    status = response.get("status")
    if status is None or status in _POSITIVE:
        return CommandStatus.ACCEPTED
    return CommandStatus.REJECTED
