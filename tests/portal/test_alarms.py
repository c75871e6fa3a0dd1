"""The alarm pages: a Faulted report shows up for the station's tenant, is acknowledged and resolved
from the list, recovers by itself, and stays in the history; the navigation's badge counts them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from chargepoints import alarms
from csms.bootstrap import System
from tests.accounts import a_tenant
from tests.builders import a_station
from tests.conftest import LiveServer
from tests.fakes import FakeClock
from tests.integration.test_alarms import all_alarms, booted, eventually, status16
from tests.portal import portal_client
from tests.portal.test_sessions import a_site

HTMX = {"HX-Request": "true"}


def alarm_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-alarm="(\d+)"', html)]


async def stations(system: System, tenant_id: int) -> None:
    await a_station(system, "CP-1", site_id=await a_site(system, "S-1", tenant_id))
    await a_station(system, "CP-2", site_id=await a_site(system, "S-2", tenant_id))
    await a_station(system, "CP-9", site_id=await a_site(system, "S-9", await a_tenant(system)))


async def test_a_fault_is_listed_acknowledged_and_resolved(server: LiveServer) -> None:
    system = server.system
    async with await portal_client(server) as operator:
        await stations(system, operator.tenant_id)
        async with await booted(server, "CP-1") as one, await booted(server, "CP-9") as foreign:
            await status16(one, "Faulted", error="GroundFailure")
            await status16(foreign, "Faulted", error="OverVoltage")
            await eventually(lambda: _count(system, 2))
        mine, theirs = await all_alarms(system)

        page = await operator.get("/portal/alarms")
        assert (
            alarm_ids(page.text) == [mine.id]
            and "GroundFailure" in page.text
            and "OverVoltage" not in page.text
        )
        assert (await operator.get("/portal/alarms/badge", headers=HTMX)).text.endswith(">1")

        acknowledged = await operator.post(f"/portal/alarms/{mine.id}/acknowledge", headers=HTMX)
        assert acknowledged.status_code == 200 and acknowledged.text.lstrip().startswith("<tr")
        assert (
            f"portal:{operator.user_id}" in acknowledged.text
            and "Acknowledge</button>" not in acknowledged.text
        )
        assert (await operator.post(f"/portal/alarms/{theirs.id}/acknowledge")).status_code == 404
        assert (await operator.post(f"/portal/alarms/{theirs.id}/resolve")).status_code == 404

        resolved = await operator.post(f"/portal/alarms/{mine.id}/resolve")
        assert resolved.status_code == 303 and resolved.headers["location"] == "/portal/alarms"
        after = await operator.get("/portal/alarms")
        assert alarm_ids(after.text) == [] and "The alarm is resolved." in after.text
        assert (await operator.get("/portal/alarms/badge", headers=HTMX)).text == ""
        history = await operator.get("/portal/alarms/history")
        row = history.text[history.text.index(f'data-alarm="{mine.id}"') :].split("</tr>")[0]
        assert f"portal:{operator.user_id}" in row and "Resolve</button>" not in row
        again = await operator.post(f"/portal/alarms/{mine.id}/resolve")
        assert again.status_code == 303
        assert "resolved already" in (await operator.get(again.headers["location"])).text


async def _count(system: System, expected: int) -> bool:
    return len(await all_alarms(system)) == expected


async def test_recovery_offline_alarms_and_filters(server: LiveServer) -> None:
    system = server.system
    async with await portal_client(server) as operator:
        await stations(system, operator.tenant_id)
        async with await booted(server, "CP-1") as one:
            await status16(one, "Faulted", error="GroundFailure")
            await eventually(lambda: _count(system, 1))
            await status16(one, "Available")
            async with await booted(server, "CP-2"):
                pass
        late = FakeClock(datetime.now(UTC) + timedelta(hours=1))
        await alarms.check_offline(
            uow=system.uow(), clock=late, gateway=system.station_gateway, after=timedelta(minutes=10)
        )
        fault, *offline = await all_alarms(system)
        assert {row.station_id for row in offline} == {"CP-1", "CP-2"}  # CP-9 never connected
        await eventually(lambda: _resolved(system, fault.id))

        open_page = await operator.get("/portal/alarms")
        shown = alarm_ids(open_page.text)
        assert len(shown) == 2 and fault.id not in shown and "Offline" in open_page.text
        only_cp2 = await operator.get("/portal/alarms", params={"station": "CP-2"}, headers=HTMX)
        assert "<html" not in only_cp2.text and len(alarm_ids(only_cp2.text)) == 1
        faulted = await operator.get("/portal/alarms/history", params={"kind": "faulted"})
        assert alarm_ids(faulted.text) == [fault.id] and "automatically" in faulted.text
        assert len(alarm_ids((await operator.get("/portal/alarms/history")).text)) == 3


async def _resolved(system: System, alarm_id: int | None) -> bool:
    return any(row.id == alarm_id and row.resolved_at is not None for row in await all_alarms(system))


async def test_investors_see_no_alarms(server: LiveServer) -> None:
    async with await portal_client(server, role="investor") as investor:
        assert (await investor.get("/portal/alarms")).status_code == 403
        assert (await investor.get("/portal/alarms/history")).status_code == 403
        assert (await investor.post("/portal/alarms/1/resolve")).status_code == 403
        badge = await investor.get("/portal/alarms/badge", headers=HTMX)
        assert badge.status_code == 200 and badge.text == ""
    async with await portal_client(server, role="admin") as admin_client:
        assert (await admin_client.get("/portal/alarms")).status_code == 200
