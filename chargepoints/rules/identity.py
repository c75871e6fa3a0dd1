"""What a station id may look like."""

from __future__ import annotations

import re

# OCPP 2.0.1 Part 4 §3.1 and the security whitepaper: up to 48 characters from this set. The id
# is also the HTTP Basic user name, so ':' (the user/password separator) is not allowed.
_STATION_ID = re.compile(r"[A-Za-z0-9*\-_=+|@.]{1,48}")


def is_valid_station_id(station_id: str) -> bool:
    return _STATION_ID.fullmatch(station_id) is not None
