"""Log-in, log-out, password change, language and tenant choice, and the portal's landing page."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from csms.accounts import portal
from csms.accounts.errors import AccountNotFound, InvalidAccountData, InvalidCredentials, NotAllowed
from csms.accounts.model import Role
from csms.settings import Settings
from web.portal import csrf, i18n
from web.portal.deps import Admin, MaybeUser, PortalUser, accounts_uow
from web.portal.templating import LANGUAGE_COOKIE, has_route, local_url, redirect, render, translate

router = APIRouter()

Text = Annotated[str, Form(max_length=200)]
Next = Annotated[str, Form(max_length=2000)]
LANDING = {Role.INVESTOR.value: "/portal/dashboards"}  # everyone else: the station board


@router.get("", name="portal_home")
async def home(request: Request, user: PortalUser) -> Response:
    """Operators land on the station board, investors on their dashboards, once those pages exist."""
    target = LANDING.get(user.role, "/portal/stations")
    if has_route(request, target):
        return redirect(request, target)
    return render(request, "home.html")


@router.get("/login", name="login_page")
async def login_page(request: Request, user: MaybeUser, next: str = "/portal") -> Response:
    if user is not None:  # already logged in: go on
        return redirect(request, local_url(next))
    return render(request, "auth/login.html", {"next": local_url(next), "login": "", "error": None})


@router.post("/login")
async def login(request: Request, login: Text, password: Text, next: Next = "/portal") -> Response:
    """Drivers are told to use the app, but only once their password is right."""
    system = request.app.state.system
    try:
        session = await portal.log_in(
            login, password, uow=accounts_uow(request), clock=system.clock, ttl=_ttl(system.settings)
        )
    except InvalidCredentials:
        message = translate(request, "Wrong phone number, e-mail or password.")
        return _login_failed(request, login, next, message, 401)
    except NotAllowed:
        message = translate(request, "Driver accounts cannot log in here: use the app.")
        return _login_failed(request, login, next, message, 403)
    response = redirect(request, local_url(next))
    _set_session(request, response, session.token, system.settings)
    csrf.delete_cookie(request, response, csrf.SEED)
    return response


@router.post("/logout")
async def logout(request: Request, user: PortalUser) -> Response:
    await portal.log_out(user.session_id, uow=accounts_uow(request), clock=request.app.state.system.clock)
    response = redirect(request, "/portal/login", message=translate(request, "You are logged out."))
    csrf.delete_cookie(request, response, csrf.SESSION)
    return response


@router.get("/password", name="password_page")
async def password_page(request: Request, user: PortalUser) -> Response:
    return render(request, "auth/password.html", {"error": None})


@router.post("/password")
async def change_password(
    request: Request, user: PortalUser, current: Text, new: Text, repeat: Text
) -> Response:
    """A new password ends every session of the user, here and in the app; this browser goes on."""
    system = request.app.state.system
    if new != repeat:
        return _password_failed(request, translate(request, "The new passwords differ."))
    try:
        session = await portal.change_password(
            user.user_id,
            current,
            new,
            tenant_filter=user.tenant_filter,
            uow=accounts_uow(request),
            clock=system.clock,
            config=system.auth,
            ttl=_ttl(system.settings),
        )
    except NotAllowed:
        return _password_failed(request, translate(request, "The current password is wrong."))
    except InvalidAccountData:
        return _password_failed(request, translate(request, "A password has 8 to 128 characters."))
    response = redirect(request, "/portal", message=translate(request, "Your password is changed."))
    _set_session(request, response, session.token, system.settings)
    return response


@router.post("/language")
async def choose_language(
    request: Request, user: MaybeUser, language: Annotated[str, Form(max_length=10)], next: Next = "/portal"
) -> Response:
    """Stored on the user once logged in, and in a cookie for the log-in page."""
    if language not in i18n.LANGUAGES:
        return redirect(request, local_url(next))
    if user is not None:
        await portal.set_language(user.user_id, language, uow=accounts_uow(request))
    response = redirect(request, local_url(next))
    csrf.set_cookie(request, response, LANGUAGE_COOKIE, language, max_age=365 * 86_400)
    return response


@router.post("/tenant")
async def choose_tenant(
    request: Request, user: Admin, tenant: Annotated[str, Form(max_length=12)] = "", next: Next = "/portal"
) -> Response:
    """An administrator looks at one tenant, or at all of them (empty)."""
    tenant_id = int(tenant) if tenant.isdigit() else None
    try:
        await portal.set_tenant_filter(user.session_id, tenant_id, uow=accounts_uow(request))
    except AccountNotFound:
        message = translate(request, "No such tenant.")
        return redirect(request, local_url(next), message=message, kind="error")
    return redirect(request, local_url(next))


def _login_failed(request: Request, login: str, next: str, message: str, status_code: int) -> Response:
    context = {"next": local_url(next), "login": login, "error": message}
    return render(request, "auth/login.html", context, status_code=status_code)


def _password_failed(request: Request, message: str) -> Response:
    return render(request, "auth/password.html", {"error": message}, status_code=422)


def _ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.portal_session_hours)


def _set_session(request: Request, response: Response, token: str, settings: Settings) -> None:
    csrf.set_cookie(request, response, csrf.SESSION, token, max_age=settings.portal_session_hours * 3600)
