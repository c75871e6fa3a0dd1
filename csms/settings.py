"""One validated configuration for every entry point (``csms run``, ``csms demo``, tests).

Deployments rely on these exact variable names, so they are part of the public contract.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class UnknownStationPolicy(StrEnum):
    """What a BootNotification from a station that is not in the database gets."""

    REJECT = "reject"
    ACCEPT = "accept"
    PENDING = "pending"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Settings(BaseSettings):
    """Read from ``CSMS_*`` environment variables; flags of ``csms run`` may override them."""

    model_config = SettingsConfigDict(env_prefix="CSMS_", extra="ignore", frozen=True)

    database_url: str = "sqlite+aiosqlite:///csms.db"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    heartbeat_interval: int = Field(default=300, ge=1, le=86_400)
    unknown_stations: UnknownStationPolicy = UnknownStationPolicy.REJECT
    log_level: LogLevel = LogLevel.INFO
    message_log_retention_days: int = Field(default=30, ge=1)
    response_timeout: float = Field(default=30.0, gt=0)
    websocket_ping_interval: int = Field(default=0, ge=0)
    node_id: str | None = None
    public_url: str | None = None
    data_dir: str = "csms-data"
    stale_session_hours: int = Field(default=24, ge=1)  # a running session silent this long is flagged
    offline_alarm_minutes: int = Field(default=10, ge=1)  # a station unheard of this long raises an alarm
    wallet_min_balance: Decimal = Field(default=Decimal(10), ge=0, le=100_000)  # a wallet start needs this
    wallet_hold: Decimal = Field(default=Decimal(50), ge=0, le=100_000)  # set aside per session
    platform_fee_rate: Decimal = Field(default=Decimal("0.05"), ge=0, le=1)  # platform share of a session
    payment_provider: str = Field(default="sandbox", pattern="^(sandbox|stripe|wechat|alipay)$")
    payment_webhook_tolerance_s: int = Field(default=300, ge=30, le=3600)  # older callbacks refused
    points_per_kwh: int = Field(default=1, ge=0, le=1000)  # points a driver earns per kWh charged
    points_per_currency_unit: int = Field(default=1, ge=0, le=1000)  # and per whole unit paid
    sign_in_points: int = Field(default=5, ge=0, le=10_000)  # once a day
    invitation_points: int = Field(default=100, ge=0, le=100_000)  # each side, after the first paid session
    load_debounce: float = Field(default=1.0, ge=0, le=60)  # s smart charging waits to gather changes
    load_stack_level: int = Field(default=1, ge=0, le=100)  # stack level of the TxProfiles it sends
    load_history_days: int = Field(default=90, ge=1)  # how long sites' load samples are kept
    load_retry: float = Field(default=30.0, gt=0)  # s before a profile a station refused is sent again
    cost_update_interval: float = Field(default=60.0, ge=0)  # s between a session's CostUpdated; 0: never
    cost_data_transfer_vendor: str | None = Field(default=None, max_length=255)  # 1.6 running cost, if set
    start_wait: float = Field(default=20.0, gt=0, le=120)  # s a driver's start waits for the session
    secret_key: SecretStr | None = None  # signs access tokens; unset: one kept in <data_dir>/secret_key
    sms_code_ttl: int = Field(default=300, ge=60, le=3600)  # s an SMS log-in code stays valid
    sms_webhook_url: str | None = None  # gateway that gets {phone, text} as JSON; unset: codes are logged
    idempotency_ttl_hours: int = Field(default=24, ge=1)  # how long an Idempotency-Key's answer is kept
    rate_limit_per_minute: int = Field(default=120, ge=0)  # per user (or anonymous IP) on /api/v1; 0: off
    rate_limit_ip_per_minute: int = Field(default=600, ge=0)  # per client IP on /api/v1; 0: off
    cors_origins: str = ""  # comma-separated origins allowed to call /api/ from a browser; empty: none
    portal_session_hours: int = Field(default=12, ge=1, le=720)  # a portal log-in lasts this long
    # The site map's tiles ({z}/{x}/{y} template); empty: no map, the portal lists the sites instead.
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        value = normalise_database_url(value)
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (try: openssl rand -base64 48)")
        return value

    @field_validator("sms_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be the http:// or https:// address stations reach this server at")
        return value.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.cors_origins.split(",") if origin.strip()]


def normalise_database_url(url: str) -> str:
    """Accept the plain URLs operators paste and pick the async driver we ship."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class SettingsError(Exception):
    """A configuration value is invalid; the message is one line naming the variable."""


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's report into one line per bad variable."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CSMS_" + str(first["loc"][0]).upper() if first["loc"] else "CSMS settings"
        raise SettingsError(f"{name}: {first['msg']}") from None
