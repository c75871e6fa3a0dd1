"""The station's clock-driven work: meter samples, lapsing reservations and authorisations,
and charging profile periods that begin.

One task per station sleeps until the next thing is due (or until the charger's `wakeup`
event says the plan changed), so thousands of idle stations cost no wake-ups.
"""

import asyncio
import contextlib
import time
from datetime import datetime, timedelta

from emulator.charger import Charger
from emulator.evse import Evse
from emulator.meters import next_aligned

PROFILE_HORIZON = timedelta(days=1)


class Timers:
    """Runs what is due for one charger; start with `run()` as a job."""

    def __init__(self, charger: Charger) -> None:
        self._charger = charger
        self._state = charger.state
        self._aligned_at: datetime | None = None

    async def run(self) -> None:
        """Forever: do what is due, then sleep until the next thing or a wake-up."""
        wakeup = self._charger.wakeup
        while True:
            wakeup.clear()
            delay = await self._run_due()
            if not wakeup.is_set():
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                # that arrives as the event fires, and close() would wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await wakeup.wait()

    async def _run_due(self) -> float | None:
        """Do what is due and return the seconds until the next thing (None: nothing planned)."""
        waits = [await self._due_evse(evse) for evse in list(self._state.evses.values())]
        waits.append(await self._due_aligned())
        waits.append(await self._due_profiles())
        planned = [wait for wait in waits if wait is not None]
        return max(min(planned), 0.0) if planned else None

    async def _due_evse(self, evse: Evse) -> float | None:
        waits = [
            await self._due_authorization(evse),
            await self._due_reservation(evse),
            await self._due_sample(evse),
        ]
        planned = [wait for wait in waits if wait is not None]
        return min(planned) if planned else None

    async def _due_authorization(self, evse: Evse) -> float | None:
        """A driver who authorised but never plugged in is forgotten after ConnectionTimeOut."""
        timeout = self._state.config.number("ConnectionTimeOut")
        if evse.pending is None or timeout <= 0:
            return None
        left = evse.pending.since + timeout - time.monotonic()
        if left > 0:
            return left
        evse.pending = None
        await self._charger.report(evse)
        return None

    async def _due_reservation(self, evse: Evse) -> float | None:
        reservation = evse.reservation
        if reservation is None:
            return None
        left = (reservation.expires_at - self._state.now()).total_seconds()
        if left > 0:
            return left
        evse.reservation = None
        await self._charger.report(evse)
        await self._charger.notify(lambda client: client.reservation_ended(reservation, "Expired"))
        return None

    async def _due_sample(self, evse: Evse) -> float | None:
        """Sample every MeterValueSampleInterval from the start of the session (0 turns it off).

        The period runs from when a sample was due, not from when the CSMS answered it, so a
        slow answer does not stretch the interval; a station a whole interval behind skips ahead.
        """
        interval = self._state.meter_interval_s
        session = evse.session
        if session is None or interval <= 0:
            return None
        now = time.monotonic()
        due = session.last_sample_at + interval
        if due > now:
            return due - now
        session.last_sample_at = due if now - due < interval else now
        await self._charger.sample(evse)
        return max(0.0, session.last_sample_at + interval - time.monotonic())

    async def _due_aligned(self) -> float | None:
        """Sample every EVSE at multiples of ClockAlignedDataInterval past midnight (0: off)."""
        interval = self._state.config.number("ClockAlignedDataInterval")
        if interval <= 0:
            self._aligned_at = None
            return None
        now = self._state.now()
        if self._aligned_at is None or (self._aligned_at - now).total_seconds() > interval:
            self._aligned_at = next_aligned(now, interval)
        if now >= self._aligned_at:
            for evse in list(self._state.evses.values()):
                await self._charger.sample(evse, "Sample.Clock")
            self._aligned_at = next_aligned(self._state.now(), interval)
        return (self._aligned_at - self._state.now()).total_seconds()

    async def _due_profiles(self) -> float | None:
        """Apply the profiles now and wake when one of their periods begins."""
        profiles = self._state.profiles.profiles
        if not profiles:
            return None
        await self._charger.apply_and_report()
        now = self._state.now()
        changes: set[datetime] = set()
        for evse in self._state.evses.values():
            started = now if evse.session is None else evse.session.started_at
            for profile in profiles:
                changes |= profile.changes(now, now + PROFILE_HORIZON, started)
        return min((moment - now).total_seconds() for moment in changes) if changes else None
