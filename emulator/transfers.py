"""HTTP transfers a station makes: firmware downloads and log uploads.

They use the standard library in a worker thread, so a slow server never blocks the event
loop that thousands of stations share. Like a real charger, they ignore the shell's proxy
settings and talk to the given host directly.
"""

import asyncio
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from emulator.errors import TransferError

TIMEOUT_S = 30.0
LogKind = Literal["diagnostics", "log"]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class FirmwareJob:
    """An UpdateFirmware (or 1.6 SignedUpdateFirmware) the station carries out."""

    location: str
    retrieve_at: datetime | None = None
    install_at: datetime | None = None
    retries: int = 0
    retry_interval_s: float = 0.0
    request_id: int | None = None
    signed: bool = False


@dataclass(frozen=True, slots=True)
class LogJob:
    """A 1.6 GetDiagnostics ("diagnostics") or a GetLog ("log") the station carries out."""

    location: str
    file_name: str
    kind: LogKind
    request_id: int | None = None
    retries: int = 0
    retry_interval_s: float = 0.0


def upload_request(location: str, file_name: str, body: bytes) -> urllib.request.Request:
    """The request that uploads a log to `location`.

    A location ending in "/" names a folder, so the file name is appended. The method is PUT,
    unless the URL asks for POST with a `method=POST` query parameter (some servers only
    accept form-style uploads).
    """
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https"):
        raise TransferError(f"cannot upload to {parts.scheme or 'a relative'} URL {location!r}")
    method = parse_qs(parts.query).get("method", ["PUT"])[0].upper()
    url = location + file_name if parts.path.endswith("/") else location
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    return urllib.request.Request(
        url, data=body, method="POST" if method == "POST" else "PUT", headers=headers
    )


def _fetch(request: urllib.request.Request | str) -> bytes:
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            body: bytes = response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TransferError(f"{getattr(request, 'full_url', request)}: {exc}") from exc
    return body


async def download(location: str) -> bytes:
    """GET a file; raises TransferError on any failure (HTTP error status included)."""
    if urlsplit(location).scheme not in ("http", "https"):
        raise TransferError(f"cannot download from {location!r}")
    return await asyncio.to_thread(_fetch, location)


async def upload(location: str, file_name: str, body: bytes) -> None:
    """Upload a file with PUT or POST; raises TransferError on any failure."""
    await asyncio.to_thread(_fetch, upload_request(location, file_name, body))
