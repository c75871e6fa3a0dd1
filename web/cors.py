"""CORS for the REST API, so a browser app on another origin may call ``/api/``.

Credentials stay off: the API authenticates with bearer tokens, never cookies. Other paths (the
OCPP endpoint, health, docs) answer without CORS headers.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

API_PREFIX = "/api/"
EXPOSED_HEADERS = ["Retry-After", "Idempotent-Replayed", "Location"]


class ApiCors:
    """Starlette's CORSMiddleware, applied to ``/api/`` only."""

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_credentials=False,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = scope["type"] == "http" and scope["path"].startswith(API_PREFIX)
        await (self.cors if api else self.app)(scope, receive, send)


def install(app: Starlette, origins: list[str]) -> None:
    """Nothing is added without origins: the API then sends no CORS headers at all."""
    if origins:
        app.add_middleware(ApiCors, origins=origins)
