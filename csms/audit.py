"""The audit log: every operator action, written in the same database transaction as its effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from csms.db import UtcDateTime


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "subject", "at"), Index(None, "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    subject: str = Field(max_length=100)  # e.g. "tariff:3", "transaction:812"
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


def record(
    session: AsyncSession, *, actor: str, action: str, subject: str, details: dict[str, Any], at: datetime
) -> None:
    """Add an entry to `session`; it is committed, or discarded, with the action it records."""
    session.add(AuditRow(at=at, actor=actor, action=action, subject=subject, details=details))
