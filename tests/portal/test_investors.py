"""Investors' sites: operators pair investors with the sites of their tenant, investors may not."""

from __future__ import annotations

import json

from chargepoints import admin
from csms.accounts import portal
from csms.accounts.repository import AccountsUnitOfWork
from tests.conftest import LiveServer
from tests.portal import a_staff_user, portal_client


async def _site(server: LiveServer, name: str, tenant_id: int) -> int:
    return await admin.put_site(name, uow=server.system.uow(), clock=server.system.clock, tenant_id=tenant_id)


async def _owned(server: LiveServer, tenant_id: int | None) -> list[tuple[str, int]]:
    rows = await portal.ownerships(tenant_id=tenant_id, uow=AccountsUnitOfWork(server.system.sessions))
    return [(row.site_name, row.user_id) for row in rows]


async def test_operators_assign_and_remove_sites_with_htmx(server: LiveServer) -> None:
    async with await portal_client(server, role="operator") as client:
        tenant = client.tenant_id
        investor, _, _ = await a_staff_user(server.system, role="investor", tenant_id=tenant)
        site = await _site(server, "Harbour", tenant)
        page = await client.get("/portal/investors")
        assert page.status_code == 200 and "No investor owns a site yet." in page.text
        assert f'<option value="{site}">Harbour</option>' in page.text
        htmx = {"HX-Request": "true"}
        added = await client.post(
            "/portal/investors", data={"investor": investor, "site": site}, headers=htmx
        )
        assert added.status_code == 200 and added.text.lstrip().startswith('<section id="ownerships"')
        toast = json.loads(added.headers["HX-Trigger"])["portal:toast"]
        assert toast == {"kind": "success", "message": "The investor owns the site now."}
        assert await _owned(server, tenant) == [("Harbour", investor)]
        again = await client.post(
            "/portal/investors", data={"investor": investor, "site": site}, headers=htmx
        )
        assert again.status_code == 200 and await _owned(server, tenant) == [("Harbour", investor)]
        removed = await client.post(
            "/portal/investors/remove", data={"investor": investor, "site": site}, headers=htmx
        )
        assert removed.status_code == 200 and "No investor owns a site yet." in removed.text
        assert await _owned(server, tenant) == []


async def test_a_plain_form_post_redirects_with_a_toast(server: LiveServer) -> None:
    async with await portal_client(server, role="admin") as client:
        investor, tenant, _ = await a_staff_user(server.system, role="investor")
        site = await _site(server, "Depot", tenant)
        response = await client.post("/portal/investors", data={"investor": investor, "site": site})
        assert response.status_code == 303 and response.headers["location"] == "/portal/investors"
        page = await client.get("/portal/investors")
        assert "The investor owns the site now." in page.text and "Depot" in page.text
        assert "The investor owns the site now." not in (await client.get("/portal/investors")).text


async def test_sites_and_investors_of_other_tenants_are_out_of_reach(server: LiveServer) -> None:
    async with await portal_client(server, role="operator") as client:
        mine, _, _ = await a_staff_user(server.system, role="investor", tenant_id=client.tenant_id)
        theirs, other, _ = await a_staff_user(server.system, role="investor")
        foreign_site = await _site(server, "Elsewhere", other)
        own_site = await _site(server, "Home", client.tenant_id)
        for investor, site in ((mine, foreign_site), (theirs, foreign_site), (theirs, own_site)):
            refused = await client.post(
                "/portal/investors", data={"investor": investor, "site": site}, headers={"HX-Request": "true"}
            )
            assert refused.status_code == 404 and refused.headers["HX-Retarget"] == "#toasts"
        page = await client.get("/portal/investors")
        assert "Elsewhere" not in page.text
        assert await _owned(server, None) == []


async def test_investors_may_not_manage_ownership(server: LiveServer) -> None:
    async with await portal_client(server, role="investor") as client:
        page = await client.get("/portal/investors")
        assert page.status_code == 403 and "You may not see or do this." in page.text
        posted = await client.post("/portal/investors", data={"investor": client.user_id, "site": 1})
        assert posted.status_code == 403
