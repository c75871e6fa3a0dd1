"""The alarm table; only ``chargepoints.alarms`` selects from it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import chargepoints.tables  # noqa: F401  (alarms refer to stations)
from csms.db import UtcDateTime


class AlarmRow(SQLModel, table=True):
    """A station that needs a person: a faulted connector (or station), or one silent too long.

    Rows are never deleted, so resolved alarms are the history. ``open_key`` names what is wrong
    ("faulted:CP-1/1/1", "offline:CP-1") while the alarm is open and is cleared when it is
    resolved: being unique, it keeps one open alarm per fault even when every node of a cluster
    sees the same event (NULLs never clash, on either database).
    """

    __tablename__ = "alarms"
    __table_args__ = (
        UniqueConstraint("open_key"),
        Index(None, "station_id", "raised_at"),
        Index(None, "raised_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # alarms.AlarmKind
    station_id: str = Field(foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    evse_id: int | None = None
    connector_id: int | None = None
    error_code: str | None = Field(default=None, max_length=50)
    raised_at: datetime = Field(sa_type=UtcDateTime)
    open_key: str | None = Field(default=None, max_length=80)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolved_by: str | None = Field(default=None, max_length=100)  # None once resolved: automatically
