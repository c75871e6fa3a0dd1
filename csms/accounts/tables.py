"""Tables of the accounts domain; only repositories and queries select from them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from csms.db import UtcDateTime


class TenantRow(SQLModel, table=True):
    """An operator company: it owns tariffs and bills in one currency (ISO 4217)."""

    __tablename__ = "tenants"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    currency: str = Field(min_length=3, max_length=3)
    created_at: datetime = Field(sa_type=UtcDateTime)


class UserRow(SQLModel, table=True):
    """A person with a login at one tenant; the same phone may sign up at two tenants.

    ``token_version`` is copied into every access token: bumping it (password change) makes all
    of the user's tokens stale at once. ``invitation_code`` is the code this user shares.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "phone"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    role: str = Field(max_length=12)
    phone: str = Field(max_length=20)
    email: str | None = Field(default=None, max_length=255)
    display_name: str | None = Field(default=None, max_length=100)
    password_hash: str | None = Field(default=None, max_length=255)
    token_version: int = 0
    invitation_code: str = Field(unique=True, max_length=16)
    invited_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    postpaid: bool = False  # a fleet account: charges without a wallet balance, invoiced monthly
    disabled: bool = False
    created_at: datetime = Field(sa_type=UtcDateTime)


class AuthSessionRow(SQLModel, table=True):
    """One login on one device: a refresh-token family. Only the current token's hash is kept."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    refresh_hash: str = Field(unique=True, max_length=64)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_used_at: datetime = Field(sa_type=UtcDateTime)


class SpentRefreshTokenRow(SQLModel, table=True):
    """A refresh token already rotated: seeing it again means it was copied, so its session dies."""

    __tablename__ = "spent_refresh_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: int = Field(foreign_key="auth_sessions.id", ondelete="CASCADE", index=True)
    spent_at: datetime = Field(sa_type=UtcDateTime)


class SmsCodeRow(SQLModel, table=True):
    """A one-time code texted to a phone; rows also count the sends that rate limits look at."""

    __tablename__ = "sms_codes"
    __table_args__ = (Index(None, "tenant_id", "phone", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    phone: str = Field(max_length=20)
    purpose: str = Field(max_length=10)
    code_hash: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = 0
    created_at: datetime = Field(sa_type=UtcDateTime)


class VehicleRow(SQLModel, table=True):
    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("user_id", "plate"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    plate: str = Field(max_length=16)
    model: str | None = Field(default=None, max_length=100)
    battery_wh: int | None = None
    connector_type: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(sa_type=UtcDateTime)


class FavoriteRow(SQLModel, table=True):
    __tablename__ = "favorites"
    __table_args__ = (UniqueConstraint("user_id", "station_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    created_at: datetime = Field(sa_type=UtcDateTime)
