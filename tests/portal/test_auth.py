"""Portal log-in: sessions in a cookie, CSRF on every unsafe request, log-out, passwords, roles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chargepoints import admin
from csms import bootstrap, cli
from csms.accounts import portal, services
from csms.accounts.repository import AccountsUnitOfWork
from csms.accounts.tables import UserRow
from csms.app import create_app
from csms.bootstrap import System
from csms.settings import Settings
from tariffs import services as tariff_services
from tests.accounts import PASSWORD
from tests.conftest import LiveServer
from tests.portal import PortalClient, a_staff_user, csrf_token_of, log_in, portal_client
from web.portal.deps import PortalPrincipal, tenant_scope


@pytest.fixture
async def https(system: System) -> AsyncIterator[PortalClient]:
    """A client of the app over HTTPS (no socket): the cookies must be __Host- and Secure."""
    transport = httpx.ASGITransport(app=create_app(system.settings, system=system))
    async with PortalClient(transport=transport, base_url="https://portal.example") as client:
        yield client


async def _logged_in(client: httpx.AsyncClient) -> bool:
    """Whether a page that needs a log-in opens (else it redirects to the log-in page)."""
    response = await client.get("/portal/password")
    assert response.status_code == 200 or response.headers["location"].startswith("/portal/login?next=")
    return response.status_code == 200


def _set_cookie(response: httpx.Response, prefix: str) -> str:
    found = [value for value in response.headers.get_list("set-cookie") if value.startswith(prefix)]
    assert found, response.headers.get_list("set-cookie")
    return found[0]


async def test_staff_log_in_and_see_the_portal(server: LiveServer) -> None:
    async with await portal_client(server, role="operator") as client:
        page = await client.get("/portal/password")
        assert page.status_code == 200
        assert "operator" in page.text and 'action="/portal/logout"' in page.text
        assert f'"X-CSRF-Token": "{client.csrf_token}"' in page.text  # on <body hx-headers>
        again = await client.get("/portal/login", params={"next": "/portal/password"})
        assert again.status_code == 303 and again.headers["location"] == "/portal/password"


async def test_log_in_by_email_and_follow_next_within_the_portal_only(server: LiveServer) -> None:
    await a_staff_user(server.system, role="admin", email="admin@demo")
    async with httpx.AsyncClient(base_url=server.http) as client:
        page = await client.get("/portal/login", params={"next": "/portal/password"})
        token = csrf_token_of(page.text)
        form = {"login": "ADMIN@demo", "password": PASSWORD, "next": "/portal/password", "csrf_token": token}
        response = await client.post("/portal/login", data=form)
        assert response.status_code == 303 and response.headers["location"] == "/portal/password"
    async with httpx.AsyncClient(base_url=server.http) as client:
        page = await client.get("/portal/login")
        form = {**form, "login": "admin@demo", "next": "https://evil.example/portal", "csrf_token": ""}
        form["csrf_token"] = csrf_token_of(page.text)
        response = await client.post("/portal/login", data=form)
        assert response.headers["location"] == "/portal"


async def test_wrong_password_and_unknown_login_are_refused_alike(server: LiveServer) -> None:
    _, _, phone = await a_staff_user(server.system)
    async with httpx.AsyncClient(base_url=server.http) as client:
        wrong = await log_in(client, phone, "not the password")
        unknown = await log_in(client, "+8613700000000")
        garbage = await log_in(client, "not a phone")
    for response in (wrong, unknown, garbage):
        assert response.status_code == 401
        assert "Wrong phone number, e-mail or password." in response.text
        assert not any("csms_session" in c for c in response.headers.get_list("set-cookie"))


async def test_drivers_are_told_to_use_the_app(server: LiveServer) -> None:
    _, _, phone = await a_staff_user(server.system, role="driver")
    async with httpx.AsyncClient(base_url=server.http) as client:
        response = await log_in(client, phone)
        assert response.status_code == 403
        assert "Driver accounts cannot log in here: use the app." in response.text
        assert not await _logged_in(client)


async def test_anonymous_requests_are_sent_to_log_in(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        page = await client.get("/portal/password", params={"x": "1"})
        assert page.status_code == 303
        location = urlsplit(page.headers["location"])
        assert location.path == "/portal/login"
        assert parse_qs(location.query) == {"next": ["/portal/password?x=1"]}
        htmx = await client.get("/portal/password", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/portal/login?next=")
        assert (await client.get("/")).headers["location"] == "/portal"


async def test_cookies_over_plain_http(server: LiveServer) -> None:
    _, _, phone = await a_staff_user(server.system)
    async with httpx.AsyncClient(base_url=server.http) as client:
        cookie = _set_cookie(await log_in(client, phone), "csms_session=").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie and "domain" not in cookie


async def test_cookies_over_https_are_host_prefixed_and_secure(https: PortalClient, system: System) -> None:
    _, _, phone = await a_staff_user(system)
    page = await https.get("/portal/login")
    seed = _set_cookie(page, "__Host-csms_csrf=").lower()
    assert "secure" in seed and "httponly" in seed and "samesite=lax" in seed
    response = await log_in(https, phone)
    cookie = _set_cookie(response, "__Host-csms_session=").lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "domain" not in cookie
    assert await _logged_in(https)


async def test_unsafe_requests_need_the_csrf_token(server: LiveServer) -> None:
    async with await portal_client(server) as client:
        token = client.headers.pop("X-CSRF-Token")
        missing = await client.post("/portal/logout")
        assert missing.status_code == 403 and "The form had expired" in missing.text
        wrong = await client.post("/portal/logout", data={"csrf_token": "0" * 64})
        assert wrong.status_code == 403
        htmx = await client.post("/portal/logout", headers={"HX-Request": "true", "X-CSRF-Token": "bad"})
        assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#toasts"
        assert 'class="toast toast-error"' in htmx.text
        assert await _logged_in(client)  # still logged in
        ok = await client.post("/portal/logout", headers={"X-CSRF-Token": token})
        assert ok.status_code == 303


async def test_the_log_in_form_needs_its_token_too(server: LiveServer) -> None:
    _, _, phone = await a_staff_user(server.system)
    async with httpx.AsyncClient(base_url=server.http) as client:
        await client.get("/portal/login")
        response = await client.post("/portal/login", data={"login": phone, "password": PASSWORD})
        assert response.status_code == 403


async def test_log_out_ends_the_session_for_real(server: LiveServer) -> None:
    async with await portal_client(server) as client:
        cookie = client.cookies["csms_session"]
        response = await client.post("/portal/logout")
        assert response.status_code == 303 and response.headers["location"] == "/portal/login"
        assert (await client.get("/portal/login")).text.count("You are logged out.") == 1
        client.cookies.set("csms_session", cookie)  # a copy of the cookie is worth nothing now
        assert not await _logged_in(client)


async def test_password_change_ends_every_other_session(server: LiveServer) -> None:
    async with await portal_client(server) as first, PortalClient(base_url=server.http) as second:
        assert (await log_in(second, first.phone)).status_code == 303
        api = await services.login_with_password(
            first.tenant_id,
            first.phone,
            PASSWORD,
            uow=AccountsUnitOfWork(server.system.sessions),
            clock=server.system.clock,
            config=server.system.auth,
        )
        form = {"current": PASSWORD, "new": "a brand new secret", "repeat": "a brand new secret"}
        assert (
            await first.post("/portal/password", data={**form, "current": "wrong one"})
        ).status_code == 422
        assert (await first.post("/portal/password", data={**form, "repeat": "different"})).status_code == 422
        changed = await first.post("/portal/password", data=form)
        assert changed.status_code == 303
        assert await _logged_in(first)  # this browser goes on
        assert not await _logged_in(second)  # the other one is logged out
        me = await second.get("/api/v1/me", headers={"Authorization": f"Bearer {api.access_token}"})
        assert me.status_code == 401  # and so is the app
        assert (await log_in(second, first.phone, "a brand new secret")).status_code == 303


async def test_only_administrators_choose_a_tenant(server: LiveServer) -> None:
    async with await portal_client(server, role="operator") as operator:
        assert (await operator.post("/portal/tenant", data={"tenant": ""})).status_code == 403
        refused = await operator.post("/portal/tenant", data={"tenant": ""}, headers={"HX-Request": "true"})
        assert refused.status_code == 403 and "You may not see or do this." in refused.text
    async with await portal_client(server, role="admin") as client:
        page = await client.get("/portal/password")
        assert 'id="tenant-filter"' in page.text
        chosen = await client.post(
            "/portal/tenant", data={"tenant": str(client.tenant_id), "next": "/portal"}
        )
        assert chosen.status_code == 303
        assert f'<option value="{client.tenant_id}" selected>' in (await client.get("/portal/password")).text


async def test_investors_see_their_sites_only(server: LiveServer) -> None:
    tenant_id = (await a_staff_user(server.system))[1]
    clock, uow = server.system.clock, server.system.uow
    site_id = await admin.put_site("Harbour", uow=uow(), clock=clock, tenant_id=tenant_id)
    await admin.put_site("Elsewhere", uow=uow(), clock=clock, tenant_id=tenant_id)
    async with await portal_client(
        server, role="investor", tenant_id=tenant_id, site_ids=[site_id]
    ) as client:
        token = client.cookies["csms_session"]
        found = await portal.session(token, uow=AccountsUnitOfWork(server.system.sessions), clock=clock)
        assert found.site_ids == {site_id} and found.role == "investor"
        landing = await client.get("/portal")
        assert landing.status_code in (200, 303)
        if landing.status_code == 303:  # the dashboards exist: investors land there
            assert landing.headers["location"] == "/portal/dashboards"
        page = await client.get("/portal/password")
        assert 'id="tenant-filter"' not in page.text and "(Investor)" in page.text
        assert (await client.post("/portal/tenant", data={"tenant": ""})).status_code == 403


def test_tenant_scope_by_role() -> None:
    def principal(role: str, tenant_filter: int | None = None) -> PortalPrincipal:
        return PortalPrincipal(1, 7, role, frozenset(), None, tenant_filter=tenant_filter)

    assert tenant_scope(principal("admin")) is None
    assert tenant_scope(principal("admin", 3)) == 3
    assert tenant_scope(principal("operator", 3)) == 7
    assert tenant_scope(principal("investor")) == 7


async def test_a_disabled_user_is_logged_out(server: LiveServer, system: System) -> None:
    async with await portal_client(server) as client:
        async with system.sessions() as session:
            row = await session.get(UserRow, client.user_id)
            assert row is not None
            row.disabled = True
            await session.commit()
        assert not await _logged_in(client)


async def test_the_same_phone_at_two_tenants_logs_in_to_its_staff_account(server: LiveServer) -> None:
    _, _, phone = await a_staff_user(server.system, role="operator")
    await a_staff_user(server.system, role="driver", phone=phone)  # another tenant, same phone
    async with PortalClient(base_url=server.http) as client:
        assert (await log_in(client, phone)).status_code == 303
        assert "operator" in (await client.get("/portal/password")).text


async def test_assets_are_served_from_the_package_and_errors_stay_in_their_world(server: LiveServer) -> None:
    async with await portal_client(server) as client:
        page = await client.get("/portal/password")
        for asset in ("vendor/htmx/htmx.min.js", "vendor/htmx/sse.min.js", "portal.js", "portal.css"):
            assert (
                f'src="/portal/static/{asset}"' in page.text or f'href="/portal/static/{asset}"' in page.text
            )
            assert (await client.get(f"/portal/static/{asset}")).status_code == 200
        for asset in ("vendor/leaflet/leaflet.js", "vendor/uplot/uPlot.iife.min.js"):
            assert (await client.get(f"/portal/static/{asset}")).status_code == 200
        missing = await client.get("/portal/no-such-page")
        assert missing.status_code == 404 and "This page does not exist" in missing.text
        assert missing.headers["content-type"].startswith("text/html")
        htmx = await client.get("/portal/no-such-page", headers={"HX-Request": "true"})
        assert htmx.status_code == 404 and htmx.headers["HX-Retarget"] == "#toasts"
        invalid = await client.post("/portal/password", data={"current": "x"})
        assert invalid.status_code == 422 and "new, repeat" in invalid.text
        api = await client.get("/api/v1/no-such-thing")
        assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_the_cli_adds_portal_users(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    async def tenant() -> None:
        system = bootstrap.build(settings)
        try:
            await tariff_services.create_tenant("Acme", "CNY", "test", uow=system.uow(), clock=system.clock)
        finally:
            await system.engine.dispose()

    async def session_of(login: str, password: str) -> portal.PortalIdentity:
        system = bootstrap.build(settings)
        try:
            uow = AccountsUnitOfWork(system.sessions)
            found = await portal.log_in(login, password, uow=uow, clock=system.clock)
            return found.identity
        finally:
            await system.engine.dispose()

    asyncio.run(tenant())
    url = ["--database-url", settings.database_url]
    args = ["user", "add", "--role", "admin", "--tenant", "Acme", "--phone", "+8613800001111", *url]
    assert cli.main([*args, "--password", "short"]) == 2
    assert "8 to 128 characters" in capsys.readouterr().err
    assert cli.main([*args, "--password", "long enough", "--email", "boss@acme.example"]) == 0
    assert asyncio.run(session_of("boss@acme.example", "long enough")).role == "admin"
    assert cli.main([*args[:5], "Nobody", *args[6:], "--password", "long enough"]) == 2
    assert "No tenant 'Nobody'" in capsys.readouterr().err
