"""Tables of drivers' feedback: reviews of sessions and complaints; only chargepoints.feedback and
the driver read models select from them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import chargepoints.tables  # noqa: F401  (reviews and complaints refer to sessions, users, tenants)
from csms.db import UtcDateTime


class ReviewRow(SQLModel, table=True):
    """A driver's rating of one ended session. The unique transaction makes it one per session,
    whoever asks twice; the station is copied from the session so ratings add up per station."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("transaction_id"),
        Index(None, "station_id", "created_at"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
    )

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: int = Field(foreign_key="transactions.id", ondelete="CASCADE")
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    rating: int
    comment: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UtcDateTime)


class ComplaintRow(SQLModel, table=True):
    """A driver's complaint and the operator's answer. The tenant says whose operators handle it;
    the station is a plain id so a complaint outlives a station that is taken down."""

    __tablename__ = "complaints"
    __table_args__ = (Index(None, "tenant_id", "status", "created_at"), Index(None, "user_id", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    station_id: str | None = Field(default=None, max_length=48)
    transaction_id: int | None = Field(default=None, foreign_key="transactions.id", ondelete="SET NULL")
    category: str = Field(max_length=16)
    text: str = Field(max_length=2000)
    status: str = Field(default="open", max_length=12)
    response: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
