"""Who is asking, for rate limits and idempotency keys: a bearer token's user, else the client IP.

Only the token's signature and expiry are checked (no database round trip per request); the
route's own auth dependency still decides whether the session behind it is alive.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import Scope

from chargepoints.ports import Clock
from csms.accounts.errors import NotAuthenticated
from csms.accounts.tokens import read_access

Identify = Callable[[str], str | None]  # bearer token -> its user id when the token is genuine


def bearer_users(secret_key: str, clock: Clock) -> Identify:
    def identify(token: str) -> str | None:
        try:
            return str(read_access(token, secret_key, clock.now()).user_id)
        except NotAuthenticated:
            return None

    return identify


def user_of(scope: Scope, identify: Identify) -> str | None:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    token = token.strip()
    return identify(token) if scheme.lower() == "bearer" and token else None


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
