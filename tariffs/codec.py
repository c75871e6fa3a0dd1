"""A tariff definition as JSON, the shape stored in `tariff_versions.definition` and sent by the API.

Decimals travel as strings (JSON numbers are floats), times as "HH:MM" or "HH:MM:SS" with a
band's end at midnight written "24:00", days as "mon".."sun" and "holiday", holidays as ISO dates.
Reading checks the shape only; `tariffs.validation` judges whether the bands make sense.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from tariffs.errors import InvalidTariff
from tariffs.model import HOLIDAY, Band, IdleFee, Tariff

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
"""Day names by day number: Monday is 0, and `HOLIDAY` (7) is "holiday"."""
assert DAYS.index("holiday") == HOLIDAY

_TIME = re.compile(r"(\d\d):(\d\d)(?::(\d\d))?")
_FIELDS = frozenset(
    {
        "bands",
        "holidays",
        "time_fee_per_minute",
        "idle_fee",
        "session_fee",
        "min_price",
        "max_price",
        "tax_rate",
    }
)
_BAND_FIELDS = frozenset({"name", "days", "start", "end", "energy_fee", "service_fee"})
_IDLE_FIELDS = frozenset({"per_minute", "grace_minutes", "cap"})


def definition_to_json(t: Tariff) -> dict[str, Any]:
    """Everything but the currency, which belongs to the tariff, not to one of its versions."""
    return {
        "bands": [_band_to_json(band) for band in t.bands],
        "holidays": sorted(day.isoformat() for day in t.holidays),
        "time_fee_per_minute": _decimal_text(t.time_fee_per_minute),
        "idle_fee": None if t.idle_fee is None else _idle_to_json(t.idle_fee),
        "session_fee": _decimal_text(t.session_fee),
        "min_price": None if t.min_price is None else _decimal_text(t.min_price),
        "max_price": None if t.max_price is None else _decimal_text(t.max_price),
        "tax_rate": _decimal_text(t.tax_rate),
    }


def tariff_from_json(currency: str, d: Mapping[str, Any]) -> Tariff:
    """Read a definition; InvalidTariff names the field (and the band) when the shape is wrong."""
    if not isinstance(d, Mapping):
        raise InvalidTariff("definition: must be an object")
    _only(d, _FIELDS, "definition")
    bands = d.get("bands")
    if not isinstance(bands, list):
        raise InvalidTariff("bands: must be a list of bands")
    idle = d.get("idle_fee")
    return Tariff(
        currency=currency,
        bands=tuple(_band(i, b) for i, b in enumerate(bands)),
        holidays=_holidays(d.get("holidays", [])),
        time_fee_per_minute=_decimal(d.get("time_fee_per_minute", "0"), "time_fee_per_minute"),
        idle_fee=None if idle is None else _idle(idle),
        session_fee=_decimal(d.get("session_fee", "0"), "session_fee"),
        min_price=_optional_decimal(d.get("min_price"), "min_price"),
        max_price=_optional_decimal(d.get("max_price"), "max_price"),
        tax_rate=_decimal(d.get("tax_rate", "0"), "tax_rate"),
    )


def _band_to_json(band: Band) -> dict[str, Any]:
    return {
        "name": band.name,
        "days": [DAYS[day] for day in sorted(band.days)],
        "start": _time_text(band.start),
        "end": "24:00" if band.end == time(0) else _time_text(band.end),
        "energy_fee": _decimal_text(band.energy_fee),
        "service_fee": _decimal_text(band.service_fee),
    }


def _idle_to_json(fee: IdleFee) -> dict[str, Any]:
    return {
        "per_minute": _decimal_text(fee.per_minute),
        "grace_minutes": fee.grace_minutes,
        "cap": None if fee.cap is None else _decimal_text(fee.cap),
    }


def _band(index: int, value: object) -> Band:
    where = f"bands[{index}]"
    if not isinstance(value, Mapping):
        raise InvalidTariff(f"{where}: must be an object")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidTariff(f"{where}.name: a non-empty text is required")
    where, band = f'{where} ("{name}")', name
    try:
        _only(value, _BAND_FIELDS, where)
        return Band(
            name=name,
            days=_days(value.get("days"), f"{where}.days"),
            start=_time(value.get("start"), f"{where}.start", end=False),
            end=_time(value.get("end"), f"{where}.end", end=True),
            energy_fee=_decimal(value.get("energy_fee"), f"{where}.energy_fee"),
            service_fee=_decimal(value.get("service_fee", "0"), f"{where}.service_fee"),
        )
    except InvalidTariff as exc:
        raise InvalidTariff(str(exc), band=band) from None


def _idle(value: object) -> IdleFee:
    if not isinstance(value, Mapping):
        raise InvalidTariff("idle_fee: must be an object or null")
    _only(value, _IDLE_FIELDS, "idle_fee")
    grace = value.get("grace_minutes", 0)
    if not isinstance(grace, int) or isinstance(grace, bool):
        raise InvalidTariff("idle_fee.grace_minutes: must be a whole number of minutes")
    return IdleFee(
        per_minute=_decimal(value.get("per_minute"), "idle_fee.per_minute"),
        grace_minutes=grace,
        cap=_optional_decimal(value.get("cap"), "idle_fee.cap"),
    )


def _only(value: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise InvalidTariff(f"{where}: unknown field {', '.join(unknown)}")


def _days(value: object, where: str) -> frozenset[int]:
    if not isinstance(value, list) or not all(isinstance(day, str) and day in DAYS for day in value):
        raise InvalidTariff(f"{where}: must be a list of {', '.join(DAYS)}")
    return frozenset(DAYS.index(day) for day in value)


def _time(value: object, where: str, *, end: bool) -> time:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidTariff(f"{where}: {value!r} is not a time of day (HH:MM or HH:MM:SS)")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if end and (hour, minute, second) == (24, 0, 0):
        return time(0)
    if hour > 23 or minute > 59 or second > 59:
        limit = "00:00 to 24:00" if end else "00:00 to 23:59:59"
        raise InvalidTariff(f"{where}: {value!r} is out of range ({limit})")
    return time(hour, minute, second)


def _time_text(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _holidays(value: object) -> frozenset[date]:
    if not isinstance(value, list) or not all(isinstance(day, str) for day in value):
        raise InvalidTariff("holidays: must be a list of ISO dates (YYYY-MM-DD)")
    try:
        return frozenset(date.fromisoformat(day) for day in value)
    except ValueError as exc:
        raise InvalidTariff(f"holidays: {exc}") from None


def _decimal(value: object, where: str) -> Decimal:
    if not isinstance(value, str):
        raise InvalidTariff(f'{where}: must be a decimal written as a string, like "0.30"')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidTariff(f"{where}: {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise InvalidTariff(f"{where}: {value!r} is not a finite number")
    return number


def _optional_decimal(value: object, where: str) -> Decimal | None:
    return None if value is None else _decimal(value, where)


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")
