"""Firmware and log files: the operator's side (upload firmware, order updates and log uploads,
download logs) and the stations' side (fetch firmware, upload logs) under unguessable URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from chargepoints import files, queries
from chargepoints.files import FileNotFound, UpdateFirmware, UploadLog
from chargepoints.tables import StoredFileRow
from web.api.operations import operate
from web.deps import ClockDep, CommandsDep, DbId, FilesDep, GatewayDep, SessionDep, SettingsDep, UowDep

operator = APIRouter(prefix="/api/v1/operator", tags=["firmware and logs"])
stations = APIRouter(prefix="/files", tags=["station file transfer"], include_in_schema=False)
StationId = Annotated[str, Path(max_length=48)]
MAX_BYTES = 512 * 1024 * 1024


class StoredFile(BaseModel):
    id: int
    kind: str
    name: str
    station_id: str | None
    size: int
    sha256: str | None
    created_at: datetime
    received_at: datetime | None


class FirmwareUpdateIn(BaseModel):
    firmware_id: int
    retrieve_at: AwareDatetime | None = Field(default=None, description="Default: now")
    retries: int | None = Field(default=None, ge=0, le=100)
    retry_interval_s: int | None = Field(default=None, ge=0)


class LogUploadIn(BaseModel):
    security_log: bool = False
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class LogUploadOut(BaseModel):
    command: queries.CommandPublic
    upload: StoredFile


def _base_url(settings: SettingsDep, request: Request) -> str:
    """Where stations reach us: CSMS_PUBLIC_URL, else the address this request came in on."""
    return settings.public_url or str(request.base_url).rstrip("/")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and int(declared) > MAX_BYTES:
        raise HTTPException(413, f"Files are limited to {MAX_BYTES // 2**20} MiB")
    return await request.body()


@operator.put("/firmware/{name}", status_code=status.HTTP_201_CREATED)
async def upload_firmware(
    name: Annotated[str, Path(max_length=200)],
    request: Request,
    uow: UowDep,
    clock: ClockDep,
    store: FilesDep,
) -> StoredFile:
    """Add a firmware image to the store (raw request body)."""
    data = await _body(request)
    if not data:
        raise HTTPException(422, "The firmware image is empty")
    row = await files.add_firmware(name, data, store=store, uow=uow, clock=clock)
    return StoredFile.model_validate(row, from_attributes=True)


@operator.post("/stations/{station_id}/update-firmware", status_code=status.HTTP_202_ACCEPTED)
async def update_firmware(
    station_id: StationId,
    body: FirmwareUpdateIn,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
    settings: SettingsDep,
) -> queries.CommandPublic:
    firmware = await session.get(StoredFileRow, body.firmware_id)
    if firmware is None or firmware.kind != files.FIRMWARE:
        raise HTTPException(404, f"Firmware {body.firmware_id} not found")
    location = f"{_base_url(settings, request)}/files/{firmware.token}/{firmware.name}"
    op = UpdateFirmware(
        location, body.retrieve_at or clock.now(), firmware.id or 0, body.retries, body.retry_interval_s
    )
    return await operate(
        station_id, op, request, session=session, uow=uow, clock=clock, gateway=gateway, runner=runner
    )


@operator.post("/stations/{station_id}/upload-log", status_code=status.HTTP_202_ACCEPTED)
async def upload_log(
    station_id: StationId,
    body: LogUploadIn,
    request: Request,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
    settings: SettingsDep,
) -> LogUploadOut:
    """Ask for diagnostics (1.6) or a log (2.0.1); the file appears under ``/uploads/{id}``."""
    slot = await files.open_upload_slot(station_id, uow=uow, clock=clock)
    location = f"{_base_url(settings, request)}/files/uploads/{slot.token}"
    op = UploadLog(location, slot.id or 0, body.security_log, body.since, body.until)
    command = await operate(
        station_id, op, request, session=session, uow=uow, clock=clock, gateway=gateway, runner=runner
    )
    return LogUploadOut(command=command, upload=StoredFile.model_validate(slot, from_attributes=True))


@operator.get("/uploads/{file_id}")
async def upload_info(file_id: DbId, uow: UowDep) -> StoredFile:
    try:
        row = await files.stored_file(file_id, uow=uow)
    except FileNotFound:
        raise HTTPException(404, f"File {file_id} not found") from None
    return StoredFile.model_validate(row, from_attributes=True)


@operator.get("/uploads/{file_id}/content")
async def upload_content(file_id: DbId, uow: UowDep, store: FilesDep) -> Response:
    try:
        row = await files.stored_file(file_id, uow=uow)
    except FileNotFound:
        raise HTTPException(404, f"File {file_id} not found") from None
    if row.received_at is None:
        raise HTTPException(409, f"The station has not uploaded file {file_id} yet")
    headers = {"Content-Disposition": f'attachment; filename="{row.name}"'}
    return Response(
        await store.read(files.storage_key(row)), media_type="application/octet-stream", headers=headers
    )


@stations.get("/{token}/{name}")
async def fetch_firmware(token: str, name: str, uow: UowDep, store: FilesDep) -> Response:
    try:
        row = await files.firmware_file(token, uow=uow)
    except FileNotFound:
        raise HTTPException(404, "No such file") from None
    return Response(await store.read(files.storage_key(row)), media_type="application/octet-stream")


@stations.api_route("/uploads/{token}", methods=["PUT", "POST"], status_code=201)
@stations.api_route("/uploads/{token}/{name}", methods=["PUT", "POST"], status_code=201)
async def receive_upload(
    token: str, request: Request, uow: UowDep, clock: ClockDep, store: FilesDep, name: str = "log.txt"
) -> dict[str, object]:
    data = await _body(request)
    try:
        row = await files.receive_upload(token, name, data, store=store, uow=uow, clock=clock)
    except FileNotFound:
        raise HTTPException(404, "No such upload slot") from None
    return {"id": row.id, "size": row.size}
