"""What the QR code on an EVSE says: a plain URL, so a phone's camera app opens the driver app (or
its web page) and the app can read the station and EVSE back out of it.

``{base_url}/c/{station_id}/{evse_id}``: the station id is percent-encoded because OCPP allows
characters (``*``, ``|``, ``@``, ``+``, ``=``) that mean something in URLs.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from starlette.requests import Request

from chargepoints.rules.identity import is_valid_station_id
from csms.settings import Settings

MARKER = "c"
"""The path segment before the station id: short, since a shorter URL makes a coarser QR code."""
MAX_EVSE_DIGITS = 9
"""EVSE ids are small; a longer number is not one of ours and would overflow a database integer."""


def base_url(settings: Settings, request: Request) -> str:
    """Where phones reach us: CSMS_PUBLIC_URL, else the address this request came in on."""
    return settings.public_url or str(request.base_url).rstrip("/")


def qr_payload(base_url: str, station_id: str, evse_id: int) -> str:
    return f"{base_url.rstrip('/')}/{MARKER}/{quote(station_id, safe='')}/{evse_id}"


def parse_qr(payload: str) -> tuple[str, int]:
    """The station id and EVSE id in a scanned payload; ValueError for anything else."""
    parts = urlsplit(payload.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("not an EVSE code: expected an http(s) URL ending in /c/<station>/<evse>")
    segments = parts.path.split("/")
    if len(segments) < 4 or segments[-3] != MARKER:
        raise ValueError("not an EVSE code: the path does not end in /c/<station>/<evse>")
    station_id, evse = unquote(segments[-2]), segments[-1]
    if not is_valid_station_id(station_id):
        raise ValueError(f"not an EVSE code: {station_id!r} is not a station id")
    if not (evse.isascii() and evse.isdigit() and len(evse) <= MAX_EVSE_DIGITS) or int(evse) < 1:
        raise ValueError(f"not an EVSE code: {evse!r} is not an EVSE number")
    return station_id, int(evse)
