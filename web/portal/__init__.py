"""The operator portal at /portal: server-rendered pages, htmx partials, packaged assets.

Each feature is a module ``web.portal.<name>`` with ``router = APIRouter()`` whose paths are relative
to ``/portal`` (``@router.get("/stations")`` serves ``/portal/stations``); list its name in
``FEATURES``. Every unsafe request under /portal must carry the CSRF token (``web.portal.csrf``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from importlib import import_module
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from chargepoints.errors import ChargingError
from csms.accounts.errors import AccountError
from tariffs.errors import TariffError
from web.portal import csrf, i18n
from web.portal.deps import Forbidden, LoginRequired
from web.portal.templating import local_url, render, toast, translate

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
PREFIX = "/portal"
STATIC_DIR = Path(__file__).resolve().parent / "static"
FEATURES = (  # one feature module per line, in no particular order: add yours here
    "board",
    "stations",
    "station_commands",
    "live",
    "dashboards",
    "sessions",
    "tariffs",
    "people",
    "alarms",
    "auth",
    "investors",
)

router = APIRouter(dependencies=[Depends(csrf.verify)], include_in_schema=False)
_features = [import_module(f"web.portal.{name}").router for name in FEATURES]
for _feature in _features:
    router.include_router(_feature, prefix=PREFIX)
PATHS = frozenset(
    PREFIX + route.path for feature in _features for route in feature.routes if isinstance(route, APIRoute)
)
"""Every portal page's path: the navigation links only those that exist."""


def install(app: FastAPI) -> None:
    """Serve the assets, send ``/`` here, and answer the portal's errors with pages or toasts.

    Call after the API's handlers are installed: errors outside /portal still go to those."""
    app.state.portal_paths = PATHS
    for language in i18n.LANGUAGES:
        i18n.translations(language)  # a broken catalogue fails the start, not a page
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
    app.add_api_route("/", _root, include_in_schema=False)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(csrf.CsrfRejected, _csrf_rejected)
    for kind in (HTTPException, RequestValidationError, AccountError, TariffError, ChargingError):
        app.add_exception_handler(kind, _portal_or(app.exception_handlers.get(kind)))
    app.include_router(router)


async def _root() -> RedirectResponse:
    return RedirectResponse(PREFIX, status_code=307)


async def _login_required(request: Request, exc: Exception) -> Response:
    htmx = request.headers.get("HX-Request") == "true"
    here = (request.headers.get("HX-Current-URL") if htmx else None) or str(request.url)
    login = f"{PREFIX}/login?{urlencode({'next': local_url(here)})}"
    response: Response
    if htmx:
        response = Response(status_code=401, headers={"HX-Redirect": login})
    else:
        response = RedirectResponse(login, status_code=303)
    if csrf.session_token(request) is not None:
        csrf.delete_cookie(request, response, csrf.SESSION)  # ended or unknown: forget it
    return response


async def _forbidden(request: Request, exc: Exception) -> Response:
    return _error(request, 403, translate(request, "You may not see or do this."))


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    message = translate(request, "The form had expired. Reload the page and try again.")
    return _error(request, 403, message)


def _portal_or(api_handler: Handler | None) -> Handler:
    """A handler answering portal requests with a page or toast, others as the API did."""

    async def handle(request: Request, exc: Exception) -> Response:
        if request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/"):
            return _error(request, *_status_and_message(request, exc))
        if api_handler is None:
            raise exc
        response = api_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    return handle


def _status_and_message(request: Request, exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return 404, translate(request, "This page does not exist, or you may not see it.")
        return exc.status_code, str(exc.detail)
    if isinstance(exc, RequestValidationError):
        fields = ", ".join(str(error["loc"][-1]) for error in exc.errors())
        return 422, translate(request, "Some fields are missing or invalid: %(fields)s", fields=fields)
    return 400, str(exc)


def _error(request: Request, status: int, message: str) -> Response:
    """A toast for htmx, else an error page (a 404 page or the general one)."""
    if request.headers.get("HX-Request") == "true":
        return toast(request, message, kind="error", status_code=status)
    name = "errors/404.html" if status == 404 else "errors/error.html"
    return render(request, name, {"status": status, "message": message}, status_code=status)
