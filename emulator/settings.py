"""The station's configuration: OCPP 1.6 keys, most of them also 2.0.1 device-model variables.

One store serves both versions, so a value changed through either name is the value the
station acts on. Keys a real charger would list but the emulator does not act on (such as
ConnectorPhaseRotation) are still reported and writable, as on real hardware.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from emulator.meters import ENERGY, MEASURANDS

WriteOutcome = Literal["Accepted", "Rejected", "NotSupported"]
DataType = Literal["integer", "decimal", "boolean", "string", "MemberList"]
DEFAULT_HEARTBEAT_INTERVAL_S = 300
SAMPLED_MEASURANDS = f"{ENERGY},Power.Active.Import,Current.Import,Voltage,SoC"
FEATURE_PROFILES = "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"


@dataclass(slots=True)
class Setting:
    """One value; `variable` is its 2.0.1 (component, variable) name, `v16` whether 1.6 lists it."""

    value: str
    data_type: DataType = "string"
    readonly: bool = False
    variable: tuple[str, str] | None = None
    unit: str | None = None
    v16: bool = True

    def checked(self, value: str) -> str:
        """The value as stored, or ValueError when it does not fit the type."""
        value = value.strip()
        if self.data_type == "boolean":
            if value.lower() not in ("true", "false"):
                raise ValueError(f"{value!r} is not true or false")
            return value.lower()
        if self.data_type in ("integer", "decimal"):
            number = float(value) if self.data_type == "decimal" else int(value)
            if number < 0:
                raise ValueError(f"{value!r} is negative")
            return value
        if self.data_type == "MemberList":
            unknown = {item for item in value.split(",") if item} - MEASURANDS
            if unknown:
                raise ValueError(f"unsupported measurands {sorted(unknown)}")
        return value


class Config:
    """The settings by 1.6 key (2.0.1-only ones by "Component.Variable"); `on_change` sees writes."""

    def __init__(self, settings: dict[str, Setting]) -> None:
        self._settings = settings
        self._by_variable = {s.variable: key for key, s in settings.items() if s.variable is not None}
        self.on_change: Callable[[str], None] | None = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._settings)

    def __contains__(self, key: object) -> bool:
        return key in self._settings

    def setting(self, key: str) -> Setting:
        """The setting under a key; KeyError when unknown."""
        return self._settings[key]

    def __getitem__(self, key: str) -> str:
        return self._settings[key].value

    def number(self, key: str) -> float:
        """A numeric setting."""
        return float(self[key])

    def flag(self, key: str) -> bool:
        """A boolean setting."""
        return self[key] == "true"

    def members(self, key: str) -> list[str]:
        """A comma-separated list setting, in order."""
        return [item for item in self[key].split(",") if item]

    def key_for(self, component: str, variable: str) -> str | None:
        """The key a 2.0.1 (component, variable) pair names, if the station has it."""
        return self._by_variable.get((component, variable))

    def components(self) -> frozenset[str]:
        """Every 2.0.1 component the settings belong to."""
        return frozenset(component for component, _ in self._by_variable)

    def store(self, key: str, value: str) -> None:
        """Set a value from inside the station, read-only ones included."""
        self._settings[key].value = value
        if self.on_change is not None:
            self.on_change(key)

    def write(self, key: str, value: str) -> WriteOutcome:
        """Apply a CSMS write, refusing read-only keys and malformed values."""
        setting = self._settings.get(key)
        if setting is None:
            return "NotSupported"
        if setting.readonly:
            return "Rejected"
        try:
            checked = setting.checked(value)
        except ValueError:
            return "Rejected"
        self.store(key, checked)
        return "Accepted"


def _settings(evse_count: int, meter_interval_s: float, security_profile: int) -> dict[str, Setting]:
    """The default key set; values follow the 1.6 specification's recommendations."""
    rw, ro = False, True
    return {
        "AllowOfflineTxForUnknownId": Setting(
            "false", "boolean", rw, ("AuthCtrlr", "OfflineTxForUnknownIdEnabled")
        ),
        "AuthorizationCacheEnabled": Setting("true", "boolean", rw, ("AuthCacheCtrlr", "Enabled")),
        "AuthorizeRemoteTxRequests": Setting("false", "boolean", rw, ("AuthCtrlr", "AuthorizeRemoteStart")),
        "ClockAlignedDataInterval": Setting("0", "integer", rw, ("AlignedDataCtrlr", "Interval"), "s"),
        "ConnectionTimeOut": Setting("60", "integer", rw, ("TxCtrlr", "EVConnectionTimeOut"), "s"),
        "ConnectorPhaseRotation": Setting(",".join(f"{n}.RST" for n in range(1, evse_count + 1))),
        "GetConfigurationMaxKeys": Setting("100", "integer", ro),
        "HeartbeatInterval": Setting(
            str(DEFAULT_HEARTBEAT_INTERVAL_S), "integer", rw, ("OCPPCommCtrlr", "HeartbeatInterval"), "s"
        ),
        "LocalAuthListEnabled": Setting("true", "boolean", rw, ("LocalAuthListCtrlr", "Enabled")),
        "LocalAuthListMaxLength": Setting("1000", "integer", ro),
        "LocalAuthorizeOffline": Setting("true", "boolean", rw, ("AuthCtrlr", "LocalAuthorizeOffline")),
        "LocalPreAuthorize": Setting("false", "boolean", rw, ("AuthCtrlr", "LocalPreAuthorize")),
        "MeterValuesAlignedData": Setting(ENERGY, "MemberList", rw, ("AlignedDataCtrlr", "Measurands")),
        "MeterValuesAlignedDataMaxLength": Setting("8", "integer", ro),
        "MeterValuesSampledData": Setting(
            SAMPLED_MEASURANDS, "MemberList", rw, ("SampledDataCtrlr", "TxUpdatedMeasurands")
        ),
        "MeterValuesSampledDataMaxLength": Setting("8", "integer", ro),
        "MeterValueSampleInterval": Setting(
            f"{meter_interval_s:g}", "decimal", rw, ("SampledDataCtrlr", "TxUpdatedInterval"), "s"
        ),
        "NumberOfConnectors": Setting(str(evse_count), "integer", ro),
        "ResetRetries": Setting("3", "integer", rw, ("OCPPCommCtrlr", "ResetRetries")),
        "ReserveConnectorZeroSupported": Setting("false", "boolean", ro),
        "SendLocalListMaxLength": Setting("100", "integer", ro, ("LocalAuthListCtrlr", "ItemsPerMessage")),
        "StopTransactionOnEVSideDisconnect": Setting(
            "true", "boolean", rw, ("TxCtrlr", "StopTxOnEVSideDisconnect")
        ),
        "StopTransactionOnInvalidId": Setting("true", "boolean", rw, ("TxCtrlr", "StopTxOnInvalidId")),
        "StopTxnAlignedData": Setting("", "MemberList", rw, ("AlignedDataCtrlr", "TxEndedMeasurands")),
        "StopTxnAlignedDataMaxLength": Setting("8", "integer", ro),
        "StopTxnSampledData": Setting(ENERGY, "MemberList", rw, ("SampledDataCtrlr", "TxEndedMeasurands")),
        "StopTxnSampledDataMaxLength": Setting("8", "integer", ro),
        "SupportedFeatureProfiles": Setting(FEATURE_PROFILES, "string", ro),
        "TransactionMessageAttempts": Setting("3", "integer", rw, ("OCPPCommCtrlr", "MessageAttempts")),
        "TransactionMessageRetryInterval": Setting(
            "10", "integer", rw, ("OCPPCommCtrlr", "MessageAttemptInterval"), "s"
        ),
        "UnlockConnectorOnEVSideDisconnect": Setting("true", "boolean", rw),
        "WebSocketPingInterval": Setting("0", "integer", rw, ("OCPPCommCtrlr", "WebSocketPingInterval"), "s"),
        "ChargeProfileMaxStackLevel": Setting(
            "8", "integer", ro, ("SmartChargingCtrlr", "ProfileStackLevel")
        ),
        "ChargingScheduleAllowedChargingRateUnit": Setting("Current,Power", "string", ro),
        "ChargingScheduleMaxPeriods": Setting(
            "24", "integer", ro, ("SmartChargingCtrlr", "PeriodsPerSchedule")
        ),
        "MaxChargingProfilesInstalled": Setting("16", "integer", ro),
        "SecurityProfile": Setting(
            str(security_profile), "integer", ro, ("SecurityCtrlr", "SecurityProfile")
        ),
        **_v201_only(),
    }


def _v201_only() -> dict[str, Setting]:
    """Device-model variables with no 1.6 key."""
    table = [
        ("SampledDataCtrlr", "TxStartedMeasurands", ENERGY, "MemberList", False),
        ("SmartChargingCtrlr", "Enabled", "true", "boolean", True),
        ("SmartChargingCtrlr", "RateUnit", "A,W", "string", True),
        ("ReservationCtrlr", "Enabled", "true", "boolean", True),
        ("AuthCtrlr", "Enabled", "true", "boolean", True),
    ]
    return {
        f"{component}.{variable}": Setting(value, data_type, readonly, (component, variable), v16=False)  # type: ignore[arg-type]
        for component, variable, value, data_type, readonly in table
    }


def default_config(*, evse_count: int, meter_interval_s: float, security_profile: int) -> Config:
    """A fresh station's configuration."""
    return Config(_settings(evse_count, meter_interval_s, security_profile))
