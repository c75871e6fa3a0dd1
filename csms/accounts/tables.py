"""Tables of the accounts domain; only repositories and queries select from them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from csms.db import UtcDateTime


class TenantRow(SQLModel, table=True):
    """An operator company: it owns tariffs and bills in one currency (ISO 4217)."""

    __tablename__ = "tenants"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    currency: str = Field(min_length=3, max_length=3)
    created_at: datetime = Field(sa_type=UtcDateTime)
