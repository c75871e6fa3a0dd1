"""Emulator tests run against the real server on SQLite: they test the emulator, not backends."""

from __future__ import annotations

import pytest


@pytest.fixture
def backend() -> str:
    return "sqlite"
