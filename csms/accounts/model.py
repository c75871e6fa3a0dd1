"""Roles, code purposes and what the account use cases hand back to the edges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    INVESTOR = "investor"
    DRIVER = "driver"
    VIP_DRIVER = "vip_driver"


DRIVER_ROLES = frozenset({Role.DRIVER, Role.VIP_DRIVER})


class CodePurpose(StrEnum):
    """What an SMS code may be spent on: a code sent for logging in cannot reset a password."""

    LOGIN = "login"
    REGISTER = "register"
    RESET = "reset"


APP_TOKEN_TYPE = "Central"  # OCPP 2.0.1 IdTokenEnumType of a token the CSMS itself issued
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The server's signing key (JWTs, SMS code hashes) and how long an SMS code lives."""

    secret_key: str
    code_ttl: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32:
            raise ValueError("the secret key must be at least 32 characters")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an access token speaks for, after checking its session is still alive."""

    user_id: int
    tenant_id: int
    role: Role
    session_id: int


@dataclass(frozen=True, slots=True)
class Login:
    """A token pair: the short-lived access JWT and the opaque refresh token of the session."""

    identity: Identity
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid


@dataclass(frozen=True, slots=True)
class Registration:
    tenant_id: int
    phone: str
    code: str
    password: str | None = None
    display_name: str | None = None
    invitation_code: str | None = None


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user an administrator (or a test) creates directly, without an SMS round trip."""

    tenant_id: int
    phone: str
    role: Role = Role.DRIVER
    password: str | None = None
    display_name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    plate: str
    model: str | None = None
    battery_wh: int | None = None
    connector_type: str | None = None
