"""Maintenance the CSMS orders: firmware updates, log uploads and resets.

Each runs as a station job after the reply has gone out and reports its progress in the
2.0.1 status words (Downloading, Installed, Uploading, UploadFailure ...); the 1.6 client
translates them. `spec.firmware_step_s` is how long each firmware step takes.
"""

import asyncio
import logging
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

from emulator.charger import Charger
from emulator.errors import TransferError
from emulator.station import StationState
from emulator.transfers import FirmwareJob, LogJob, download, upload

LOGGER = logging.getLogger("emulator")
VERSION_MAX_LENGTH = 50  # 1.6 BootNotification firmwareVersion


def firmware_version(location: str) -> str:
    """The version a downloaded image installs: its file name up to the first dot
    ("emu-2.0.bin" installs "emu-2"), so an image's name decides what BootNotification says."""
    name = PurePosixPath(urlsplit(location).path).name.split(".")[0]
    return (name or "emu-updated")[:VERSION_MAX_LENGTH]


async def _until(state: StationState, moment: datetime | None) -> None:
    if moment is not None:
        await asyncio.sleep(max((moment - state.now()).total_seconds(), 0.0))


async def wait_idle(charger: Charger) -> None:
    """Return once no session runs: installing or resetting would cut a driver's power."""
    while charger.state.transactions:
        await asyncio.sleep(charger.state.spec.firmware_step_s)


async def _firmware_status(charger: Charger, job: FirmwareJob, status: str) -> None:
    charger.state.firmware_activity = (job, status)
    await charger.notify(lambda client: client.firmware_status(job, status))


async def _download(charger: Charger, job: FirmwareJob) -> bytes | None:
    """Download with the CSMS's retries; None (after DownloadFailed) when every try failed."""
    step_s = charger.state.spec.firmware_step_s
    for attempt in range(job.retries + 1):
        await _firmware_status(charger, job, "Downloading")
        try:
            image = await download(job.location)
        except TransferError as exc:
            LOGGER.info("%s: firmware download failed: %s", charger.state.spec.station_id, exc)
            if attempt < job.retries:
                await asyncio.sleep(job.retry_interval_s)
            continue
        await asyncio.sleep(step_s)
        await _firmware_status(charger, job, "Downloaded")
        return image
    await _firmware_status(charger, job, "DownloadFailed")
    return None


async def update_firmware(charger: Charger, job: FirmwareJob) -> None:
    """Download at the retrieve time, install once idle, then reboot into the new version."""
    state = charger.state
    try:
        await _until(state, job.retrieve_at)
        if await _download(charger, job) is None:
            return
        await _until(state, job.install_at)
        await wait_idle(charger)
        await _firmware_status(charger, job, "Installing")
        await asyncio.sleep(state.spec.firmware_step_s)
        state.firmware_version = firmware_version(job.location)
        if charger.dialect.installed_after_reboot:
            # 2.0.1 L01: the rebooted station reports Installed once the CSMS accepts it.
            state.installed_firmware = job
            await _firmware_status(charger, job, "InstallRebooting")
        else:
            await _firmware_status(charger, job, "Installed")
        charger.reboot("Reboot", "FirmwareUpdate")
    finally:
        state.firmware_activity = (None, "Idle")


def diagnostics_text(state: StationState) -> str:
    """The log file a station uploads: identity, EVSEs and configuration, as plain text."""
    spec = state.spec
    lines = [
        f"# {spec.station_id} diagnostics at {state.now_iso()}",
        f"vendor={spec.vendor} model={spec.model} firmware={state.firmware_version} ocpp={spec.version}",
    ]
    for evse in state.evses.values():
        session = evse.session.transaction_id if evse.session else "-"
        lines.append(
            f"evse {evse.id}: {evse.status} {evse.charging_state} register={evse.register_wh}Wh"
            f" power={evse.power_w:.0f}W fault={evse.fault or '-'} transaction={session}"
        )
    lines.extend(f"{key}={state.config[key]}" for key in state.config)
    return "\n".join(lines) + "\n"


async def _log_status(charger: Charger, job: LogJob, status: str) -> None:
    charger.state.log_activity = (job, status)
    await charger.notify(lambda client: client.log_status(job, status))


async def upload_log(charger: Charger, job: LogJob) -> None:
    """Upload the diagnostics file with the CSMS's retries, reporting each step."""
    body = diagnostics_text(charger.state).encode()
    try:
        for attempt in range(job.retries + 1):
            await _log_status(charger, job, "Uploading")
            try:
                await upload(job.location, job.file_name, body)
            except TransferError as exc:
                LOGGER.info("%s: log upload failed: %s", charger.state.spec.station_id, exc)
                if attempt < job.retries:
                    await asyncio.sleep(job.retry_interval_s)
                continue
            await _log_status(charger, job, "Uploaded")
            return
        await _log_status(charger, job, "UploadFailure")
    finally:
        charger.state.log_activity = (None, "Idle")


def reset_outcome(charger: Charger, *, immediate: bool) -> Literal["Accepted", "Scheduled"]:
    """The answer to a Reset: a reset waiting for the sessions to end is Scheduled."""
    return "Accepted" if immediate or not charger.state.transactions else "Scheduled"


def reset(charger: Charger, *, immediate: bool, stop_reason: str, boot_reason: str) -> None:
    """Reboot now, or once the sessions end when not `immediate` (2.0.1 OnIdle)."""
    if reset_outcome(charger, immediate=immediate) == "Accepted":
        charger.reboot(stop_reason, boot_reason)
    else:
        charger.jobs.spawn(_reset_when_idle(charger, stop_reason, boot_reason))


async def _reset_when_idle(charger: Charger, stop_reason: str, boot_reason: str) -> None:
    await wait_idle(charger)
    charger.reboot(stop_reason, boot_reason)
