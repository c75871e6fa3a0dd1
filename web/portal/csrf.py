"""Cross-site request forgery protection and the portal's cookies.

The token is an HMAC of a per-browser secret under the server key: the session token once logged
in, before that a random seed in a cookie of its own (so the log-in form is protected too). A page
from another site can neither read these cookies nor compute the token, so every unsafe request
must carry it: forms in the ``csrf_token`` field, htmx in the ``X-CSRF-Token`` header (set once on
``<body hx-headers>``). Comparing HMACs needs no database: the session itself is checked separately.

Cookies get the ``__Host-`` prefix and ``Secure`` over HTTPS (uvicorn trusts ``X-Forwarded-Proto``
from the addresses in ``--forwarded-allow-ips``); browsers refuse both over plain HTTP, where the
names go without the prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SESSION = "csms_session"
SEED = "csms_csrf"


class CsrfRejected(Exception):
    """An unsafe request without the right token."""


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    return f"__Host-{base}" if is_secure(request) else base


def set_cookie(request: Request, response: Response, base: str, value: str, *, max_age: int | None) -> None:
    """HttpOnly and SameSite=Lax always; Secure with the ``__Host-`` prefix (so Path=/ and no
    Domain) over HTTPS."""
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=is_secure(request),
        httponly=True,
        samesite="lax",
    )


def delete_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base), path="/", secure=is_secure(request), httponly=True, samesite="lax"
    )


def session_token(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request, SESSION)) or None


def token_for(secret_key: str, seed: str) -> str:
    return hmac.new(secret_key.encode(), f"portal-csrf:{seed}".encode(), hashlib.sha256).hexdigest()


def _secret(request: Request) -> str:
    key: str = request.app.state.system.auth.secret_key
    return key


def _seed(request: Request) -> str | None:
    return session_token(request) or request.cookies.get(cookie_name(request, SEED)) or None


def ensure_token(request: Request) -> tuple[str, str | None]:
    """The token pages of this request embed, and a new seed to set as a cookie if the browser has
    neither a session nor a seed yet (the same seed is reused for the rest of the request)."""
    seed, fresh = _seed(request), None
    if seed is None:
        seed = fresh = getattr(request.state, "csrf_seed", None) or secrets.token_urlsafe(32)
        request.state.csrf_seed = fresh
    return token_for(_secret(request), seed), fresh


async def verify(request: Request) -> None:
    """The portal router's dependency: every unsafe method must carry the token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else None
    seed = _seed(request)
    if not sent or seed is None or not hmac.compare_digest(sent, token_for(_secret(request), seed)):
        raise CsrfRejected()
