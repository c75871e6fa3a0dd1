"""OCPP timestamps: RFC 3339 on the wire, aware UTC inside."""

from __future__ import annotations

from datetime import UTC, datetime

from csms.ocpp.errors import ErrorCodes, OcppCallError


def parse(value: str, codes: ErrorCodes) -> datetime:
    """Stations that omit the zone are read as UTC, which OCPP requires them to send anyway."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise OcppCallError(codes.property, f"Invalid timestamp {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
