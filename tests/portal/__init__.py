"""Portal test helpers (tests/portal.py cannot sit beside this package): staff users logged in through the
real log-in form.

    async with await portal_client(server, role="operator") as client:
        page = await client.get("/portal/stations")
        await client.post("/portal/...", data={...})  # the X-CSRF-Token header is already set

``client.user_id``, ``client.tenant_id`` and ``client.csrf_token`` say who is logged in.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any, Self

import httpx

from csms.accounts import portal, services
from csms.accounts.model import NewUser, Role
from csms.accounts.repository import AccountsUnitOfWork
from csms.bootstrap import System
from tests.accounts import PASSWORD, a_tenant
from tests.conftest import LiveServer

_phones = itertools.count(1)
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class PortalClient(httpx.AsyncClient):
    """An httpx client with a portal session cookie and its CSRF token in every request's headers."""

    user_id: int
    tenant_id: int
    phone: str

    async def __aenter__(self) -> Self:
        """Also once requests were sent (httpx refuses that): ``async with await portal_client(...)``."""
        return self

    @property
    def csrf_token(self) -> str:
        return self.headers["X-CSRF-Token"]


def csrf_token_of(html: str) -> str:
    """The CSRF token a rendered page embeds in its forms."""
    found = _TOKEN.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def a_staff_user(
    system: System,
    *,
    role: str = "operator",
    tenant_id: int | None = None,
    site_ids: Iterable[int] = (),
    phone: str | None = None,
    password: str = PASSWORD,
    email: str | None = None,
) -> tuple[int, int, str]:
    """A user of any role (the tenant created when not given), owning ``site_ids`` if an investor;
    returns (user id, tenant id, phone)."""
    tenant_id = tenant_id or await a_tenant(system)
    phone = phone or f"+86139{next(_phones):08d}"
    spec = NewUser(
        tenant_id, phone, Role(role), password=password, display_name=f"{role} {phone[-4:]}", email=email
    )
    user = await services.create_user(spec, uow=AccountsUnitOfWork(system.sessions), clock=system.clock)
    assert user.id is not None
    for site_id in site_ids:
        await portal.assign_site(
            user.id, site_id, tenant_id=None, uow=AccountsUnitOfWork(system.sessions), clock=system.clock
        )
    return user.id, tenant_id, phone


async def log_in(client: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    """Fill in the log-in form as a browser does: the form's page first, for its CSRF token."""
    page = await client.get("/portal/login")
    token = csrf_token_of(page.text)
    return await client.post(
        "/portal/login", data={"login": login, "password": password, "csrf_token": token}
    )


async def logged_in(client: PortalClient, system: System, **user: Any) -> PortalClient:
    """Create a staff user (see a_staff_user) and log ``client`` in as them."""
    client.user_id, client.tenant_id, client.phone = await a_staff_user(system, **user)
    response = await log_in(client, client.phone)
    assert response.status_code == 303, response.text
    page = await client.get("/portal/password")
    client.headers["X-CSRF-Token"] = csrf_token_of(page.text)
    return client


async def portal_client(
    server: LiveServer, *, role: str = "operator", tenant_id: int | None = None, site_ids: Iterable[int] = ()
) -> PortalClient:
    """A client of the live server logged in as a new user of ``role``; close it (``async with``)."""
    client = PortalClient(base_url=server.http, timeout=10)
    try:
        return await logged_in(client, server.system, role=role, tenant_id=tenant_id, site_ids=site_ids)
    except BaseException:
        await client.aclose()
        raise
