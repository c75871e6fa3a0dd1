"""Who is asking, what they may see: the portal's named dependencies.

``PortalUser`` is any logged-in staff member; ``require("admin", "operator")`` narrows that to roles
(403 page otherwise); ``tenant_scope`` says which tenant's rows a page may show. Without a live
session a page request is redirected to the log-in page and an htmx request gets 401 with
``HX-Redirect`` (handled in ``web.portal.errors``)::

    @router.get("/stations")
    async def board(request: Request, user: Staff) -> HTMLResponse:  # Staff: require("admin", "operator")
        tenant = tenant_scope(user)  # None: every tenant (an administrator without a filter)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from csms.accounts import portal
from csms.accounts.errors import NotAuthenticated
from csms.accounts.model import Role
from csms.accounts.repository import AccountsUnitOfWork
from web.portal import csrf


class LoginRequired(Exception):
    """No live portal session: log in first."""


class Forbidden(Exception):
    """Logged in, but this role may not see or do that."""


@dataclass(frozen=True, slots=True)
class PortalPrincipal:
    """The staff member a portal request acts for."""

    user_id: int
    tenant_id: int
    role: str
    site_ids: frozenset[int]  # the sites an investor owns; empty for other roles
    language: str | None
    session_id: int = 0
    name: str = ""
    tenant_filter: int | None = None  # the tenant an administrator chose in the nav; None: all

    @property
    def actor(self) -> str:
        """Who did it, for the command and audit logs."""
        return f"portal:{self.user_id}"

    @property
    def read_only(self) -> bool:
        return self.role == Role.INVESTOR


def accounts_uow(request: Request) -> AccountsUnitOfWork:
    return AccountsUnitOfWork(request.app.state.sessions)


async def current_principal(request: Request) -> PortalPrincipal:
    """The logged-in staff member, kept on ``request.state.portal_user`` for the templates."""
    token = csrf.session_token(request)
    if token is None:
        raise LoginRequired()
    system = request.app.state.system
    try:
        found = await portal.session(token, uow=accounts_uow(request), clock=system.clock)
    except NotAuthenticated:
        raise LoginRequired() from None
    principal = PortalPrincipal(
        user_id=found.user_id,
        tenant_id=found.tenant_id,
        role=found.role.value,
        site_ids=found.site_ids,
        language=found.language,
        session_id=found.session_id,
        name=found.name,
        tenant_filter=found.tenant_filter,
    )
    request.state.portal_user = principal
    if principal.role == Role.ADMIN:
        request.state.portal_tenants = await portal.tenants(uow=accounts_uow(request))
    return principal


PortalUser = Annotated[PortalPrincipal, Depends(current_principal)]


async def optional_principal(request: Request) -> PortalPrincipal | None:
    """The logged-in staff member, or None: for pages anyone may open (log-in, language)."""
    try:
        return await current_principal(request)
    except LoginRequired:
        return None


MaybeUser = Annotated[PortalPrincipal | None, Depends(optional_principal)]


def require(*roles: str) -> Callable[[PortalPrincipal], Awaitable[PortalPrincipal]]:
    """A dependency that lets only these roles through: ``Depends(require("admin", "operator"))``."""
    allowed = frozenset(Role(role).value for role in roles)

    async def check(principal: PortalUser) -> PortalPrincipal:
        if principal.role not in allowed:
            raise Forbidden()
        return principal

    return check


Staff = Annotated[PortalPrincipal, Depends(require(Role.ADMIN, Role.OPERATOR))]
"""Administrators and operators: everything but the investors' read-only view."""
Admin = Annotated[PortalPrincipal, Depends(require(Role.ADMIN))]


def tenant_scope(principal: PortalPrincipal) -> int | None:
    """The tenant whose rows the principal sees; None means every tenant (administrators)."""
    return principal.tenant_filter if principal.role == Role.ADMIN else principal.tenant_id
