"""The people pages: the tenant's drivers and their id tokens (blocked and unblocked, audited and
obeyed by stations), adding staff, and answering complaints."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlmodel import col, select

from chargepoints import feedback
from chargepoints.feedback import ComplaintCategory, ComplaintSpec
from chargepoints.feedback_tables import ComplaintRow
from chargepoints.tables import IdTokenRow
from csms.accounts import profile
from csms.accounts.repository import AccountsUnitOfWork
from csms.audit import AuditRow
from csms.bootstrap import System
from tests.accounts import Driver, a_driver
from tests.builders import a_token, boot16
from tests.conftest import LiveServer
from tests.integration.test_feedback_api import a_session, a_station
from tests.portal import PortalClient, log_in, portal_client
from tests.wire import WireStation

HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class People:
    """Two drivers of the client's tenant (Alice with an RFID card and a session), one elsewhere."""

    alice: Driver
    bob: Driver
    stranger: Driver


async def some_people(system: System, tenant_id: int) -> People:
    alice = await a_driver(system, tenant_id=tenant_id, phone="+8613800000011")
    bob = await a_driver(system, tenant_id=tenant_id, phone="+8613800000012")
    stranger = await a_driver(system, phone="+8613800000013")
    await profile.update_me(alice.user_id, {"display_name": "Alice"}, uow=AccountsUnitOfWork(system.sessions))
    await profile.link_card(
        alice.user_id, "CARD-A", uow=AccountsUnitOfWork(system.sessions), clock=system.clock
    )
    await profile.link_card(
        stranger.user_id, "CARD-X", uow=AccountsUnitOfWork(system.sessions), clock=system.clock
    )
    await a_token(system, "LOOSE")  # linked to nobody: no tenant's
    await a_station(system, "CP-1", tenant_id)
    await a_session(system, "CP-1", alice)
    return People(alice, bob, stranger)


async def token_status(system: System, token: str) -> str:
    async with system.sessions() as session:
        row = (
            (await session.execute(select(IdTokenRow).where(col(IdTokenRow.token) == token))).scalars().one()
        )
        return row.status


async def audit(system: System, subject: str) -> list[AuditRow]:
    async with system.sessions() as session:
        return list(
            (await session.execute(select(AuditRow).where(col(AuditRow.subject) == subject))).scalars()
        )


def tokens_listed(html: str) -> set[str]:
    return set(re.findall(r'data-token="([^"]+)"', html))


@pytest.fixture
async def operator(server: LiveServer) -> PortalClient:
    return await portal_client(server)


async def test_drivers_are_listed_searched_and_shown(server: LiveServer, operator: PortalClient) -> None:
    async with operator:
        people = await some_people(server.system, operator.tenant_id)
        page = await operator.get("/portal/people")
        assert page.status_code == 200
        listed = set(re.findall(r'href="/portal/people/drivers/(\d+)"', page.text))
        assert listed == {str(people.alice.user_id), str(people.bob.user_id)}
        alice_row = page.text[page.text.index(">Alice</a>") :].split("</tr>")[0]
        assert re.findall(r'<td class="num">(\d+)</td>', alice_row) == [
            "2",
            "1",
        ]  # app token + card, 1 session

        for query, expected in [("alice", {people.alice}), ("00000012", {people.bob}), ("nobody", set())]:
            found = await operator.get("/portal/people", params={"q": query}, headers=HTMX)
            assert "<html" not in found.text
            ids = set(re.findall(r'href="/portal/people/drivers/(\d+)"', found.text))
            assert ids == {str(driver.user_id) for driver in expected}, query

        detail = await operator.get(f"/portal/people/drivers/{people.alice.user_id}")
        assert detail.status_code == 200 and 'data-testid="driver-sessions">1<' in detail.text
        assert "CARD-A" in tokens_listed(detail.text) and len(tokens_listed(detail.text)) == 2
        assert (await operator.get(f"/portal/people/drivers/{people.stranger.user_id}")).status_code == 404
        assert (await operator.get(f"/portal/people/drivers/{operator.user_id}")).status_code == 404  # staff


async def test_a_blocked_token_is_audited_and_refused_by_stations(
    server: LiveServer, operator: PortalClient
) -> None:
    system = server.system
    async with operator:
        await some_people(system, operator.tenant_id)
        page = await operator.get("/portal/people/tokens")
        listed = tokens_listed(page.text)
        assert "CARD-A" in listed and len(listed) == 3 and not {"CARD-X", "LOOSE"} & listed

        blocked = await operator.post(
            "/portal/people/tokens/status",
            data={"token": "CARD-A", "status": "Blocked", "next": "/portal/people"},
        )
        assert blocked.status_code == 303 and blocked.headers["location"] == "/portal/people"
        assert await token_status(system, "CARD-A") == "Blocked"
        (entry,) = await audit(system, "id_token:CARD-A")
        assert (entry.actor, entry.action, entry.details) == (
            f"portal:{operator.user_id}",
            "id_token.status",
            {"from": "Accepted", "to": "Blocked"},
        )
        async with await WireStation.connect(server.ws, "CP-1") as station:
            await station.ok("BootNotification", boot16())
            answer = await station.ok("Authorize", {"idTag": "CARD-A"})
            assert answer["idTagInfo"]["status"] == "Blocked"

        only_blocked = await operator.get("/portal/people/tokens", params={"status": "Blocked"}, headers=HTMX)
        assert tokens_listed(only_blocked.text) == {"CARD-A"} and "<html" not in only_blocked.text
        unblocked = await operator.post(
            "/portal/people/tokens/status", data={"token": "CARD-A", "status": "Accepted"}, headers=HTMX
        )
        assert unblocked.status_code == 200 and unblocked.text.lstrip().startswith("<tr")
        assert 'value="Blocked">Block</button>' in unblocked.text
        assert (
            await token_status(system, "CARD-A") == "Accepted"
            and len(await audit(system, "id_token:CARD-A")) == 2
        )

        for token in ("CARD-X", "LOOSE", "NO-SUCH"):
            refused = await operator.post(
                "/portal/people/tokens/status", data={"token": token, "status": "Blocked"}
            )
            assert refused.status_code == 404, token
        assert await token_status(system, "CARD-X") == "Accepted"
        odd = await operator.post(
            "/portal/people/tokens/status", data={"token": "CARD-A", "status": "Expired"}
        )
        assert odd.status_code == 422


async def test_an_administrator_may_block_any_token(server: LiveServer) -> None:
    async with await portal_client(server, role="admin") as admin_client:
        await some_people(server.system, admin_client.tenant_id)
        assert {"CARD-X", "LOOSE"} <= tokens_listed((await admin_client.get("/portal/people/tokens")).text)
        response = await admin_client.post(
            "/portal/people/tokens/status", data={"token": "LOOSE", "status": "Blocked"}
        )
        assert response.status_code == 303 and await token_status(server.system, "LOOSE") == "Blocked"


async def test_staff_are_added_and_can_log_in(server: LiveServer, operator: PortalClient) -> None:
    form = {"role": "investor", "name": "Ivy", "phone": "+8613911112222", "password": "a long password"}
    async with operator:
        page = await operator.get("/portal/people/staff")
        assert operator.phone in page.text and 'data-testid="staff-form"' in page.text
        added = await operator.post("/portal/people/staff", data=form)
        assert added.status_code == 303, added.text
        listed = await operator.get("/portal/people/staff")
        assert "Ivy" in listed.text and "The account is ready." in listed.text
        again = await operator.post("/portal/people/staff", data=form)
        assert (
            again.status_code == 422
            and "already has an account" in again.text
            and 'value="Ivy"' in again.text
        )
        weak = await operator.post(
            "/portal/people/staff", data={**form, "phone": "+8613911113333", "password": "x"}
        )
        assert weak.status_code == 422
        admin = await operator.post(
            "/portal/people/staff", data={**form, "phone": "+8613911114444", "role": "admin"}
        )
        assert admin.status_code == 422 and "Choose operator or investor." in admin.text
    async with PortalClient(base_url=server.http) as ivy:
        assert (await log_in(ivy, "+8613911112222", "a long password")).status_code == 303
        assert (await ivy.get("/portal/people")).status_code == 403  # investors see revenue only


async def a_complaint(system: System, driver: Driver, text: str) -> int:
    spec = ComplaintSpec(ComplaintCategory.STATION_FAULT, text, station_id=None)
    row = await feedback.file_complaint(
        spec, driver=feedback.Driver(driver.user_id, driver.tenant_id), uow=system.uow(), clock=system.clock
    )
    assert row.id is not None
    return row.id


async def test_complaints_are_answered(server: LiveServer, operator: PortalClient) -> None:
    system = server.system
    async with operator:
        people = await some_people(system, operator.tenant_id)
        broken = await a_complaint(system, people.alice, "The cable is broken")
        slow = await a_complaint(system, people.bob, "Charging was slow")
        foreign = await a_complaint(system, people.stranger, "Elsewhere")
        page = await operator.get("/portal/people/complaints")
        listed = set(re.findall(r'href="/portal/people/complaints/(\d+)"', page.text))
        assert listed == {str(broken), str(slow)} and "The cable is broken" in page.text

        answered = await operator.post(
            f"/portal/people/complaints/{broken}",
            data={"status": "in_progress", "response": "A technician is coming"},
        )
        assert answered.status_code == 303
        shown = await operator.get(answered.headers["location"])
        assert "A technician is coming" in shown.text and "In progress" in shown.text
        (entry,) = await audit(system, f"complaint:{broken}")
        assert (entry.actor, entry.action) == (f"portal:{operator.user_id}", "complaint.answer")
        assert entry.details == {"from": "open", "to": "in_progress", "response": "A technician is coming"}

        open_only = await operator.get("/portal/people/complaints", params={"status": "open"}, headers=HTMX)
        assert set(re.findall(r'href="/portal/people/complaints/(\d+)"', open_only.text)) == {str(slow)}
        empty = await operator.post(f"/portal/people/complaints/{slow}", data={"status": "", "response": " "})
        assert empty.status_code == 422 and "Write an answer or choose a status." in empty.text
        closed = await operator.post(f"/portal/people/complaints/{broken}", data={"status": "resolved"})
        assert closed.status_code == 303
        reopened = await operator.post(f"/portal/people/complaints/{broken}", data={"status": "in_progress"})
        assert reopened.status_code == 422 and "is resolved" in reopened.text
        assert (await operator.get(f"/portal/people/complaints/{foreign}")).status_code == 404
        stolen = await operator.post(f"/portal/people/complaints/{foreign}", data={"status": "rejected"})
        assert stolen.status_code == 404
        async with system.sessions() as session:
            row = await session.get(ComplaintRow, foreign)
        assert row is not None and row.status == "open"


async def test_investors_may_not_see_people(server: LiveServer) -> None:
    async with await portal_client(server, role="investor") as investor:
        for path in (
            "/portal/people",
            "/portal/people/tokens",
            "/portal/people/staff",
            "/portal/people/complaints",
        ):
            assert (await investor.get(path)).status_code == 403, path
        denied = await investor.post("/portal/people/tokens/status", data={"token": "X", "status": "Blocked"})
        assert denied.status_code == 403
