"""The EV's charge curve: full power up to the taper, then less, then nothing when full."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulator.ev import Ev, EvSpec
from emulator.evse import Evse, Session

SPEC = EvSpec(battery_wh=40_000, max_ac_w=11_000, max_dc_w=100_000, taper_from_soc=80)


@pytest.mark.parametrize(("soc", "ac_w", "dc_w"), [(10, 11_000, 100_000), (80, 11_000, 100_000)])
def test_full_power_below_the_taper(soc: float, ac_w: float, dc_w: float) -> None:
    ev = Ev(SPEC, soc)
    assert (ev.max_power_w("AC"), ev.max_power_w("DC")) == (ac_w, dc_w)


def test_the_taper_falls_linearly_to_a_floor_and_a_full_battery_draws_nothing() -> None:
    assert Ev(SPEC, 90).max_power_w("DC") == pytest.approx(50_000)
    assert Ev(SPEC, 99.9).max_power_w("DC") == pytest.approx(5_000)  # the 5 % floor
    assert Ev(SPEC, 100).max_power_w("DC") == 0


def test_the_battery_takes_only_what_fits() -> None:
    ev = Ev(SPEC, 99)
    assert ev.take(1_000) == pytest.approx(400)
    assert ev.full and ev.take(100) == 0


def test_an_evse_delivers_the_minimum_of_ev_and_evse_limits_until_the_ev_is_full() -> None:
    evse = Evse(id=1, energy_wh=0.0, max_power_w=22_000)
    evse.plug_in(Ev(EvSpec(battery_wh=10_000, max_ac_w=7_400), 50))
    evse.begin(Session("tx", "T", datetime.now(UTC), 0))
    assert evse.power_w == 7_400 and evse.charging_state == "Charging"
    evse.set_limit(3_000)
    assert evse.power_w == 3_000
    evse.advance(3 * 3600)  # far more than the 5 kWh the battery still takes
    assert evse.register_wh == pytest.approx(5_000, abs=1)
    assert evse.power_w == 0 and evse.charging_state == "SuspendedEV"
