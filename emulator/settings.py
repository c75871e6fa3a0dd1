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

    def checked(self, value: str, measurands: frozenset[str]) -> str:
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
            unknown = {item for item in value.split(",") if item} - measurands
            if unknown:
                raise ValueError(f"unsupported measurands {sorted(unknown)}")
        return value


class Config:
    """The settings by 1.6 key (2.0.1-only ones by "Component.Variable"); `on_change` sees writes."""

    def __init__(self, settings: dict[str, Setting], measurands: frozenset[str]) -> None:
        self._settings = settings
        self._measurands = measurands
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
            checked = setting.checked(value, self._measurands)
        except ValueError:
            return "Rejected"
        self.store(key, checked)
        return "Accepted"


RW, RO = False, True
# 1.6 key, default, type, read-only, 2.0.1 (component, variable), unit; defaults as the 1.6
# specification recommends. Station-specific values are filled in by `default_config`.
KEYS: tuple[tuple[str, str, DataType, bool, tuple[str, str] | None, str | None], ...] = (
    (
        "AllowOfflineTxForUnknownId",
        "false",
        "boolean",
        RW,
        ("AuthCtrlr", "OfflineTxForUnknownIdEnabled"),
        None,
    ),
    ("AuthorizationCacheEnabled", "true", "boolean", RW, ("AuthCacheCtrlr", "Enabled"), None),
    ("AuthorizeRemoteTxRequests", "false", "boolean", RW, ("AuthCtrlr", "AuthorizeRemoteStart"), None),
    ("ClockAlignedDataInterval", "0", "integer", RW, ("AlignedDataCtrlr", "Interval"), "s"),
    ("ConnectionTimeOut", "60", "integer", RW, ("TxCtrlr", "EVConnectionTimeOut"), "s"),
    ("ConnectorPhaseRotation", "", "string", RW, None, None),
    ("GetConfigurationMaxKeys", "100", "integer", RO, None, None),
    (
        "HeartbeatInterval",
        str(DEFAULT_HEARTBEAT_INTERVAL_S),
        "integer",
        RW,
        ("OCPPCommCtrlr", "HeartbeatInterval"),
        "s",
    ),
    ("LocalAuthListEnabled", "true", "boolean", RW, ("LocalAuthListCtrlr", "Enabled"), None),
    ("LocalAuthListMaxLength", "1000", "integer", RO, None, None),
    ("LocalAuthorizeOffline", "true", "boolean", RW, ("AuthCtrlr", "LocalAuthorizeOffline"), None),
    ("LocalPreAuthorize", "false", "boolean", RW, ("AuthCtrlr", "LocalPreAuthorize"), None),
    ("MeterValuesAlignedData", ENERGY, "MemberList", RW, ("AlignedDataCtrlr", "Measurands"), None),
    ("MeterValuesAlignedDataMaxLength", "8", "integer", RO, None, None),
    (
        "MeterValuesSampledData",
        SAMPLED_MEASURANDS,
        "MemberList",
        RW,
        ("SampledDataCtrlr", "TxUpdatedMeasurands"),
        None,
    ),
    ("MeterValuesSampledDataMaxLength", "8", "integer", RO, None, None),
    ("MeterValueSampleInterval", "60", "decimal", RW, ("SampledDataCtrlr", "TxUpdatedInterval"), "s"),
    ("NumberOfConnectors", "1", "integer", RO, None, None),
    ("ResetRetries", "3", "integer", RW, ("OCPPCommCtrlr", "ResetRetries"), None),
    ("ReserveConnectorZeroSupported", "false", "boolean", RO, None, None),
    ("SendLocalListMaxLength", "100", "integer", RO, ("LocalAuthListCtrlr", "ItemsPerMessage"), None),
    (
        "StopTransactionOnEVSideDisconnect",
        "true",
        "boolean",
        RW,
        ("TxCtrlr", "StopTxOnEVSideDisconnect"),
        None,
    ),
    ("StopTransactionOnInvalidId", "true", "boolean", RW, ("TxCtrlr", "StopTxOnInvalidId"), None),
    ("StopTxnAlignedData", "", "MemberList", RW, ("AlignedDataCtrlr", "TxEndedMeasurands"), None),
    ("StopTxnAlignedDataMaxLength", "8", "integer", RO, None, None),
    ("StopTxnSampledData", ENERGY, "MemberList", RW, ("SampledDataCtrlr", "TxEndedMeasurands"), None),
    ("StopTxnSampledDataMaxLength", "8", "integer", RO, None, None),
    ("SupportedFeatureProfiles", FEATURE_PROFILES, "string", RO, None, None),
    ("TransactionMessageAttempts", "3", "integer", RW, ("OCPPCommCtrlr", "MessageAttempts"), None),
    (
        "TransactionMessageRetryInterval",
        "10",
        "integer",
        RW,
        ("OCPPCommCtrlr", "MessageAttemptInterval"),
        "s",
    ),
    ("UnlockConnectorOnEVSideDisconnect", "true", "boolean", RW, None, None),
    ("WebSocketPingInterval", "0", "integer", RW, ("OCPPCommCtrlr", "WebSocketPingInterval"), "s"),
    ("ChargeProfileMaxStackLevel", "8", "integer", RO, ("SmartChargingCtrlr", "ProfileStackLevel"), None),
    ("ChargingScheduleAllowedChargingRateUnit", "Current,Power", "string", RO, None, None),
    ("ChargingScheduleMaxPeriods", "24", "integer", RO, ("SmartChargingCtrlr", "PeriodsPerSchedule"), None),
    ("MaxChargingProfilesInstalled", "16", "integer", RO, None, None),
    ("SecurityProfile", "0", "integer", RO, ("SecurityCtrlr", "SecurityProfile"), None),
)
# Device-model variables with no 1.6 key: component, variable, default, type, read-only.
V201_ONLY: tuple[tuple[str, str, str, DataType, bool], ...] = (
    ("SampledDataCtrlr", "TxStartedMeasurands", ENERGY, "MemberList", RW),
    ("SmartChargingCtrlr", "Enabled", "true", "boolean", RO),
    ("SmartChargingCtrlr", "RateUnit", "A,W", "string", RO),
    ("ReservationCtrlr", "Enabled", "true", "boolean", RO),
    ("AuthCtrlr", "Enabled", "true", "boolean", RO),
)


def default_config(
    *, version: str, evse_count: int, meter_interval_s: float, security_profile: int
) -> Config:
    """A fresh station's configuration for its OCPP version."""
    settings = {
        key: Setting(value, kind, ro, variable, unit) for key, value, kind, ro, variable, unit in KEYS
    }
    for component, variable, value, kind, ro in V201_ONLY:
        settings[f"{component}.{variable}"] = Setting(value, kind, ro, (component, variable), v16=False)
    settings["ConnectorPhaseRotation"].value = ",".join(f"{n}.RST" for n in range(1, evse_count + 1))
    settings["MeterValueSampleInterval"].value = f"{meter_interval_s:g}"
    settings["NumberOfConnectors"].value = str(evse_count)
    settings["SecurityProfile"].value = str(security_profile)
    return Config(settings, MEASURANDS[version])
