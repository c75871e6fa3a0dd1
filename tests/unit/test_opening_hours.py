"""Opening hours: ranges per weekday on the site's wall clock, overnight ranges, unreadable hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chargepoints.rules.opening_hours import is_open

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("hours", "local", "expected"),
    [
        (None, datetime(2026, 11, 24, 3, 0), True),
        ({}, datetime(2026, 11, 24, 12, 0), False),
        ({"tue": [["08:00", "12:00"]]}, datetime(2026, 11, 24, 8, 0), True),
        ({"tue": [["08:00", "12:00"]]}, datetime(2026, 11, 24, 12, 0), False),
        ({"tue": [["08:00", "12:00"], ["14:00", "24:00"]]}, datetime(2026, 11, 24, 23, 59), True),
        ({"tue": [["00:00", "24:00"]]}, datetime(2026, 11, 25, 0, 0), False),
        ({"mon": [["22:00", "06:00"]]}, datetime(2026, 11, 24, 5, 59), True),
        ({"mon": [["22:00", "06:00"]]}, datetime(2026, 11, 24, 6, 0), False),
        ({"tue": [["22:00", "06:00"]]}, datetime(2026, 11, 24, 23, 0), True),
        ({"sun": [["22:00", "02:00"]]}, datetime(2026, 11, 24, 1, 0), False),
        ({"tue": [["8:00", "12:00"]]}, datetime(2026, 11, 24, 9, 0), None),
        ({"tue": [["08:00", "24:01"]]}, datetime(2026, 11, 24, 9, 0), None),
        ({"tue": ["08:00"]}, datetime(2026, 11, 24, 9, 0), None),
        ({"tue": "always"}, datetime(2026, 11, 24, 9, 0), None),
        (["tue"], datetime(2026, 11, 24, 9, 0), None),
    ],
)
def test_is_open(hours: Any, local: datetime, expected: bool | None) -> None:
    assert is_open(hours, local.replace(tzinfo=SHANGHAI).astimezone(UTC), SHANGHAI) is expected
