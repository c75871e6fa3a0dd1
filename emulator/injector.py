"""Plays a station's fault rules on the station's own clock.

Each rule's clock starts when the station first connects. A fault starts, lasts its
duration (or until the fleet stops) and is then undone; instantaneous faults (a dropped
link, a malformed frame, a meter reset) have nothing to undo. Transport faults are switched
in the station's `LinkFaults`; state faults go through the station's public API, holding the
autopilot's lock so they never interleave with a session it is starting or ending.
"""

import asyncio
import contextlib
import itertools
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from emulator.autopilot import LINK_ERRORS, Autopilot
from emulator.faults import LinkFaults
from emulator.scenario import FaultRule

if TYPE_CHECKING:
    from emulator.station_client import Station

LOGGER = logging.getLogger("emulator")
Revert = Callable[[], Awaitable[None]]
# Faults that act on a live link, so they wait for one.
NEEDS_LINK = frozenset({"faulted", "drop", "malformed", "offline", "duplicate_id"})


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep; True when `stop` was set first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))
    return stop.is_set()


class FaultInjector:
    """Strikes one station with its rules; `counts` tallies the faults that started, by kind."""

    def __init__(
        self,
        station: "Station",
        pilot: Autopilot,
        link: LinkFaults,
        rules: tuple[FaultRule, ...],
        *,
        counts: Counter[str],
        impostor: Callable[[], "Station"],
    ) -> None:
        self._station = station
        self._pilot = pilot
        self._link = link
        self._rules = rules
        self._counts = counts
        self._impostor = impostor
        self._rng = random.Random(f"faults/{station.spec.station_id}")

    async def run(self, stop: asyncio.Event) -> None:
        """Play every rule until `stop` is set, then undo what is still in force."""
        if not await self._until_linked(stop):
            return
        started = asyncio.get_running_loop().time()
        async with asyncio.TaskGroup() as group:
            for rule in self._rules:
                group.create_task(self._play(rule, started, stop))

    async def _until_linked(self, stop: asyncio.Event) -> bool:
        """Wait for the station's link; False when `stop` came first."""
        linked = asyncio.ensure_future(self._pilot.linked.wait())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({linked, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (linked, stopping):
                waiter.cancel()
            await asyncio.gather(linked, stopping, return_exceptions=True)
        return not stop.is_set()

    async def _play(self, rule: FaultRule, started: float, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        first = started + rule.at_s + self._rng.uniform(0.0, rule.spread_s)
        for occurrence in itertools.count():
            due = first + occurrence * (rule.every_s or 0.0)
            if await _sleep_or_stop(stop, due - loop.time()):
                return
            if rule.kind in NEEDS_LINK and not await self._until_linked(stop):
                return
            await self._strike(rule, stop)
            if rule.every_s is None:
                return

    async def _strike(self, rule: FaultRule, stop: asyncio.Event) -> None:
        station_id = self._station.spec.station_id
        try:
            revert = await self._start(rule)
        except LINK_ERRORS as exc:
            self._pilot.counters.errors += 1
            LOGGER.info("%s: fault %s failed: %r", station_id, rule.kind, exc)
            return
        self._counts[rule.kind] += 1
        LOGGER.info("%s: fault %s", station_id, rule.kind)
        if revert is None:
            return
        if rule.duration_s is None:
            await stop.wait()
        else:
            await _sleep_or_stop(stop, rule.duration_s)
        try:
            await revert()
        except LINK_ERRORS as exc:
            LOGGER.info("%s: undoing fault %s failed: %r", station_id, rule.kind, exc)

    async def _start(self, rule: FaultRule) -> Revert | None:
        """Start the fault; returns how to undo it, or None when it was instantaneous."""
        starters: dict[str, Callable[[FaultRule], Awaitable[Revert | None]]] = {
            "faulted": self._faulted,
            "meter_reset": self._meter_reset,
            "clock_skew": self._clock_skew,
            "offline": self._offline,
            "duplicate_id": self._duplicate_id,
            "drop": self._drop,
            "malformed": self._malformed,
            "slow_responses": self._slow_responses,
            "no_responses": self._no_responses,
            "duplicates": self._duplicates,
        }
        return await starters[rule.kind](rule)

    async def _faulted(self, rule: FaultRule) -> Revert:
        """Report the EVSE Faulted, ending its session first as a tripped charger would."""
        station, evse = self._station, self._station.state.evse(rule.evse)
        async with self._pilot.lock:
            if evse.session is not None:
                await station.stop_transaction(evse.id, "Other")
                self._pilot.counters.sessions_ended += 1
            await station.set_status(evse.id, "Faulted", rule.error_code)

        async def repaired() -> None:
            async with self._pilot.lock:  # offline, the next connection reports it
                await station.set_status(evse.id, "Available" if evse.operative else "Unavailable")

        return repaired

    async def _meter_reset(self, rule: FaultRule) -> None:
        async with self._pilot.lock:
            self._station.state.evse(rule.evse).reset_meter()

    async def _clock_skew(self, rule: FaultRule) -> Revert:
        state = self._station.state
        state.clock_offset_s = rule.offset_s

        async def corrected() -> None:
            state.clock_offset_s = 0.0

        return corrected

    async def _offline(self, rule: FaultRule) -> Revert:
        await self._pilot.go_offline()

        async def back() -> None:
            self._pilot.go_online()

        return back

    async def _duplicate_id(self, rule: FaultRule) -> Revert:
        """Connect an impostor with the same id and credentials; the CSMS decides who stays."""
        impostor = self._impostor()
        try:
            await impostor.connect()
        except BaseException:
            await impostor.close()
            raise
        return impostor.close

    async def _drop(self, rule: FaultRule) -> None:
        if self._link.link is not None:
            self._link.link.drop()

    async def _malformed(self, rule: FaultRule) -> None:
        if self._link.link is not None:
            await self._link.link.send_malformed(rule.frame)

    async def _slow_responses(self, rule: FaultRule) -> Revert:
        self._link.answer_delay_s = rule.delay_s

        async def prompt() -> None:
            self._link.answer_delay_s = 0.0

        return prompt

    async def _no_responses(self, rule: FaultRule) -> Revert:
        self._link.withhold_answers = True

        async def answering() -> None:
            self._link.withhold_answers = False

        return answering

    async def _duplicates(self, rule: FaultRule) -> Revert:
        self._link.duplicate = frozenset(rule.actions)

        async def single() -> None:
            self._link.duplicate = None

        return single
