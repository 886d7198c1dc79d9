"""Owns the venue connection tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol


class ConnectionRunner(Protocol):
    """Something that keeps one venue connection alive until cancelled."""

    async def run(self) -> None:
        """Run until cancelled."""
        ...


class SubscriptionManager:
    """Runs one task per venue connection and stops them together.

    Args:
        runners: venue id -> its connection runner.
    """

    def __init__(self, runners: Mapping[str, ConnectionRunner]) -> None:
        self.runners = dict(runners)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Start every runner and wait for them; a runner that fails ends the group."""
        async with asyncio.TaskGroup() as group:
            for venue, runner in self.runners.items():
                self._tasks[venue] = group.create_task(runner.run(), name=f"venue:{venue}")

    def stop(self) -> None:
        """Cancel every venue task (their sockets close, reading stops)."""
        for task in self._tasks.values():
            task.cancel()
