"""Firmware the CSMS offers to stations and logs stations upload to it.

Stations fetch and upload over plain HTTP without our credentials, so each file is reachable
only under an unguessable token, and an upload slot is created per request and used once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from chargepoints.errors import ChargingError
from chargepoints.operations import Operation
from chargepoints.ports import Clock, FileStore
from chargepoints.repository import UnitOfWork
from chargepoints.tables import StoredFileRow

FIRMWARE, UPLOAD = "firmware", "upload"


class FileNotFound(ChargingError):
    pass


@dataclass(frozen=True, slots=True)
class UpdateFirmware(Operation):
    location: str
    retrieve_at: datetime
    request_id: int
    retries: int | None = None
    retry_interval_s: int | None = None


@dataclass(frozen=True, slots=True)
class UploadLog(Operation):
    """1.6 GetDiagnostics / 2.0.1 GetLog: the station uploads its log to ``location``."""

    location: str
    request_id: int
    security_log: bool = False
    since: datetime | None = None
    until: datetime | None = None


def safe_name(name: str) -> str:
    """A file name that cannot escape the store or confuse a shell: last path part, tame chars."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit("/", 1)[-1])[:200].lstrip(".")
    return base or "file"


def storage_key(row: StoredFileRow) -> str:
    return f"{row.kind}/{row.id}-{row.name}"


async def add_firmware(
    name: str, data: bytes, *, store: FileStore, uow: UnitOfWork, clock: Clock
) -> StoredFileRow:
    async with uow:
        row = StoredFileRow(
            kind=FIRMWARE,
            name=safe_name(name),
            token=secrets.token_urlsafe(24),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            created_at=clock.now(),
            received_at=clock.now(),
        )
        uow.chargepoints.add(row)
        await uow.chargepoints.flush()
        await store.write(storage_key(row), data)
        await uow.commit()
    return row


async def open_upload_slot(station_id: str, *, uow: UnitOfWork, clock: Clock) -> StoredFileRow:
    async with uow:
        row = StoredFileRow(
            kind=UPLOAD,
            name="pending",
            token=secrets.token_urlsafe(24),
            station_id=station_id,
            created_at=clock.now(),
        )
        uow.chargepoints.add(row)
        await uow.chargepoints.flush()
        await uow.commit()
    return row


async def receive_upload(
    token: str, name: str, data: bytes, *, store: FileStore, uow: UnitOfWork, clock: Clock
) -> StoredFileRow:
    """Store a station's upload in its slot; a slot takes one file, a retry replaces it."""
    async with uow:
        row = await _by_token(uow, token, UPLOAD)
        row.name, row.size, row.sha256 = safe_name(name), len(data), hashlib.sha256(data).hexdigest()
        row.received_at = clock.now()
        await store.write(storage_key(row), data)
        await uow.commit()
    return row


async def firmware_file(token: str, *, uow: UnitOfWork) -> StoredFileRow:
    async with uow:
        return await _by_token(uow, token, FIRMWARE)


async def stored_file(file_id: int, *, uow: UnitOfWork) -> StoredFileRow:
    async with uow:
        row = await uow.session.get(StoredFileRow, file_id)
        if row is None:
            raise FileNotFound(str(file_id))
        return row


async def _by_token(uow: UnitOfWork, token: str, kind: str) -> StoredFileRow:
    query = select(StoredFileRow).where(col(StoredFileRow.token) == token, col(StoredFileRow.kind) == kind)
    row = (await uow.session.execute(query)).scalars().first()
    if row is None:
        raise FileNotFound(token)
    return row
