"""The connector state machines of both versions, driven through the version-neutral model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.ev import Ev, EvSpec
from emulator.evse import Evse, PendingStart, Session
from emulator.reservations import Reservation
from emulator.v16 import connector_status

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def an_evse() -> Evse:
    return Evse(id=1, energy_wh=1_000.0, max_power_w=22_000)


def statuses(evse: Evse) -> tuple[str, str, str]:
    """(1.6 status, 2.0.1 status, 2.0.1 charging state)."""
    return connector_status(evse), evse.status, evse.charging_state


def test_a_session_walks_both_state_machines() -> None:
    evse = an_evse()
    assert statuses(evse) == ("Available", "Available", "Idle")
    evse.plug_in(Ev(EvSpec(battery_wh=1_000), 99.0))
    assert statuses(evse) == ("Preparing", "Occupied", "EVConnected")
    evse.begin(Session("tx", "T", NOW, 0))
    assert statuses(evse) == ("Charging", "Occupied", "Charging")
    evse.set_limit(0)
    assert statuses(evse) == ("SuspendedEVSE", "Occupied", "SuspendedEVSE")
    evse.set_limit(22_000)
    evse.advance(600)  # the small battery fills up
    assert statuses(evse) == ("SuspendedEV", "Occupied", "SuspendedEV")
    evse.end()
    assert statuses(evse) == ("Finishing", "Occupied", "EVConnected")
    evse.unplug()
    assert statuses(evse) == ("Available", "Available", "Idle")


def test_faults_availability_and_reservations() -> None:
    evse = an_evse()
    evse.set_fault("GroundFailure")
    assert statuses(evse)[:2] == ("Faulted", "Faulted") and not evse.can_start
    evse.set_fault(None)
    evse.reservation = Reservation(3, 1, "TAG", NOW + timedelta(minutes=5))
    assert statuses(evse)[:2] == ("Reserved", "Reserved")
    assert evse.reservation.admits("TAG", None) and not evse.reservation.admits("OTHER", None)
    assert evse.set_operative(False)
    assert statuses(evse)[:2] == ("Unavailable", "Unavailable")


def test_a_swiped_driver_makes_the_connector_preparing_in_1_6_only() -> None:
    evse = an_evse()
    evse.pending = PendingStart("TAG", None, 0.0)
    assert statuses(evse)[:2] == ("Preparing", "Available")


def test_availability_changes_wait_for_the_session_to_end() -> None:
    evse = an_evse()
    evse.plug_in(Ev(EvSpec(), 50.0))
    evse.begin(Session("tx", "T", NOW, 0))
    assert not evse.set_operative(False)
    assert evse.status == "Occupied"
    evse.end()
    assert evse.status == "Unavailable"


def test_the_register_only_rises_until_a_meter_reset() -> None:
    evse = an_evse()
    evse.plug_in(Ev(EvSpec(), 20.0))
    evse.begin(Session("tx", "T", NOW, 0))
    readings = []
    for _ in range(5):
        evse.advance(60)
        readings.append(evse.register_wh)
    assert readings == sorted(readings) and readings[0] > 1_000
    assert readings[-1] - readings[0] == pytest.approx(22_000 * 240 / 3600, abs=1)
    evse.reset_meter()
    assert evse.register_wh == 0
    evse.advance(60)
    assert evse.register_wh > 0
