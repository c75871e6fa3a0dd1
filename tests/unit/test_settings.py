"""Settings: the documented names, their defaults, one clear line for a bad value."""

from __future__ import annotations

import pytest

from csms.cli import main
from csms.settings import SettingsError, UnknownStationPolicy, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "HOST", "PORT", "UNKNOWN_STATIONS", "LOG_LEVEL"):
        monkeypatch.delenv(f"CSMS_{name}", raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///csms.db"
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.unknown_stations is UnknownStationPolicy.REJECT


def test_environment_and_plain_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSMS_DATABASE_URL", "postgresql://postgres@127.0.0.1/csms")
    monkeypatch.setenv("CSMS_UNKNOWN_STATIONS", "pending")
    monkeypatch.setenv("CSMS_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1/csms"
    assert settings.unknown_stations is UnknownStationPolicy.PENDING
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSMS_PORT", "eighty"),
        ("CSMS_PORT", "70000"),
        ("CSMS_UNKNOWN_STATIONS", "maybe"),
        ("CSMS_DATABASE_URL", "mysql://x"),
        ("CSMS_HEARTBEAT_INTERVAL", "0"),
        ("CSMS_REDIS_URL", "http://localhost"),
        ("CSMS_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}:") and "\n" not in str(error.value)
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and name in err
