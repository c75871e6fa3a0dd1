"""Whether a site is open: its hours are wall clock ranges per weekday in the site's time zone.

``{"mon": [["08:00", "20:00"]], "sat": [["22:00", "06:00"]]}``: no hours at all means always open,
a day not listed is closed, "24:00" ends a day, and a range that ends before it starts runs past
midnight into the next day. Operators type these, so hours that cannot be read give None
("unknown") rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WALL = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")


def is_open(hours: Mapping[str, Any] | None, at: datetime, zone: ZoneInfo) -> bool | None:
    """Whether the site is open at the instant ``at``; None when its hours cannot be read."""
    if hours is None:
        return True
    local = at.astimezone(zone)
    minute, day = local.hour * 60 + local.minute, local.weekday()
    try:
        today, yesterday = _ranges(hours, DAYS[day]), _ranges(hours, DAYS[day - 1])
    except (AttributeError, TypeError, ValueError):
        return None
    return any(start <= minute < end or (end <= start <= minute) for start, end in today) or any(
        end <= start and minute < end for start, end in yesterday
    )


def _ranges(hours: Mapping[str, Any], day: str) -> list[tuple[int, int]]:
    return [(_minutes(start), _minutes(end)) for start, end in hours.get(day) or []]


def _minutes(wall: str) -> int:
    """Minutes since midnight of "HH:MM"."""
    found = _WALL.fullmatch(wall)
    if found is None or found[0] > "24:00":
        raise ValueError(f"not a wall clock time: {wall!r}")
    return int(found[1]) * 60 + int(found[2])
