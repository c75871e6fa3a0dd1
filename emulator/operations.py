"""What the station does when the CSMS (or a test) changes its state: availability, faults,
reservations, remote starts and charging profiles. Both protocol clients call these, so the
rules live once; each client only translates names and statuses.
"""

from dataclasses import replace
from datetime import datetime
from typing import Literal

from emulator.charger import Charger
from emulator.errors import EvseUnavailableError
from emulator.evse import EVSE_STATUSES, Evse
from emulator.meters import volts
from emulator.profiles import PURPOSES, Profile, Supply, Unit, problem
from emulator.reservations import Reservation, ReserveOutcome

Availability = Literal["Accepted", "Scheduled", "Rejected"]


def change_availability(charger: Charger, evse_id: int | None, operative: bool) -> Availability:
    """Make EVSEs (None: all) operative or not; a running session defers it ("Scheduled")."""
    evses = charger.state.evses
    if evse_id is not None and evse_id not in evses:
        return "Rejected"
    targets = evses.values() if evse_id is None else [evses[evse_id]]
    applied = [evse.set_operative(operative) for evse in targets]
    return "Accepted" if all(applied) else "Scheduled"


async def set_status(charger: Charger, evse_id: int, status: str, error_code: str | None = None) -> None:
    """Force a status (2.0.1 words): Faulted with an error code, Unavailable, Available again,
    or Occupied (an EV plugs in). Reserved needs a reservation, so it is refused here."""
    if status not in EVSE_STATUSES or status == "Reserved":
        raise ValueError(f"cannot set status {status!r}; use one of {sorted(EVSE_STATUSES - {'Reserved'})}")
    evse = charger.state.evse(evse_id)
    if status == "Occupied":
        await charger.plug_in(evse_id)
        return
    was_faulted = evse.fault
    evse.set_fault((error_code or "OtherError") if status == "Faulted" else None)
    if status != "Faulted":
        evse.set_operative(status == "Available")
    if evse.fault != was_faulted:
        await charger.notify(lambda client: client.report_fault(evse_id))
    await charger.report(evse)


def remote_target(charger: Charger, id_token: str, evse_id: int | None) -> Evse | None:
    """The EVSE a remote start would use, or None when it must be refused."""
    try:
        return charger.target(id_token, None, evse_id)
    except (LookupError, EvseUnavailableError):  # an unknown EVSE id, or none free for the token
        return None


async def remote_start(
    charger: Charger, evse_id: int, id_token: str, remote_start_id: int | None, profile: Profile | None
) -> None:
    """Start a session for the CSMS; with AuthorizeRemoteTxRequests the token is checked first."""
    group = None
    if charger.state.config.flag("AuthorizeRemoteTxRequests"):
        info = await charger.authorize(id_token)
        if info.status != "Accepted":
            return
        group = info.group
    evse = charger.state.evse(evse_id)
    session = await charger.start(
        evse, id_token, group=group, remote_start_id=remote_start_id, trigger="RemoteStart"
    )
    if profile is not None and evse.session is session:
        charger.state.profiles.install(profile)
        await charger.apply_and_report()


def reserve(charger: Charger, evse_id: int | None, reservation: Reservation) -> ReserveOutcome:
    """Hold an EVSE for a token; without an EVSE id the first available one is held."""
    evses = charger.state.evses
    if evse_id is None:
        free = [evse for evse in evses.values() if evse.status == "Available"]
        evse_id = free[0].id if free else next(iter(evses))
    evse = evses.get(evse_id)
    if evse is None:
        return "Rejected"
    if evse.fault is not None:
        return "Faulted"
    if not evse.operative:
        return "Unavailable"
    taken = evse.reservation is not None and evse.reservation.id != reservation.id
    if evse.session is not None or evse.plugged or taken:
        return "Occupied"
    charger.state.reserve(evse, replace(reservation, evse_id=evse.id))
    charger.wakeup.set()
    return "Accepted"


def cancel_reservation(charger: Charger, reservation_id: int) -> Evse | None:
    """Drop a reservation; the EVSE it freed, or None when there was no such reservation."""
    evse = charger.state.find_reservation(reservation_id)
    if evse is not None:
        evse.reservation = None
    return evse


def acceptable(charger: Charger, profile: Profile) -> bool:
    """Whether the profile fits the station's smart charging limits (stack levels, periods)."""
    config = charger.state.config
    found = problem(
        profile,
        max_stack_level=int(config.number("ChargeProfileMaxStackLevel")),
        max_periods=int(config.number("ChargingScheduleMaxPeriods")),
    )
    return found is None


def set_profile(charger: Charger, profile: Profile) -> bool:
    """Install a profile if the station can follow it; a TxProfile needs its transaction."""
    if not acceptable(charger, profile):
        return False
    if profile.purpose == "Tx":
        evse = charger.state.evses.get(profile.evse_id)
        session = None if evse is None else evse.session
        if session is None:
            return False
        if profile.transaction_id is not None and profile.transaction_id != session.transaction_id:
            return False
    elif profile.evse_id != 0 and profile.evse_id not in charger.state.evses:
        return False
    charger.state.profiles.install(profile)
    charger.wakeup.set()
    return True


def clear_profiles(
    charger: Charger,
    *,
    profile_id: int | None = None,
    evse_id: int | None = None,
    purpose: str | None = None,
    stack_level: int | None = None,
) -> bool:
    """Remove matching profiles (purposes in either version's words); False when none matched."""
    kind = None if purpose is None else PURPOSES.get(purpose)
    if purpose is not None and kind is None:
        return False
    removed = charger.state.profiles.clear(
        profile_id=profile_id, evse_id=evse_id, purpose=kind, stack_level=stack_level
    )
    charger.wakeup.set()
    return removed


def composite(
    charger: Charger, evse_id: int, duration_s: int, unit: Unit | None
) -> tuple[datetime, Unit, list[tuple[int, float, int | None]]] | None:
    """The limits an EVSE (0: the station) will follow, as (start, unit, [(offset s, limit, phases)]).

    None for an unknown EVSE. Limits are converted to `unit` (default W) at nominal voltage.
    """
    state = charger.state
    if evse_id != 0 and evse_id not in state.evses:
        return None
    evse = state.evses.get(evse_id) or next(iter(state.evses.values()))
    hardware_w = evse.max_power_w if evse_id else sum(e.max_power_w for e in state.evses.values())
    started = None if evse_id == 0 or evse.session is None else evse.session.started_at
    supply = Supply(volts(evse), evse.phases, max(1, len(state.transactions)))
    begin = state.now()
    steps = state.profiles.composite(evse_id, begin, duration_s, started, supply, hardware_w)
    unit = unit or "W"
    per_amp = supply.volts * supply.phases
    periods = [
        (offset, round(watts if unit == "W" else watts / per_amp, 1), None if unit == "W" else supply.phases)
        for offset, watts in steps
    ]
    return begin, unit, periods
