"""Tables of the operator portal's log-ins: browser sessions, language choice, investors' sites."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from csms.db import UtcDateTime


class PortalSessionRow(SQLModel, table=True):
    """One browser logged in to the portal. The cookie holds a random token; only its hash is kept.

    ``token_version`` is the user's at log-in: a password change bumps the user's, which ends every
    portal session at once. ``tenant_filter`` is the tenant an administrator chose to look at.
    """

    __tablename__ = "portal_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    token_version: int
    tenant_filter: int | None = Field(default=None, foreign_key="tenants.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class UserLanguageRow(SQLModel, table=True):
    """The language a user chose for the portal (a gettext locale such as ``zh_CN``)."""

    __tablename__ = "user_languages"

    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    language: str = Field(max_length=10)


class SiteInvestorRow(SQLModel, table=True):
    """An investor owns (a share of) a site: the portal shows them its revenue and usage only."""

    __tablename__ = "site_investors"

    site_id: int = Field(foreign_key="sites.id", ondelete="CASCADE", primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True, index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)
