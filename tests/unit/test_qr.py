"""QR payloads of EVSEs: what is printed on the station comes back as the same station and EVSE."""

from __future__ import annotations

import pytest

from web.qr import parse_qr, qr_payload


@pytest.mark.parametrize(
    ("station_id", "evse_id"),
    [("CP-17", 1), ("a*b|c@d+e=f.g_h", 12), ("X" * 48, 999_999_999)],
)
def test_round_trip(station_id: str, evse_id: int) -> None:
    payload = qr_payload("https://csms.example.com", station_id, evse_id)
    assert parse_qr(payload) == (station_id, evse_id)


def test_payload_is_a_short_url_with_the_station_id_escaped() -> None:
    assert qr_payload("https://csms.example.com/", "CP+1", 2) == "https://csms.example.com/c/CP%2B1/2"


def test_base_url_may_have_a_path() -> None:
    payload = qr_payload("http://10.0.0.5:8000/charge", "CP-1", 3)
    assert payload == "http://10.0.0.5:8000/charge/c/CP-1/3"
    assert parse_qr(f"  {payload}\n") == ("CP-1", 3)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "CP-1",
        "ftp://csms.example.com/c/CP-1/1",
        "https:///c/CP-1/1",
        "https://csms.example.com/x/CP-1/1",
        "https://csms.example.com/c/CP-1",
        "https://csms.example.com/c/CP-1/1/",
        "https://csms.example.com/c/CP-1/0",
        "https://csms.example.com/c/CP-1/-1",
        "https://csms.example.com/c/CP-1/1.5",
        "https://csms.example.com/c/CP-1/\u0661",
        "https://csms.example.com/c/CP-1/1234567890",
        "https://csms.example.com/c//1",
        "https://csms.example.com/c/CP%3A1/1",
        "https://csms.example.com/c/CP%2F1/1",
        "https://csms.example.com/c/" + "X" * 49 + "/1",
        "https://csms.example.com/c/CP-1/1?utm=poster",
        "https://csms.example.com/c/CP-1/1#top",
    ],
)
def test_anything_else_is_refused(payload: str) -> None:
    with pytest.raises(ValueError, match="not an EVSE code"):
        parse_qr(payload)
