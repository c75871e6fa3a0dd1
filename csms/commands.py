"""Runs commands in the background, so the API can answer at once with the command's id."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from chargepoints.commands import run_command
from chargepoints.ports import Clock, StationGateway
from chargepoints.repository import UnitOfWork
from chargepoints.tables import CommandRow


class CommandRunner:
    def __init__(self, uow: Callable[[], UnitOfWork], gateway: StationGateway, clock: Clock) -> None:
        self._uow, self._gateway, self._clock = uow, gateway, clock
        self._tasks: set[asyncio.Task[CommandRow]] = set()

    async def run(self, command_id: int) -> CommandRow:
        return await run_command(command_id, uow=self._uow, gateway=self._gateway, clock=self._clock)

    def start(self, command_id: int) -> None:
        task = asyncio.create_task(self.run(command_id), name=f"command-{command_id}")
        self._tasks.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
