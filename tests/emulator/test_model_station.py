"""Station-wide model parts: configuration, local authorisation, the outbox, meter readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.local_auth import Authorizer, TokenInfo
from emulator.meters import next_aligned, readings
from emulator.outbox import Outbox, QueuedMessage
from emulator.station import StationSpec, StationState
from emulator.transfers import upload_request

NOW = datetime(2026, 3, 2, 8, 0, 7, tzinfo=UTC)


def test_configuration_writes_follow_the_key_rules() -> None:
    config = StationState.from_spec(StationSpec("CS", "1.6")).config
    assert config.write("MeterValueSampleInterval", "15") == "Accepted"
    assert config.number("MeterValueSampleInterval") == 15
    assert config.write("NumberOfConnectors", "4") == "Rejected"  # read-only
    assert config.write("NoSuchKey", "1") == "NotSupported"
    assert config.write("StopTransactionOnInvalidId", "maybe") == "Rejected"
    assert config.write("MeterValuesSampledData", "Energy.Active.Import.Register,Bogus") == "Rejected"
    assert config.write("MeterValuesSampledData", "Temperature,SoC") == "Accepted"
    assert config.members("MeterValuesSampledData") == ["Temperature", "SoC"]
    assert config.key_for("SampledDataCtrlr", "TxUpdatedInterval") == "MeterValueSampleInterval"


def test_the_local_list_versions_and_offline_decisions() -> None:
    auth = Authorizer()
    assert (
        auth.local_list.update(1, True, {"A": TokenInfo("Accepted"), "B": TokenInfo("Blocked")}) == "Accepted"
    )
    assert auth.local_list.update(1, False, {"C": TokenInfo("Accepted")}) == "VersionMismatch"
    assert auth.local_list.update(2, False, {"B": None}) == "Accepted"
    assert set(auth.local_list.entries) == {"A"}
    auth.remember("D", TokenInfo("Accepted", NOW - timedelta(days=1)), cache_enabled=True)
    decide = {"list_enabled": True, "cache_enabled": True, "unknown_allowed": False}
    assert auth.offline("A", NOW, **decide).status == "Accepted"
    assert auth.offline("D", NOW, **decide).status == "Expired"
    assert auth.offline("Z", NOW, **decide).status == "Invalid"
    assert auth.offline("Z", NOW, **(decide | {"unknown_allowed": True})).status == "Accepted"


async def test_the_outbox_delivers_in_order_and_keeps_what_failed() -> None:
    state = StationState.from_spec(StationSpec("CS", "2.0.1"))
    box = Outbox()
    session = state.new_session("tx", "T")
    for n in range(3):
        box.put(QueuedMessage(n, session, "update"))
    sent: list[int] = []

    async def deliver(item: QueuedMessage) -> bool:
        if item.request == 2 and item.attempts == 0:
            item.attempts += 1
            return False
        sent.append(item.request)
        return True

    await box.drain(deliver)
    assert sent == [0, 1] and len(box) == 1
    await box.drain(deliver)
    assert sent == [0, 1, 2] and len(box) == 0


def test_readings_follow_the_configured_measurands() -> None:
    state = StationState.from_spec(StationSpec("CS", "1.6", phases=1))
    evse = state.evse(1)
    found = readings(evse, ["Voltage", "Temperature", "Current.Import", "Bogus", "SoC"])
    assert [(r.measurand, r.phase) for r in found] == [
        ("Voltage", "L1-N"),
        ("Temperature", None),
        ("Current.Import", "L1"),
    ]  # no SoC without a session


@pytest.mark.parametrize(("interval", "expected"), [(900, "08:15:00"), (60, "08:01:00"), (7, "08:00:12")])
def test_clock_aligned_samples_fall_on_multiples_of_the_interval(interval: int, expected: str) -> None:
    assert next_aligned(NOW, interval).strftime("%H:%M:%S") == expected


def test_uploads_put_unless_the_url_asks_for_post() -> None:
    put = upload_request("http://h/logs/", "cs.txt", b"x")
    post = upload_request("http://h/upload?method=POST", "cs.txt", b"x")
    assert (put.get_method(), put.full_url) == ("PUT", "http://h/logs/cs.txt")
    assert (post.get_method(), post.full_url) == ("POST", "http://h/upload?method=POST")
