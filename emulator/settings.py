"""The station's small configuration, shared by 1.6 keys and 2.0.1 variables."""

from collections.abc import Callable
from typing import Literal, NamedTuple

from emulator.station import StationState

WriteOutcome = Literal["Accepted", "Rejected", "NotSupported"]
MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"


class Setting(NamedTuple):
    """A readable value; `write` is None when the setting is read-only."""

    read: Callable[[], str]
    write: Callable[[str], None] | None = None


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(f"{value!r} is not positive")
    return number


def station_settings(state: StationState) -> dict[str, Setting]:
    """Settings keyed by their OCPP 1.6 names; writes act on the live station state."""

    def set_heartbeat(value: str) -> None:
        state.heartbeat_interval_s = int(_positive(value))

    def set_meter_interval(value: str) -> None:
        state.meter_interval_s = _positive(value)

    return {
        "HeartbeatInterval": Setting(lambda: str(state.heartbeat_interval_s), set_heartbeat),
        "MeterValueSampleInterval": Setting(lambda: f"{state.meter_interval_s:g}", set_meter_interval),
        "NumberOfConnectors": Setting(lambda: str(len(state.evses))),
        # Remote starts are trusted: the CSMS already authorised the token.
        "AuthorizeRemoteTxRequests": Setting(lambda: "false"),
        "MeterValuesSampledData": Setting(lambda: MEASURANDS),
    }


def write_setting(settings: dict[str, Setting], key: str, value: str) -> WriteOutcome:
    """Apply a write, refusing read-only keys and malformed values."""
    setting = settings.get(key)
    if setting is None:
        return "NotSupported"
    if setting.write is None:
        return "Rejected"
    try:
        setting.write(value)
    except ValueError:
        return "Rejected"
    return "Accepted"
