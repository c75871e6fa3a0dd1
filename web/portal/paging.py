"""Pages of long lists, and the filter values every list reads from its query string.

Filters arrive from plain GET forms, where an empty field is an empty string: they are read as
text and parsed leniently, so a blank date means no bound rather than an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import Request

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Page:
    """Page ``number`` (from 1) of ``total`` items; ``url`` keeps the request's other filters."""

    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def page_number(text: str) -> int:
    return int(text) if text.isdigit() and 0 < int(text) < 100_000 else 1


def page_url(request: Request, number: int) -> str:
    """This list's URL at another page, with the same filters."""
    url = request.url.include_query_params(page=number)
    return f"{url.path}?{url.query}"


def day_start(text: str) -> datetime | None:
    """The start (UTC) of the day an ``<input type=date>`` gave, or None when blank or invalid."""
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    except ValueError:
        return None


def day_end(text: str) -> datetime | None:
    """The end (UTC, exclusive) of the given day, so "to 24 Nov" includes the 24th."""
    start = day_start(text)
    return None if start is None else start + timedelta(days=1)
