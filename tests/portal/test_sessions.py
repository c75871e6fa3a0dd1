"""The sessions pages: the tenant's sessions only, filters, a session's curve and cost, and review
decisions made in the portal (audited under the portal user)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from sqlmodel import col, select

from chargepoints import admin
from chargepoints.tables import CdrRow, TransactionRow
from csms.audit import AuditRow
from csms.bootstrap import System
from tests.accounts import a_tenant
from tests.builders import a_station, a_token
from tests.conftest import LiveServer
from tests.integration.test_cdrs import a_tariff_for, at, booted16, flat, register16, start16, stop16
from tests.portal import PortalClient, portal_client
from web.portal import sessions as sessions_page


@dataclass(frozen=True)
class Fleet:
    """CP-1 at a site of the client's tenant with a priced and a flagged session, a running one,
    and CP-9 of another tenant with a session of its own."""

    priced: int
    flagged: int
    running: int
    foreign: int


async def a_site(system: System, name: str, tenant_id: int) -> int:
    return await admin.put_site(name, uow=system.uow(), clock=system.clock, tenant_id=tenant_id)


async def a_fleet(server: LiveServer, tenant_id: int) -> Fleet:
    system = server.system
    await a_station(system, "CP-1", site_id=await a_site(system, "S-1", tenant_id))
    await a_station(system, "CP-9", site_id=await a_site(system, "S-9", await a_tenant(system)))
    await a_token(system, "TAG-1")
    await a_tariff_for(system, "CP-1", {**flat(), "session_fee": "1.00"})
    async with await booted16(server, "CP-1") as station:
        priced = await start16(station, 10_000, at("10:00"))
        await register16(station, priced, 14_000, at("10:30"))
        await stop16(station, priced, 18_000, at("11:00"))
        flagged = await start16(station, 20_000, at("12:00"))
        await stop16(station, flagged, 20_000, at("12:45"))  # no energy in 45 min: flagged
        running = await start16(station, 30_000, at("13:00"))
    async with await booted16(server, "CP-9") as station:
        foreign = await start16(station, 0, at("09:00"))
        await stop16(station, foreign, 5_000, at("09:30"))
    return Fleet(priced, flagged, running, foreign)


def session_ids(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'href="/portal/sessions/(\d+)"', html)}


@pytest.fixture
async def operator(server: LiveServer) -> PortalClient:
    return await portal_client(server)


async def test_the_list_shows_the_tenants_sessions_and_filters_them(
    server: LiveServer, operator: PortalClient
) -> None:
    async with operator:
        fleet = await a_fleet(server, operator.tenant_id)
        page = await operator.get("/portal/sessions")
        assert page.status_code == 200 and "<html" in page.text
        assert session_ids(page.text) == {fleet.priced, fleet.flagged, fleet.running}
        assert "3.40 EUR" in page.text  # 8 kWh at 0.30 and 1.00 per session

        for query, expected in [
            ({"flagged": "1"}, {fleet.flagged}),
            ({"state": "Active"}, {fleet.running}),
            ({"state": "Ended", "station": "CP-1"}, {fleet.priced, fleet.flagged}),
            ({"since": "2026-11-23", "until": "2026-11-23"}, {fleet.priced, fleet.flagged, fleet.running}),
            ({"since": "2026-11-24"}, set()),
            ({"until": "2026-11-22"}, set()),
            ({"station": "CP-9"}, set()),  # another tenant's station has no sessions here
            ({"since": "not a date", "state": "Nonsense"}, {fleet.priced, fleet.flagged, fleet.running}),
        ]:
            filtered = await operator.get("/portal/sessions", params=query)
            assert session_ids(filtered.text) == expected, query

        partial = await operator.get(
            "/portal/sessions", params={"flagged": "1"}, headers={"HX-Request": "true"}
        )
        assert "<html" not in partial.text and 'data-testid="sessions-table"' in partial.text
        assert session_ids(partial.text) == {fleet.flagged} and "awaiting review" in partial.text


async def test_the_list_is_paged(
    server: LiveServer, operator: PortalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions_page, "PAGE_SIZE", 2)
    async with operator:
        fleet = await a_fleet(server, operator.tenant_id)
        first = await operator.get("/portal/sessions")
        assert session_ids(first.text) == {fleet.running, fleet.flagged} and "Page 1 of 2" in first.text
        assert 'href="/portal/sessions?page=2"' in first.text
        second = await operator.get("/portal/sessions", params={"page": "2"})
        assert session_ids(second.text) == {fleet.priced} and 'rel="prev"' in second.text


async def test_a_session_shows_its_curve_and_itemised_cost(
    server: LiveServer, operator: PortalClient
) -> None:
    async with operator:
        fleet = await a_fleet(server, operator.tenant_id)
        page = await operator.get(f"/portal/sessions/{fleet.priced}")
        assert page.status_code == 200
        data = re.search(r'id="curve-data">(.*?)</script>', page.text, re.S)
        assert data is not None
        chart = json.loads(data.group(1))
        assert chart["energy_kwh"] == [0.0, 4.0, 8.0] and len(chart["t"]) == 3
        assert 'data-testid="curve-table"' in page.text and "4.000" in page.text
        cost = page.text[page.text.index('data-testid="session-cost"') :]
        lines = re.findall(r"<td>([^<]+)</td><td>([^<]+)</td>", cost)
        assert lines == [("Energy", "flat"), ("Session fee", "—")] and "3.40 EUR" in cost

        running = await operator.get(f"/portal/sessions/{fleet.running}")
        assert "it is billed when it ends" in running.text and 'id="review-form"' not in running.text
        assert (await operator.get(f"/portal/sessions/{fleet.foreign}")).status_code == 404
        assert (await operator.get("/portal/sessions/999999")).status_code == 404


async def audit_of(system: System, tx_id: int) -> list[AuditRow]:
    async with system.sessions() as session:
        query = select(AuditRow).where(col(AuditRow.subject) == f"transaction:{tx_id}")
        return list((await session.execute(query)).scalars())


async def review_state(system: System, tx_id: int) -> tuple[str | None, CdrRow | None]:
    async with system.sessions() as session:
        tx = await session.get(TransactionRow, tx_id)
        cdr = (
            (await session.execute(select(CdrRow).where(col(CdrRow.transaction_id) == tx_id)))
            .scalars()
            .first()
        )
    assert tx is not None
    return tx.review_state, cdr


async def test_a_correction_is_billed_and_audited_as_the_portal_user(
    server: LiveServer, operator: PortalClient
) -> None:
    async with operator:
        fleet = await a_fleet(server, operator.tenant_id)
        page = await operator.get(f"/portal/sessions/{fleet.flagged}")
        assert 'id="review-form"' in page.text and "no energy delivered in 45 min" in page.text

        decided = await operator.post(
            f"/portal/sessions/{fleet.flagged}/review",
            data={"action": "correct", "energy_kwh": "7.5", "note": "meter was stuck"},
        )
        assert (
            decided.status_code == 303 and decided.headers["location"] == f"/portal/sessions/{fleet.flagged}"
        )
        state, cdr = await review_state(server.system, fleet.flagged)
        assert state == "corrected" and cdr is not None and cdr.energy_wh == 7_500
        (entry,) = await audit_of(server.system, fleet.flagged)
        assert (entry.actor, entry.action) == (f"portal:{operator.user_id}", "session.corrected")
        assert entry.details["note"] == "meter was stuck"

        shown = await operator.get(decided.headers["location"])
        assert "The decision is saved." in shown.text and "Corrected from 0.000 kWh measured" in shown.text
        again = await operator.post(f"/portal/sessions/{fleet.flagged}/review", data={"action": "accept"})
        assert again.status_code == 400 and "not awaiting review" in again.text


async def test_accept_and_void_from_htmx(server: LiveServer, operator: PortalClient) -> None:
    htmx = {"HX-Request": "true"}
    async with operator:
        fleet = await a_fleet(server, operator.tenant_id)
        url = f"/portal/sessions/{fleet.flagged}/review"
        rejected = await operator.post(url, data={"action": "void", "note": " "}, headers=htmx)
        assert rejected.status_code == 422 and "<html" not in rejected.text
        assert 'id="review-form"' in rejected.text and "Say why in the note." in rejected.text
        wrong = await operator.post(url, data={"action": "correct", "energy_kwh": "-1", "note": "x"})
        assert wrong.status_code == 422 and "Give the corrected energy in kWh." in wrong.text
        assert await audit_of(server.system, fleet.flagged) == []

        voided = await operator.post(url, data={"action": "void", "note": "test plug-in"}, headers=htmx)
        assert (
            voided.status_code == 200 and voided.headers["HX-Redirect"] == f"/portal/sessions/{fleet.flagged}"
        )
        assert await review_state(server.system, fleet.flagged) == ("voided", None)
        (entry,) = await audit_of(server.system, fleet.flagged)
        assert (entry.actor, entry.action) == (f"portal:{operator.user_id}", "session.voided")
        assert "Voided: nothing is billed." in (await operator.get(f"/portal/sessions/{fleet.flagged}")).text


async def test_another_tenants_session_cannot_be_decided(server: LiveServer, operator: PortalClient) -> None:
    async with operator:
        fleet = await a_fleet(server, operator.tenant_id)
        async with await booted16(server, "CP-9") as station:
            tx_id = await start16(station, 1_000, at("14:00"))
            await stop16(station, tx_id, 1_000, at("14:30"))
        response = await operator.post(f"/portal/sessions/{tx_id}/review", data={"action": "accept"})
        assert response.status_code == 404 and await audit_of(server.system, tx_id) == []
        assert fleet.foreign != tx_id


async def test_an_administrator_sees_every_tenant_and_an_investor_nothing(server: LiveServer) -> None:
    async with await portal_client(server, role="admin") as admin_client:
        fleet = await a_fleet(server, admin_client.tenant_id)
        page = await admin_client.get("/portal/sessions")
        assert session_ids(page.text) == {fleet.priced, fleet.flagged, fleet.running, fleet.foreign}
        assert (await admin_client.get(f"/portal/sessions/{fleet.foreign}")).status_code == 200
    async with await portal_client(server, role="investor") as investor:
        assert (await investor.get("/portal/sessions")).status_code == 403
        assert (await investor.get(f"/portal/sessions/{fleet.priced}")).status_code == 403
        denied = await investor.post(f"/portal/sessions/{fleet.flagged}/review", data={"action": "accept"})
        assert denied.status_code == 403
    async with PortalClient(base_url=server.http) as anonymous:
        response = await anonymous.get("/portal/sessions")
        assert response.status_code == 303 and response.headers["location"].startswith("/portal/login")
