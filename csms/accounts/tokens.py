"""Access tokens (HS256 JWTs), opaque refresh tokens, and the key that signs them.

An access token is checked without the database for its signature and expiry; the use case then
checks its session and ``ver`` so logout and password changes take effect at once. Only a hash of
a refresh token is stored: a copy of the database logs nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jwt

from csms.accounts.errors import NotAuthenticated
from csms.accounts.model import ACCESS_TTL, Role

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
_REQUIRED = ["sub", "tid", "role", "sid", "ver", "exp", "iat", "type"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    tenant_id: int
    role: Role
    session_id: int
    version: int


def issue_access(claims: AccessClaims, key: str, now: datetime) -> str:
    payload = {
        "sub": str(claims.user_id),  # RFC 7519 wants a string subject; PyJWT enforces it
        "tid": claims.tenant_id,
        "role": claims.role.value,
        "sid": claims.session_id,
        "ver": claims.version,
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TTL).timestamp()),
        "type": "access",
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def read_access(token: str, key: str, now: datetime) -> AccessClaims:
    """The claims of a genuine, unexpired access token; NotAuthenticated for anything else.

    Expiry is compared with ``now`` (the use case's clock), not PyJWT's wall clock.
    """
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # pinned: never let the token pick ("none", RS/HS confusion)
            options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
        )
        if payload["type"] != "access" or int(payload["exp"]) <= now.timestamp():
            raise NotAuthenticated("The access token has expired")
        return AccessClaims(
            int(payload["sub"]),
            int(payload["tid"]),
            Role(payload["role"]),
            int(payload["sid"]),
            int(payload["ver"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise NotAuthenticated("The access token is invalid") from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 suffices: a refresh token carries 256 random bits, nothing to guess from a hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(key: str, message: str) -> str:
    """For short secrets (six-digit codes) a plain hash is brute-forced offline; a keyed one is not."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def load_secret_key(configured: str | None, data_dir: str) -> str:
    """The configured key, else the one kept in ``<data_dir>/secret_key``, created on first start
    so that a restart keeps everyone logged in."""
    if configured:
        return configured
    path = Path(data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 32:
            raise ValueError(f"{path} holds a key shorter than 32 characters") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as file:
        file.write(key)
    log.info("Generated a signing key in %s; set CSMS_SECRET_KEY to share one between nodes", path)
    return key
