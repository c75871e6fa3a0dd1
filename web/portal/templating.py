"""Rendering portal pages and partials: one Jinja environment, gettext per request, toasts.

Every template gets ``request``, ``user`` (a PortalPrincipal, or None before log-in), ``csrf_token``,
``lang``, ``is_htmx`` and ``toasts``, and the functions ``_`` / ``gettext`` / ``ngettext`` (in the
user's language), ``static(path)``, ``csrf_input()`` and ``has_route(path)``. Undefined variables
raise, so a template's docstring comment ("Required context: ...") is the whole of its contract.

The user's translations and CSRF token sit in a context variable while one template renders, so
macros imported without context translate too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from gettext import NullTranslations
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markupsafe import Markup

from web.portal import csrf, i18n
from web.portal.deps import PortalPrincipal

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC_URL = "/portal/static/"
LANGUAGE_COOKIE = "csms_lang"
FLASH_COOKIE = "csms_flash"
TOAST_KINDS = ("info", "success", "warning", "error")


@dataclass(frozen=True, slots=True)
class _Rendering:
    translations: NullTranslations
    csrf_token: str


_current: ContextVar[_Rendering] = ContextVar("portal_rendering")


@pass_eval_context
def _gettext(eval_ctx: EvalContext, message: str, **variables: Any) -> str:
    text = _current.get().translations.gettext(message)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def _ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = _current.get().translations.ngettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


def _csrf_input() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(csrf.FIELD, _current.get().csrf_token)


def static(path: str) -> str:
    """The URL of a packaged asset: ``static("vendor/htmx/htmx.min.js")``."""
    return STATIC_URL + path.lstrip("/")


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext, csrf_input=_csrf_input, static=static)
env.newstyle_gettext = True  # type: ignore[attr-defined]  # {% trans %} blocks call _gettext as above


def is_htmx(request: Request) -> bool:
    """True when htmx asks for a partial; boosted links and forms get whole pages."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def principal(request: Request) -> PortalPrincipal | None:
    """The logged-in user if the route declared PortalUser or require(...), else None."""
    user = getattr(request.state, "portal_user", None)
    return user if isinstance(user, PortalPrincipal) else None


def language(request: Request) -> str:
    """The user's choice, else the language cookie (set before log-in), else Accept-Language."""
    user = principal(request)
    chosen = (user.language if user is not None else None) or request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in i18n.LANGUAGES else i18n.negotiate(request.headers.get("Accept-Language"))


def translate(request: Request, message: str, **variables: Any) -> str:
    """A message of Python code (toasts, flashes) in the request's language."""
    text = i18n.translations(language(request)).gettext(message)
    return text % variables if variables else text


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The template rendered for this request's user and language, as a response."""
    lang = language(request)
    token, fresh_seed = csrf.ensure_token(request)
    toasts = [] if is_htmx(request) else _read_flash(request)  # a partial has no toast area
    values = {
        "request": request,
        "user": principal(request),
        "csrf_token": token,
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "is_htmx": is_htmx(request),
        "toasts": toasts,
        "tenants": getattr(request.state, "portal_tenants", []),
        "has_route": lambda path: has_route(request, path),
        **(context or {}),
    }
    reset = _current.set(_Rendering(i18n.translations(lang), token))
    try:
        html = env.get_template(name).render(values)
    finally:
        _current.reset(reset)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Content-Language"] = lang.replace("_", "-")
    if fresh_seed is not None:
        csrf.set_cookie(request, response, csrf.SEED, fresh_seed, max_age=None)
    if toasts:
        csrf.delete_cookie(request, response, FLASH_COOKIE)
    return response


def toast(request: Request, message: str, *, kind: str = "info", status_code: int = 200) -> HTMLResponse:
    """An htmx answer that only adds a toast to ``#toasts`` (whatever element asked)."""
    headers = {"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"}
    context = {"toast": {"kind": kind, "message": message}}
    return render(request, "_toast.html", context, status_code=status_code, headers=headers)


def add_toast(response: Response, message: str, *, kind: str = "success") -> Response:
    """Have htmx show a toast besides swapping the response (the ``portal:toast`` event of
    ``HX-Trigger``; JSON escapes keep the header ASCII whatever the language)."""
    response.headers["HX-Trigger"] = json.dumps({"portal:toast": {"kind": kind, "message": message}})
    return response


def redirect(request: Request, url: str, *, message: str | None = None, kind: str = "success") -> Response:
    """Post/redirect/get: 303 to ``url`` (htmx: ``HX-Redirect``), with a toast shown on arrival."""
    response: Response
    if request.headers.get("HX-Request") == "true":
        response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if message is not None:
        payload = base64.urlsafe_b64encode(json.dumps([kind, message]).encode()).decode()
        signed = f"{payload}.{_sign(request, payload)}"
        csrf.set_cookie(request, response, FLASH_COOKIE, signed, max_age=60)
    return response


def local_url(url: str) -> str:
    """The path and query of ``url`` if it is a portal page, else the portal's home: a ``next``
    parameter must never send the browser to another site."""
    parts = urlsplit(url)
    if not (parts.path == "/portal" or parts.path.startswith("/portal/")) or "//" in parts.path:
        return "/portal"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _read_flash(request: Request) -> list[dict[str, str]]:
    payload, _, signature = request.cookies.get(csrf.cookie_name(request, FLASH_COOKIE), "").partition(".")
    if not payload or not hmac.compare_digest(signature, _sign(request, payload)):
        return []
    kind, message = json.loads(base64.urlsafe_b64decode(payload))
    return [{"kind": kind if kind in TOAST_KINDS else "info", "message": str(message)}]


def _sign(request: Request, payload: str) -> str:
    key: str = request.app.state.system.auth.secret_key
    return hmac.new(key.encode(), f"portal-flash:{payload}".encode(), hashlib.sha256).hexdigest()


def has_route(request: Request, path: str) -> bool:
    """Whether the portal serves ``path`` (a feature may not be there yet)."""
    paths: frozenset[str] = getattr(request.app.state, "portal_paths", frozenset())
    return path in paths
