"""Facts the charging use cases publish after their commit, for live views and other nodes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Event:
    station_id: str


@dataclass(frozen=True, slots=True)
class StationBooted(Event):
    status: str


@dataclass(frozen=True, slots=True)
class ConnectorStatusChanged(Event):
    evse_id: int
    connector_id: int
    status: str
    error_code: str | None


@dataclass(frozen=True, slots=True)
class TransactionStarted(Event):
    transaction_id: int
    evse_id: int | None
    id_token: str | None


@dataclass(frozen=True, slots=True)
class TransactionEnded(Event):
    transaction_id: int
    energy_wh: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class MeterValuesRecorded(Event):
    evse_id: int
    transaction_id: int | None
    energy_wh: float | None
    power_w: float | None
    at: datetime
    soc: float | None = None  # the EV's state of charge in percent, when the station reports it
    current_a: float | None = None  # the highest phase's Current.Import, for load management
    phases: int | None = None  # phases drawing current, when reported per phase


@dataclass(frozen=True, slots=True)
class SessionCostUpdated(Event):
    """The running cost of a session, as a decimal string in `currency` (events travel as JSON)."""

    transaction_id: int
    evse_id: int
    currency: str
    total: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SiteLoadChanged(Event):
    """A site's load limit (fixed or fed by a building meter) or a session's charging needs
    changed; smart charging shares the site out again. ``station_id`` is empty for a site limit."""

    site_id: int | None
    transaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class CdrWritten(Event):
    """A session's charge detail record is final: billing settles it."""

    transaction_id: int
    cdr_id: int
