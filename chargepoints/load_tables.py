"""Tables of smart charging: site limits, what each session was given, the site's history, the
drivers' charging needs and the operators' profile library."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import chargepoints.tables  # noqa: F401  (limits belong to sites, allocations to transactions)
from csms.db import Money, UtcDateTime


class SiteLoadRow(SQLModel, table=True):
    """A site's grid connection: the most it may import, and a limit fed from a building meter.

    ``unit`` is "A" (per phase) or "W". The dynamic limit counts only until ``dynamic_until``,
    so a meter feed that dies falls back to the fixed maximum instead of pinning a stale value.
    """

    __tablename__ = "site_loads"

    site_id: int = Field(primary_key=True, foreign_key="sites.id", ondelete="CASCADE")
    unit: str = Field(default="A", max_length=1)
    max_import: Decimal = Field(sa_type=Money)
    dynamic_limit: Decimal | None = Field(default=None, sa_type=Money)
    dynamic_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    min_current_a: Decimal = Field(default=Decimal(6), sa_type=Money)
    enabled: bool = True
    updated_at: datetime = Field(sa_type=UtcDateTime)


class AllocationRow(SQLModel, table=True):
    """The limit last sent to a session as its TxProfile, and whether the station took it.

    Kept in the database so any node, also after a restart, sends only what changed.
    """

    __tablename__ = "session_allocations"

    transaction_id: int = Field(primary_key=True, foreign_key="transactions.id", ondelete="CASCADE")
    site_id: int = Field(foreign_key="sites.id", ondelete="CASCADE", index=True)
    station_id: str = Field(max_length=48)
    profile_id: int | None = Field(default=None, foreign_key="charging_profiles.id", ondelete="SET NULL")
    limit_a: Decimal = Field(sa_type=Money)
    status: str = Field(default="Pending", max_length=10)  # Pending, Accepted, Rejected, Failed
    attempts: int = 0
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    raised_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # when the limit last went up
    updated_at: datetime = Field(sa_type=UtcDateTime)


class SiteLoadSampleRow(SQLModel, table=True):
    """One moment of a site: its limit, what each session was allocated and what it drew.

    ``sessions`` maps a transaction id to {"allocated_a", "measured_a", "phases"}.
    """

    __tablename__ = "site_load_samples"
    __table_args__ = (Index(None, "site_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", ondelete="CASCADE")
    at: datetime = Field(sa_type=UtcDateTime)
    unit: str = Field(max_length=1)
    limit: Decimal = Field(sa_type=Money)
    allocated_a: Decimal = Field(sa_type=Money)
    measured_a: Decimal | None = Field(default=None, sa_type=Money)
    sessions: dict[str, dict[str, Any]] = Field(default_factory=dict, sa_type=JSON)


class ChargingNeedRow(SQLModel, table=True):
    """When the driver leaves and how much energy the EV needs, from the EV (2.0.1
    NotifyEVChargingNeeds) or from the app; cost-aware charging plans around it."""

    __tablename__ = "charging_needs"

    transaction_id: int = Field(primary_key=True, foreign_key="transactions.id", ondelete="CASCADE")
    departure_at: datetime = Field(sa_type=UtcDateTime)
    energy_wh: int
    max_power_w: int | None = None
    source: str = Field(max_length=8)  # "ev" or "app"
    updated_at: datetime = Field(sa_type=UtcDateTime)


class ProfileTemplateRow(SQLModel, table=True):
    """A charging profile an operator keeps in the tenant's library to apply to stations."""

    __tablename__ = "charging_profile_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    definition: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
