"""The tariff pages: the editor and its week grid, inline validation naming the band, new versions,
assignment to the tenant's sites and stations, and the price preview."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import col, select

from chargepoints import admin
from csms.audit import AuditRow
from csms.bootstrap import System
from tariffs import services as tariff_services
from tariffs.tables import TariffAssignmentRow, TariffRow
from tests.accounts import a_tenant
from tests.builders import a_station
from tests.conftest import LiveServer
from tests.portal import PortalClient, portal_client
from tests.portal.test_sessions import a_site

HTMX = {"HX-Request": "true"}
WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def band(index: int, name: str, start: str, end: str, fee: str, days: list[str] = WEEK) -> dict[str, Any]:
    prefix = f"band-{index}-"
    return {
        prefix + "name": name,
        prefix + "days": days,
        prefix + "start": start,
        prefix + "end": end,
        prefix + "energy_fee": fee,
        prefix + "service_fee": "0.05",
    }


def a_form(*bands: dict[str, Any], **fields: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"name": "Peak and night", "session_fee": "1.00", "tax_percent": "13"}
    for row in bands:
        form.update(row)
    return {**form, **fields}


DAY_AND_NIGHT = (band(0, "night", "00:00", "08:00", "0.30"), band(1, "day", "08:00", "24:00", "0.60"))


def grid_rows(html: str) -> dict[str, list[str]]:
    """Each grid row's cells as the band names they show ("" for a gap, "!" for a clash)."""
    rows: dict[str, list[str]] = {}
    for day, cells in re.findall(r'<tr data-day="(\w+)">(.*?)</tr>', html, re.S):
        rows[day] = [
            "!" if "slot-clash" in classes else "" if "slot-gap" in classes else name
            for classes, name in re.findall(r'<td class="(slot[^"]*)"(?: data-band="([^"]*)")?', cells)
        ]
    return rows


async def tariffs_of(system: System, tenant_id: int) -> list[TariffRow]:
    async with system.sessions() as session:
        query = select(TariffRow).where(col(TariffRow.tenant_id) == tenant_id)
        return list((await session.execute(query)).scalars())


async def audit_actions(system: System, subject: str) -> list[tuple[str, str]]:
    async with system.sessions() as session:
        rows = await session.execute(select(AuditRow).where(col(AuditRow.subject) == subject))
        return [(row.actor, row.action) for row in rows.scalars()]


@pytest.fixture
async def operator(server: LiveServer) -> PortalClient:
    return await portal_client(server)


async def test_a_new_tariff_is_made_in_the_editor(server: LiveServer, operator: PortalClient) -> None:
    async with operator:
        blank = await operator.get("/portal/tariffs/new")
        assert blank.status_code == 200 and 'data-testid="tariff-form"' in blank.text
        rows = grid_rows(blank.text)
        assert list(rows) == [*WEEK, "holiday"] and all(len(cells) == 48 for cells in rows.values())
        assert rows["mon"] == ["standard"] * 48 and rows["holiday"] == [""] * 48

        saved = await operator.post("/portal/tariffs", data=a_form(*DAY_AND_NIGHT))
        assert saved.status_code == 303, saved.text
        (tariff,) = await tariffs_of(server.system, operator.tenant_id)
        assert saved.headers["location"] == f"/portal/tariffs/{tariff.id}"
        actor = f"portal:{operator.user_id}"
        assert await audit_actions(server.system, f"tariff:{tariff.id}") == [
            (actor, "tariff.create"),
            (actor, "tariff.version"),
        ]
        view = await tariff_services.get_tariff(tariff.id or 0, uow=server.system.uow())
        definition = view.versions[0].definition
        assert (definition["tax_rate"], definition["session_fee"]) == ("0.13", "1.00")

        page = await operator.get(saved.headers["location"])
        assert "The tariff is saved." in page.text
        monday = grid_rows(page.text)["mon"]
        assert monday == ["night"] * 16 + ["day"] * 32
        listed = await operator.get("/portal/tariffs")
        assert f'href="/portal/tariffs/{tariff.id}">Peak and night</a>' in listed.text


async def test_an_overlap_is_named_inline_and_nothing_is_saved(
    server: LiveServer, operator: PortalClient
) -> None:
    overlapping = (band(0, "night", "00:00", "08:00", "0.30"), band(1, "day", "07:00", "24:00", "0.60"))
    async with operator:
        checked = await operator.post("/portal/tariffs/check", data=a_form(*overlapping), headers=HTMX)
        assert checked.status_code == 200 and "<html" not in checked.text
        problem = "bands &#39;night&#39; and &#39;day&#39; overlap on Monday from 07:00 to 08:00"
        assert problem in checked.text
        assert grid_rows(checked.text)["mon"] == ["night"] * 14 + ["!"] * 2 + ["day"] * 32

        saved = await operator.post("/portal/tariffs", data=a_form(*overlapping))
        assert saved.status_code == 422 and problem in saved.text
        assert '<tr class="row-faulted" data-band-row="day">' in saved.text
        assert 'value="07:00"' in saved.text  # what was typed is kept
        gap = await operator.post(
            "/portal/tariffs/check", data=a_form(band(0, "night", "00:00", "08:00", "0.30")), headers=HTMX
        )
        assert "no band covers Monday from 08:00 to 24:00 (after band &#39;night&#39;)" in gap.text
        assert grid_rows(gap.text)["mon"] == ["night"] * 16 + [""] * 32
        nameless = await operator.post("/portal/tariffs", data=a_form(*DAY_AND_NIGHT, name=""))
        assert nameless.status_code == 422 and "Give the tariff a name." in nameless.text
        assert await tariffs_of(server.system, operator.tenant_id) == []


async def test_band_rows_are_added_and_removed(server: LiveServer, operator: PortalClient) -> None:
    async with operator:
        added = await operator.post(
            "/portal/tariffs/editor", data={**a_form(*DAY_AND_NIGHT), "add_band": "1"}, headers=HTMX
        )
        assert added.status_code == 200 and "<html" not in added.text
        assert 'name="band-2-name" value=""' in added.text and 'name="band-3-name"' not in added.text
        removed = await operator.post(
            "/portal/tariffs/editor", data={**a_form(*DAY_AND_NIGHT), "band-1-remove": "1"}
        )
        assert "<html" in removed.text and 'name="band-1-name"' not in removed.text
        assert "no band covers Monday from 08:00 to 24:00" in removed.text


async def a_saved_tariff(client: PortalClient) -> int:
    saved = await client.post("/portal/tariffs", data=a_form(*DAY_AND_NIGHT))
    assert saved.status_code == 303, saved.text
    return int(saved.headers["location"].rsplit("/", 1)[1])


async def test_an_edit_adds_the_next_version(server: LiveServer, operator: PortalClient) -> None:
    async with operator:
        tariff_id = await a_saved_tariff(operator)
        form = await operator.get(f"/portal/tariffs/{tariff_id}/edit")
        assert 'name="band-1-name" value="day"' in form.text and 'name="tax_percent" value="13"' in form.text
        changed = a_form(band(0, "night", "00:00", "06:00", "0.25"), band(1, "day", "06:00", "24:00", "0.60"))
        saved = await operator.post(f"/portal/tariffs/{tariff_id}/versions", data=changed)
        assert saved.status_code == 303, saved.text
        page = await operator.get(f"/portal/tariffs/{tariff_id}")
        assert (
            "Version 2 is saved." in page.text
            and grid_rows(page.text)["sun"] == ["night"] * 12 + ["day"] * 36
        )
        first = await operator.get(f"/portal/tariffs/{tariff_id}", params={"version": "1"})
        assert grid_rows(first.text)["sun"] == ["night"] * 16 + ["day"] * 32
        past = await operator.post(
            f"/portal/tariffs/{tariff_id}/versions", data={**changed, "valid_from": "2020-01-01T00:00"}
        )
        assert past.status_code == 422 and "history is never rewritten" in past.text
        bad = await operator.post(
            f"/portal/tariffs/{tariff_id}/versions", data={**changed, "valid_from": "soon"}
        )
        assert bad.status_code == 422 and "not a date and time" in bad.text


async def test_assignment_to_the_tenants_sites_and_stations(
    server: LiveServer, operator: PortalClient
) -> None:
    system = server.system
    async with operator:
        tariff_id = await a_saved_tariff(operator)
        site_id = await a_site(system, "S-1", operator.tenant_id)
        await a_station(system, "CP-1", site_id=site_id)
        other_site = await a_site(system, "S-9", await a_tenant(system))
        await a_station(system, "CP-9", site_id=other_site)
        page = await operator.get(f"/portal/tariffs/{tariff_id}")
        assert f'value="site:{site_id}"' in page.text and 'value="station:CP-1"' in page.text
        assert 'value="station:CP-9"' not in page.text and f'value="site:{other_site}"' not in page.text

        url = f"/portal/tariffs/{tariff_id}/assignments"
        assert (await operator.post(url, data={"target": f"site:{site_id}"})).status_code == 303
        assert (await operator.post(url, data={"target": "station:CP-1", "evse_id": "2"})).status_code == 303
        assert (await operator.post(url, data={"target": "station:CP-9"})).status_code == 404
        assert (await operator.post(url, data={"target": f"site:{other_site}"})).status_code == 404
        async with system.sessions() as session:
            targets = {row.target for row in (await session.execute(select(TariffAssignmentRow))).scalars()}
        assert targets == {f"site:{site_id}", "evse:CP-1/2"}
        shown = await operator.get(f"/portal/tariffs/{tariff_id}")
        assert "Site S-1" in shown.text and "Station CP-1, EVSE 2" in shown.text

        removed = await operator.post(f"{url}/remove", data={"target": "station:CP-1", "evse_id": "2"})
        assert removed.status_code == 303
        actions = await audit_actions(system, f"tariff:{tariff_id}")
        assert [action for _, action in actions].count("tariff.assign") == 2 and actions[-1][
            1
        ] == "tariff.unassign"


async def test_the_price_preview(server: LiveServer, operator: PortalClient) -> None:
    async with operator:
        tariff_id = await a_saved_tariff(operator)
        site_id = await admin_site(server.system, operator.tenant_id)
        query = {
            "energy_kwh": "10",
            "start": "2030-01-07T07:00",
            "end": "2030-01-07T09:00",
            "idle_minutes": "0",
        }
        partial = await operator.get(f"/portal/tariffs/{tariff_id}/preview", params=query, headers=HTMX)
        assert partial.status_code == 200 and "<html" not in partial.text
        # 5 kWh at night (0.30 + 0.05), 5 kWh by day (0.60 + 0.05), 1.00 per session: 6.00 net, 13 % tax
        assert "6.00 CNY" in partial.text and "0.78 CNY" in partial.text and "6.78 CNY" in partial.text
        # At a site, the times typed and the bands are both its wall clock's: the same price.
        local = await operator.get(
            f"/portal/tariffs/{tariff_id}/preview", params={**query, "site_id": str(site_id)}, headers=HTMX
        )
        assert "bands read in Asia/Shanghai" in local.text and "6.78 CNY" in local.text
        page = await operator.get(f"/portal/tariffs/{tariff_id}/preview", params=query)
        assert "<html" in page.text and "6.78 CNY" in page.text
        wrong = await operator.get(
            f"/portal/tariffs/{tariff_id}/preview", params={**query, "end": "2030-01-07T06:00"}
        )
        assert "Give the energy, a start and a later end." in wrong.text
        early = await operator.get(
            f"/portal/tariffs/{tariff_id}/preview", params={**query, "start": "2001-01-01T00:00"}
        )
        assert "is in force at" in early.text


async def admin_site(system: System, tenant_id: int) -> int:
    return await admin.put_site(
        "Shanghai", uow=system.uow(), clock=system.clock, tenant_id=tenant_id, time_zone="Asia/Shanghai"
    )


async def test_scope_roles_and_archiving(server: LiveServer) -> None:
    async with await portal_client(server) as operator, await portal_client(server) as stranger:
        tariff_id = await a_saved_tariff(operator)
        assert (await stranger.get(f"/portal/tariffs/{tariff_id}")).status_code == 404
        assert (await stranger.get(f"/portal/tariffs/{tariff_id}/edit")).status_code == 404
        denied = await stranger.post(f"/portal/tariffs/{tariff_id}/versions", data=a_form(*DAY_AND_NIGHT))
        assert denied.status_code == 404
        assert (await stranger.post(f"/portal/tariffs/{tariff_id}/archive")).status_code == 404
        smuggled = await stranger.post(
            "/portal/tariffs", data={**a_form(*DAY_AND_NIGHT), "tenant_id": str(operator.tenant_id)}
        )
        assert smuggled.status_code == 404 and await tariffs_of(server.system, operator.tenant_id) != []
        assert f"/portal/tariffs/{tariff_id}" not in (await stranger.get("/portal/tariffs")).text

        archived = await operator.post(f"/portal/tariffs/{tariff_id}/archive")
        assert archived.status_code == 303
        page = await operator.get(f"/portal/tariffs/{tariff_id}")
        assert "The tariff is archived." in page.text and "New version" not in page.text
    async with await portal_client(server, role="admin") as admin_client:
        assert (await admin_client.get(f"/portal/tariffs/{tariff_id}")).status_code == 200
        blank = await admin_client.get("/portal/tariffs/new")
        assert f'<option value="{operator.tenant_id}"' in blank.text  # administrators choose the tenant
        saved = await admin_client.post(
            "/portal/tariffs",
            data={**a_form(*DAY_AND_NIGHT, name="By admin"), "tenant_id": str(operator.tenant_id)},
        )
        assert saved.status_code == 303
        assert {t.name for t in await tariffs_of(server.system, operator.tenant_id)} == {
            "Peak and night",
            "By admin",
        }
    async with await portal_client(server, role="investor") as investor:
        assert (await investor.get("/portal/tariffs")).status_code == 403
        assert (await investor.post("/portal/tariffs", data=a_form(*DAY_AND_NIGHT))).status_code == 403
