"""Tables of the pricing domain; only the repository selects from them.

A tariff's versions are immutable: a change is a new version, so a session that pinned a version
id keeps its price. Definitions are stored as the JSON of `tariffs.codec`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from csms.db import UtcDateTime


class TariffRow(SQLModel, table=True):
    __tablename__ = "tariffs"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id")
    name: str = Field(max_length=100)
    currency: str = Field(max_length=3)  # the tenant's, copied: a version's prices are in it
    archived: bool = False
    created_at: datetime = Field(sa_type=UtcDateTime)


class TariffVersionRow(SQLModel, table=True):
    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("tariff_id", "version"), Index(None, "tariff_id", "valid_from"))

    id: int | None = Field(default=None, primary_key=True)
    tariff_id: int = Field(foreign_key="tariffs.id")
    version: int
    valid_from: datetime = Field(sa_type=UtcDateTime)
    definition: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)
    created_by: str = Field(max_length=100)


class TariffAssignmentRow(SQLModel, table=True):
    """Which tariff a site, a station or one EVSE of a station charges.

    `target` ("site:3", "station:CP-1", "evse:CP-1/2") is unique, so a target has one tariff at a
    time on both databases (a unique constraint over nullable columns would let NULLs repeat).
    """

    __tablename__ = "tariff_assignments"
    __table_args__ = (
        UniqueConstraint("target"),
        Index(None, "tariff_id"),
        CheckConstraint(
            "(site_id IS NOT NULL AND station_id IS NULL AND evse_id IS NULL)"
            " OR (site_id IS NULL AND station_id IS NOT NULL)",
            name="one_target",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    tariff_id: int = Field(foreign_key="tariffs.id", ondelete="CASCADE")
    target: str = Field(max_length=80)
    site_id: int | None = Field(default=None, foreign_key="sites.id", ondelete="CASCADE")
    station_id: str | None = Field(default=None, foreign_key="stations.id", ondelete="CASCADE", max_length=48)
    evse_id: int | None = None
