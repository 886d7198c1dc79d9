"""Owns the venue connection tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol


class ConnectionRunner(Protocol):
    """Something that keeps one venue connection alive until cancelled."""

    async def run(self) -> None:
        """Run until cancelled, or until :meth:`stop_reading` has taken effect."""
        ...

    async def stop_reading(self) -> None:
        """Stop reading after the frame being handled; ``run`` then returns."""
        ...


class SubscriptionManager:
    """Runs one task per venue connection and stops them together.

    Stopping is orderly: each connection finishes the frame it is handling (its
    events reach the pipeline) before it closes.

    Args:
        runners: venue id -> its connection runner.
    """

    def __init__(self, runners: Mapping[str, ConnectionRunner]) -> None:
        self.runners = dict(runners)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        """Start every runner and wait until :meth:`stop` (connections may be added and
        removed meanwhile, even down to none); a runner that fails ends the group."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            group.create_task(self._stopped.wait(), name="venues-until-stopped")
            for venue, runner in self.runners.items():
                self._tasks[venue] = group.create_task(runner.run(), name=f"venue:{venue}")
        self._group = None

    def add(self, name: str, runner: ConnectionRunner) -> None:
        """Add a connection at runtime: started now if :meth:`run` is running, else with it."""
        self.runners[name] = runner
        if self._group is not None:
            self._tasks[name] = self._group.create_task(runner.run(), name=f"venue:{name}")

    async def remove(self, name: str, timeout_s: float) -> None:
        """Stop one connection (as :meth:`stop` does for all) and forget it."""
        runner = self.runners.pop(name, None)
        task = self._tasks.pop(name, None)
        if runner is None:
            return
        await runner.stop_reading()
        if task is not None and not task.done():
            _, pending = await asyncio.wait([task], timeout=timeout_s)
            for late in pending:
                late.cancel()

    async def stop(self, timeout_s: float) -> None:
        """Stop reading on every connection, wait up to ``timeout_s`` for them, then cancel."""
        self._stopped.set()
        await asyncio.gather(*(runner.stop_reading() for runner in self.runners.values()))
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
