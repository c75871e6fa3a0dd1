"""Headless provisioning with the same settings as ``csms run``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from csms.cli import main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("CSMS_DATABASE_URL", f"sqlite:///{path}")
    return path


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(text(sql))]
    engine.dispose()
    return rows


def test_migrate_station_and_token_add(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["station", "add", "CP-17", "--password", "s3cret-s3cret-16"]) == 0
    assert main(["station", "add", "CP-17", "--status", "Pending"]) == 0
    assert (
        main(
            [
                "token",
                "add",
                "04A1",
                "--status",
                "Blocked",
                "--expires",
                "2027-01-01T00:00:00Z",
                "--group",
                "FLEET",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "station CP-17 created" in out and "station CP-17 updated" in out
    ((status, password_hash),) = query(database, "SELECT registration_status, password_hash FROM stations")
    assert status == "Pending" and str(password_hash).startswith("$argon2id$")
    assert query(database, "SELECT token, status, group_id FROM id_tokens") == [("04A1", "Blocked", "FLEET")]


def test_invalid_input_is_refused_with_a_message(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["station", "add", "bad id"]) == 2
    assert "invalid station id" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["token", "add", "T", "--expires", "2027-01-01T00:00:00"])  # no zone
    assert query(database, "SELECT COUNT(*) FROM stations") == [(0,)]
