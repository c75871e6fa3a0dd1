"""A station's pages: detail, command buttons with their results, configuration, command and message logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from chargepoints import admin, files, services
from chargepoints.model import VariableReport
from chargepoints.tables import ChargingProfileRow
from tests.builders import a_station, a_token, boot16, boot201, start16
from tests.conftest import LiveServer
from tests.portal import PortalClient, portal_client
from tests.wire import WireStation

HTMX = {"HX-Request": "true"}
STATION = "/portal/stations/CP-1"


class Answering:
    """Answers each call the CSMS sends a WireStation, as ``answers`` says per action (else
    Accepted), and keeps what it was sent."""

    def __init__(self, station: WireStation, answers: dict[str, dict[str, Any]]) -> None:
        self.station, self.answers = station, answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def run(self) -> None:
        while True:
            frame = json.loads(await self.station.ws.recv(decode=True))
            if frame[0] == 2:
                self.calls.append((frame[2], frame[3]))
                answer = self.answers.get(frame[2], {"status": "Accepted"})
                await self.station.ws.send(json.dumps([3, frame[1], answer]))


@contextlib.asynccontextmanager
async def answering(station: WireStation, **answers: dict[str, Any]) -> AsyncIterator[Answering]:
    responder = Answering(station, answers)
    task = asyncio.create_task(responder.run())
    try:
        yield responder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@pytest.fixture
async def operator(server: LiveServer) -> AsyncIterator[PortalClient]:
    async with await portal_client(server, role="operator") as client:
        site = await admin.put_site(
            "Depot", uow=server.system.uow(), clock=server.system.clock, tenant_id=client.tenant_id
        )
        await a_station(server.system, "CP-1", site_id=site)
        yield client


@pytest.fixture
async def station(server: LiveServer, operator: PortalClient) -> AsyncIterator[WireStation]:
    """CP-1, an OCPP 1.6 station of the operator's tenant, booted and charging for TAG-1."""
    await a_token(server.system, "TAG-1")
    async with await WireStation.connect(server.ws, "CP-1") as wire:
        await wire.ok("BootNotification", boot16(chargePointSerialNumber="SN-77"))
        await wire.ok("StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})
        await wire.ok("StartTransaction", start16())
        yield wire


async def outcome(client: PortalClient, partial: httpx.Response) -> str:
    """Poll the command's partial, as its hx-trigger does, until the station has answered."""
    assert partial.status_code == 200, partial.text
    found = re.search(
        r'<li id="command-(\d+)" class="command" hx-get="([^"]+)" hx-trigger="every 1s"', partial.text
    )
    assert found is not None, partial.text
    async with asyncio.timeout(10):
        while True:
            html = (await client.get(found.group(2), headers=HTMX)).text
            if "hx-trigger" not in html:
                return html
            await asyncio.sleep(0.05)


COMMANDS = [
    ("reset", {"kind": "Immediate"}, "Reset", {"type": "Hard"}),
    ("remote-start", {"id_token": "TAG-2", "evse_id": "1"}, "RemoteStartTransaction", {"idTag": "TAG-2"}),
    ("unlock", {"evse_id": "1", "connector_id": "1"}, "UnlockConnector", {"connectorId": 1}),
    ("availability", {"status": "Inoperative", "evse_id": ""}, "ChangeAvailability", {"type": "Inoperative"}),
    ("trigger", {"message": "Heartbeat"}, "TriggerMessage", {"requestedMessage": "Heartbeat"}),
    ("upload-log", {}, "GetDiagnostics", {}),
    ("refresh-configuration", {}, "GetConfiguration", {}),
]


@pytest.mark.parametrize(("path", "form", "action", "sent"), COMMANDS, ids=[c[0] for c in COMMANDS])
async def test_each_command_button_sends_and_shows_the_result(
    server: LiveServer,
    operator: PortalClient,
    station: WireStation,
    path: str,
    form: dict[str, str],
    action: str,
    sent: dict[str, Any],
) -> None:
    answers = {"UnlockConnector": {"status": "Unlocked"}, "GetDiagnostics": {}, "GetConfiguration": {}}
    async with answering(station, **answers) as wire:
        partial = await operator.post(
            f"{STATION}/commands/{path}", data={**form, "confirmed": "yes"}, headers=HTMX
        )
        assert f"<strong>{action}</strong>" in partial.text and f"portal:{operator.user_id}" in partial.text
        result = await outcome(operator, partial)
    assert "command-accepted" in result
    assert [name for name, _ in wire.calls] == [action]
    assert sent.items() <= wire.calls[0][1].items()


async def test_remote_stop_firmware_and_charging_limit(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    system = server.system
    image = await files.add_firmware(
        "fw-2.bin", b"\x00" * 64, store=system.files, uow=system.uow(), clock=system.clock
    )
    page = (await operator.get(STATION)).text
    tx_id = re.search(r'name="transaction_id" value="(\d+)"', page)
    assert tx_id is not None and "fw-2.bin" in page
    async with answering(station, UpdateFirmware={}) as wire:
        stop = await operator.post(
            f"{STATION}/commands/remote-stop",
            data={"transaction_id": tx_id.group(1), "confirmed": "yes"},
            headers=HTMX,
        )
        assert "command-accepted" in await outcome(operator, stop)
        firmware = await operator.post(
            f"{STATION}/commands/firmware",
            data={"firmware_id": str(image.id), "confirmed": "yes"},
            headers=HTMX,
        )
        assert "command-accepted" in await outcome(operator, firmware)
        limit = {"limit": "16", "unit": "A", "minutes": "30", "evse_id": "", "confirmed": "yes"}
        profile = await operator.post(f"{STATION}/commands/charging-profile", data=limit, headers=HTMX)
        assert (
            "command-accepted" in profile.text and "hx-trigger" not in profile.text
        )  # waited for the answer
    assert [name for name, _ in wire.calls] == [
        "RemoteStopTransaction",
        "UpdateFirmware",
        "SetChargingProfile",
    ]
    assert wire.calls[0][1] == {"transactionId": int(tx_id.group(1))}
    assert wire.calls[1][1]["location"].endswith(f"/files/{image.token}/fw-2.bin")
    sent_profile = wire.calls[2][1]
    assert sent_profile["connectorId"] == 0
    assert sent_profile["csChargingProfiles"]["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert sent_profile["csChargingProfiles"]["chargingSchedule"]["duration"] == 1800
    async with system.sessions() as session:
        (stored,) = (await session.execute(select(ChargingProfileRow))).scalars()
    assert stored.status == "Installed" and stored.purpose == "ChargingStationMaxProfile"


async def test_a_rejection_an_offline_station_and_one_never_booted(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    async with answering(station, Reset={"status": "Rejected"}):
        rejected = await operator.post(
            f"{STATION}/commands/reset", data={"kind": "OnIdle", "confirmed": "yes"}, headers=HTMX
        )
        html = await outcome(operator, rejected)
    assert "command-rejected" in html and "Answer: Rejected" in html
    gone = await operator.post(
        f"{STATION}/commands/remote-stop", data={"transaction_id": "999", "confirmed": "yes"}, headers=HTMX
    )
    assert gone.status_code == 409 and "Session 999 is not running here." in gone.text
    await station.close()
    offline = await operator.post(
        f"{STATION}/commands/reset", data={"kind": "OnIdle", "confirmed": "yes"}, headers=HTMX
    )
    assert "command-station_offline" in await outcome(operator, offline)

    depot = await admin.put_site("Depot", uow=server.system.uow(), clock=server.system.clock)  # by name
    await a_station(server.system, "CP-NEW", site_id=depot)
    never = await operator.post(
        "/portal/stations/CP-NEW/commands/reset", data={"kind": "OnIdle", "confirmed": "yes"}, headers=HTMX
    )
    assert never.status_code == 409 and "has not booted yet" in never.text
    assert never.headers["HX-Retarget"] == "#toasts"


async def test_without_javascript_a_command_is_confirmed_on_a_page_first(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    question = await operator.post(f"{STATION}/commands/reset", data={"kind": "Immediate"})
    assert question.status_code == 200 and "Reset station CP-1?" in question.text
    assert '<input type="hidden" name="kind" value="Immediate">' in question.text
    assert '<input type="hidden" name="confirmed" value="yes">' in question.text
    async with answering(station) as wire:
        assert wire.calls == []
        sent = await operator.post(
            f"{STATION}/commands/reset", data={"kind": "Immediate", "confirmed": "yes"}
        )
        assert sent.status_code == 303
        location = sent.headers["location"]
        assert re.fullmatch(r"/portal/stations/CP-1/commands/\d+", location)
        async with asyncio.timeout(10):
            while "command-accepted" not in (page := (await operator.get(location)).text):
                assert 'http-equiv="refresh"' in page
                await asyncio.sleep(0.05)
    assert 'http-equiv="refresh"' not in page and '"type": "Hard"' in page


async def test_the_detail_page_shows_the_station(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    page = await operator.get(STATION)
    assert page.status_code == 200
    text = page.text
    assert "SN-77" in text and "ACME" in text and "Depot" in text and "PowerUp" not in text
    assert '<section id="evses-CP-1"' in text and "status-charging" in text and "TAG-1" in text
    assert 'data-live="/portal/live/stations?view=evses&amp;id=CP-1"' in text
    for form in ("reset", "remote-start", "remote-stop", "unlock", "availability", "trigger", "upload-log"):
        assert f'hx-post="/portal/stations/CP-1/commands/{form}"' in text
    assert 'hx-confirm="Reset station CP-1?"' in text and 'hx-vals=\'{"confirmed": "yes"}\'' in text
    assert "No firmware has been uploaded yet." in text


async def test_configuration_of_a_16_and_a_201_station(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    assert "has not been read yet" in (await operator.get(f"{STATION}/configuration")).text
    keys = {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}],
        "unknownKey": ["Nope"],
    }
    async with answering(station, GetConfiguration=keys):
        refresh = await operator.post(
            f"{STATION}/commands/refresh-configuration", data={"confirmed": "yes"}, headers=HTMX
        )
        await outcome(operator, refresh)
    page = (await operator.get(f"{STATION}/configuration")).text
    assert "HeartbeatInterval" in page and "<code>60</code>" in page and "Nope" in page

    system = server.system
    async with await WireStation.connect(server.ws, "CP-1", subprotocols=("ocpp2.0.1",)) as v201:
        await v201.ok("BootNotification", boot201())
    reports = [
        VariableReport("OCPPCommCtrlr", "HeartbeatInterval", "300", mutability="ReadWrite"),
        VariableReport("EVSE", "Power", "22000", evse_id=1, unit="W"),
    ]
    await services.record_variables("CP-1", reports, uow=system.uow(), clock=system.clock)
    page = (await operator.get(f"{STATION}/configuration")).text
    assert "OCPPCommCtrlr" in page and "ReadWrite" in page and "22000" in page
    filtered = await operator.get(f"{STATION}/configuration", params={"q": "commctrl"}, headers=HTMX)
    assert filtered.text.lstrip().startswith('<section id="configuration"')
    assert "OCPPCommCtrlr" in filtered.text and "22000" not in filtered.text


async def test_the_command_log_pages(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    async with answering(station):
        for _ in range(3):
            await outcome(
                operator,
                await operator.post(
                    f"{STATION}/commands/trigger",
                    data={"message": "Heartbeat", "confirmed": "yes"},
                    headers=HTMX,
                ),
            )
    page = (await operator.get(f"{STATION}/commands")).text
    assert page.count("<td>TriggerMessage</td>") == 3 and f"portal:{operator.user_id}" in page
    partial = (await operator.get(f"{STATION}/commands", headers=HTMX)).text
    assert partial.lstrip().startswith('<section id="command-log"') and "<html" not in partial
    assert (await operator.get(STATION)).text.count('class="command"') == 3  # the latest, on the overview


async def test_the_message_log_filters(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    await station.ok("Heartbeat", {})
    await server.system.message_log.flush()

    async def shown(**params: str) -> list[str]:
        html = (await operator.get(f"{STATION}/messages", params=params, headers=HTMX)).text
        assert html.lstrip().startswith('<section id="messages"')
        return re.findall(r'<tr class="direction-(in|out)">', html)

    everything = await shown()
    assert len(everything) == 8  # four calls (boot, status, start, heartbeat) and their results
    assert await shown(direction="in") == ["in"] * 4
    assert len(await shown(action="BootNotification")) == 2
    assert await shown(text="TAG-1") == ["in"]  # the start (its answer names no token)
    assert await shown(text="%") == []
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert await shown(until=hour_ago) == [] and len(await shown(since=hour_ago)) == 8
    assert len(await shown(since="not a date")) == 8
    page = (await operator.get(f"{STATION}/messages", params={"direction": "out"})).text
    assert '<option value="out" selected>' in page and "Heartbeat" in page


async def test_paging_the_message_log(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    for _ in range(30):
        await station.ok("Heartbeat", {})
    await server.system.message_log.flush()
    first = (await operator.get(f"{STATION}/messages")).text
    assert first.count('<tr class="direction-') == 50 and "page=2" in first and "Page 1" in first
    second = (await operator.get(f"{STATION}/messages", params={"page": "2"})).text
    assert second.count('<tr class="direction-') == 16 and "page=3" not in second


async def test_other_tenants_stations_do_not_exist(server: LiveServer, operator: PortalClient) -> None:
    async with await portal_client(server, role="operator") as other:
        for path in ("", "/configuration", "/commands", "/messages", "/commands/1"):
            assert (await other.get(STATION + path)).status_code == 404
        refused = await other.post(f"{STATION}/commands/reset", data={"kind": "OnIdle", "confirmed": "yes"})
        assert refused.status_code == 404
    assert (await operator.get("/portal/stations/NOPE")).status_code == 404


@pytest.mark.parametrize("path", ["", "/configuration", "/commands", "/messages"])
async def test_investors_are_refused_and_strangers_sent_to_log_in(
    server: LiveServer, operator: PortalClient, path: str
) -> None:
    async with await portal_client(server, role="investor", tenant_id=operator.tenant_id) as investor:
        assert (await investor.get(STATION + path)).status_code == 403
        refused = await investor.post(
            f"{STATION}/commands/reset", data={"kind": "OnIdle", "confirmed": "yes"}
        )
        assert refused.status_code == 403
    async with httpx.AsyncClient(base_url=server.http) as anonymous:
        response = await anonymous.get(STATION + path)
        assert response.status_code == 303 and response.headers["location"].startswith("/portal/login")


async def test_a_command_without_the_csrf_token_is_refused(
    server: LiveServer, operator: PortalClient, station: WireStation
) -> None:
    del operator.headers["X-CSRF-Token"]
    async with answering(station) as wire:
        response = await operator.post(
            f"{STATION}/commands/reset", data={"kind": "OnIdle", "confirmed": "yes"}
        )
        assert response.status_code == 403
    assert wire.calls == []
