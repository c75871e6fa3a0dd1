"""Firmware updates and log uploads ordered through the real server, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chargepoints.tables import StationEventRow, StationRow
from tests.conftest import LiveServer
from tests.emulator_selftest.harness import Rig, file_server, rig_for, until

VERSIONS = ["1.6", "2.0.1"]


@pytest.fixture
async def rig(server: LiveServer) -> AsyncIterator[Rig]:
    async with rig_for(server) as made:
        yield made


def update_firmware(version: str, location: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    if version == "1.6":
        return {"location": location, "retrieveDate": now}
    return {"requestId": 4, "firmware": {"location": location, "retrieveDateTime": now}}


async def codes(rig: Rig, kind: str, count: int) -> list[str]:
    return [row.code for row in await rig.wait_rows(StationEventRow, count, kind=kind)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_firmware_update_downloads_installs_and_reboots_into_the_new_version(
    rig: Rig, version: str
) -> None:
    station = await rig.station(version)
    with file_server() as files:
        files.files["/fw/emu-2_1.bin"] = b"\x7fELF firmware image"
        await rig.call("CS-1", "UpdateFirmware", update_firmware(version, f"{files.url}/fw/emu-2_1.bin"))

        if version == "1.6":
            expected = ["Downloading", "Downloaded", "Installing", "Installed"]
        else:  # 2.0.1 reports Installed once rebooted (L01)
            expected = ["Downloading", "Downloaded", "Installing", "InstallRebooting", "Installed"]
        assert await codes(rig, "FirmwareStatus", len(expected)) == expected
    boots = await rig.wait_sent("BootNotification", 2)
    assert version == "1.6" or boots[-1]["reason"] == "FirmwareUpdate"
    [row] = await rig.rows(StationRow, id="CS-1")
    assert row.firmware_version == station.state.firmware_version == "emu-2_1"
    await until(lambda: station.connected)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_failed_download_is_reported_and_nothing_reboots(rig: Rig, version: str) -> None:
    await rig.station(version)
    with file_server() as files:
        await rig.call("CS-1", "UpdateFirmware", update_firmware(version, f"{files.url}/fw/missing.bin"))
        assert await codes(rig, "FirmwareStatus", 2) == ["Downloading", "DownloadFailed"]
    assert len(await rig.sent("BootNotification")) == 1


async def test_v16_signed_firmware_updates_like_a_plain_one(rig: Rig) -> None:
    station = await rig.station("1.6")
    with file_server() as files:
        files.files["/fw/emu-3_0.bin"] = b"image"
        firmware = {
            "location": f"{files.url}/fw/emu-3_0.bin",
            "retrieveDateTime": datetime.now(UTC).isoformat(),
            "signingCertificate": "-----BEGIN CERTIFICATE-----",
            "signature": "c2lnbmF0dXJl",
        }
        reply = await rig.call("CS-1", "SignedUpdateFirmware", {"requestId": 9, "firmware": firmware})
        assert reply == {"status": "Accepted"}
        await rig.wait_sent("BootNotification", 2)
    statuses = [(s["status"], s["requestId"]) for s in await rig.sent("SignedFirmwareStatusNotification")]
    assert statuses == [(s, 9) for s in ("Downloading", "Downloaded", "Installing", "Installed")]
    assert station.state.firmware_version == "emu-3_0"


async def test_v16_diagnostics_are_put_and_a_failed_upload_is_reported(rig: Rig) -> None:
    await rig.station("1.6")
    with file_server() as files:
        reply = await rig.call("CS-1", "GetDiagnostics", {"location": f"{files.url}/logs/"})
        assert reply == {"fileName": "CS-1-diagnostics.txt"}
        assert await codes(rig, "DiagnosticsStatus", 2) == ["Uploading", "Uploaded"]
        [(path, method, body)] = files.uploads
    assert (path, method) == ("/logs/CS-1-diagnostics.txt", "PUT")
    assert body.startswith(b"# CS-1 diagnostics") and b"HeartbeatInterval=" in body

    await rig.call("CS-1", "GetDiagnostics", {"location": "http://127.0.0.1:9/logs/"})
    assert (await codes(rig, "DiagnosticsStatus", 4))[2:] == ["Uploading", "UploadFailed"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_log_is_posted_when_the_url_says_so(rig: Rig, version: str) -> None:
    await rig.station(version)
    with file_server() as files:
        log = {"remoteLocation": f"{files.url}/upload?method=POST"}
        reply = await rig.call("CS-1", "GetLog", {"logType": "DiagnosticsLog", "requestId": 3, "log": log})
        assert reply == {"status": "Accepted", "filename": "CS-1-DiagnosticsLog-3.txt"}
        sent = await rig.wait_sent("LogStatusNotification", 2)
        [(path, method, body)] = files.uploads
    assert [(s["status"], s["requestId"]) for s in sent] == [("Uploading", 3), ("Uploaded", 3)]
    assert (path, method) == ("/upload?method=POST", "POST") and body.startswith(b"# CS-1")
