"""Access tokens and the signing key: what is accepted, what is refused, and why."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from csms.accounts.errors import NotAuthenticated
from csms.accounts.model import ACCESS_TTL, AuthConfig, Role
from csms.accounts.tokens import (
    AccessClaims,
    issue_access,
    keyed_hash,
    load_secret_key,
    new_refresh_token,
    read_access,
    token_hash,
)
from csms.settings import Settings

KEY = "k" * 32
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CLAIMS = AccessClaims(user_id=7, tenant_id=3, role=Role.VIP_DRIVER, session_id=11, version=2)


def _payload(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False}))


def test_an_access_token_carries_its_claims() -> None:
    token = issue_access(CLAIMS, KEY, NOW)

    assert read_access(token, KEY, NOW + ACCESS_TTL - timedelta(seconds=1)) == CLAIMS
    payload = _payload(token)
    assert payload["sub"] == "7"
    assert payload["type"] == "access"
    assert payload["exp"] - payload["iat"] == 15 * 60


def test_an_access_token_expires_after_fifteen_minutes() -> None:
    token = issue_access(CLAIMS, KEY, NOW)

    with pytest.raises(NotAuthenticated, match="expired"):
        read_access(token, KEY, NOW + ACCESS_TTL)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: issue_access(CLAIMS, "x" * 32, NOW), id="other key"),
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="tampered"),
        pytest.param(lambda t: "not-a-jwt", id="garbage"),
        pytest.param(
            lambda t: jwt.encode({**_payload(t)}, None, algorithm="none"),
            id="alg none",
        ),
        pytest.param(
            lambda t: jwt.encode({**_payload(t), "type": "refresh"}, KEY),
            id="not an access token",
        ),
        pytest.param(
            lambda t: jwt.encode({"sub": "7", "exp": 4_000_000_000, "iat": 0, "type": "access"}, KEY),
            id="claims missing",
        ),
        pytest.param(
            lambda t: jwt.encode({**_payload(t), "role": "root"}, KEY),
            id="unknown role",
        ),
    ],
)
def test_forged_or_malformed_tokens_are_refused(forge: object) -> None:
    token = forge(issue_access(CLAIMS, KEY, NOW))  # type: ignore[operator]

    with pytest.raises(NotAuthenticated):
        read_access(token, KEY, NOW)


def test_refresh_tokens_are_random_and_stored_only_as_hashes() -> None:
    first, second = new_refresh_token(), new_refresh_token()

    assert first != second and len(first) >= 43
    assert token_hash(first) == token_hash(first) != token_hash(second)
    assert first not in token_hash(first)


def test_keyed_hashes_depend_on_the_key() -> None:
    assert keyed_hash(KEY, "123456") != keyed_hash("y" * 32, "123456")


def test_a_generated_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    key = load_secret_key(None, str(tmp_path / "data"))

    path = tmp_path / "data" / "secret_key"
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(None, str(tmp_path / "data")) == key


def test_a_configured_key_wins_and_writes_nothing(tmp_path: Path) -> None:
    assert load_secret_key(KEY, str(tmp_path)) == KEY
    assert not (tmp_path / "secret_key").exists()


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short")

    with pytest.raises(ValueError, match="shorter than 32"):
        load_secret_key(None, str(tmp_path))
    with pytest.raises(ValueError, match="at least 32"):
        AuthConfig("short")


def test_settings_refuse_a_short_secret_key() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(secret_key="too short")
    assert Settings(secret_key="").secret_key is None
    configured = Settings(secret_key=KEY).secret_key
    assert configured is not None and configured.get_secret_value() == KEY and KEY not in repr(configured)
