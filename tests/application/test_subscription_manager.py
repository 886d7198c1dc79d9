"""The subscription manager: one task per connection, started together, stopped in order.

The runners are test doubles of :class:`~relay.application.subscription_manager.ConnectionRunner`
that note what happens to them in one shared log; real venue connections are
run under the manager by every end-to-end test (``relay.bootstrap``).
"""

from __future__ import annotations

import asyncio

import pytest

from relay.application.subscription_manager import SubscriptionManager


class Runner:
    """Runs until :meth:`stop_reading` (or, if ``deaf``, until cancelled); ``fail`` raises."""

    def __init__(
        self, name: str, log: list[str], deaf: bool = False, fail: Exception | None = None
    ) -> None:
        self.name = name
        self.log = log
        self.deaf = deaf
        self.fail = fail
        self.started = asyncio.Event()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        self.log.append(f"{self.name} started")
        self.started.set()
        try:
            if self.fail is not None:
                raise self.fail
            if self.deaf:
                await asyncio.Event().wait()
            await self._stop.wait()
            self.log.append(f"{self.name} returned")
        except asyncio.CancelledError:
            self.log.append(f"{self.name} cancelled")
            raise

    async def stop_reading(self) -> None:
        self.log.append(f"{self.name} stop_reading")
        self._stop.set()


async def test_every_runner_starts_and_stop_lets_each_return_after_stop_reading() -> None:
    log: list[str] = []
    runners = {name: Runner(name, log) for name in ("binance-usdm", "okx", "deribit")}
    manager = SubscriptionManager(runners)
    task = asyncio.create_task(manager.run())
    await asyncio.wait_for(asyncio.gather(*(r.started.wait() for r in runners.values())), 5.0)
    assert sorted(log) == ["binance-usdm started", "deribit started", "okx started"]
    await manager.stop(timeout_s=5.0)
    await asyncio.wait_for(task, 5.0)
    stops = [entry for entry in log[3:] if entry.endswith("stop_reading")]
    assert stops == ["binance-usdm stop_reading", "okx stop_reading", "deribit stop_reading"]
    # Every connection was told to stop before any of them returned.
    assert log[3:6] == stops
    assert sorted(log[6:]) == ["binance-usdm returned", "deribit returned", "okx returned"]


async def test_a_runner_that_does_not_return_in_time_is_cancelled_the_others_return() -> None:
    log: list[str] = []
    runners = {"okx": Runner("okx", log), "deribit": Runner("deribit", log, deaf=True)}
    manager = SubscriptionManager(runners)
    task = asyncio.create_task(manager.run())
    await asyncio.wait_for(asyncio.gather(*(r.started.wait() for r in runners.values())), 5.0)
    await manager.stop(timeout_s=0.2)
    await asyncio.wait_for(task, 5.0)
    assert "okx returned" in log
    assert "deribit cancelled" in log
    assert "deribit returned" not in log


async def test_a_runner_that_fails_ends_the_group_and_cancels_the_others() -> None:
    log: list[str] = []
    error = ConnectionRefusedError("okx: no route")
    runners = {
        "binance-usdm": Runner("binance-usdm", log),
        "okx": Runner("okx", log, fail=error),
        "deribit": Runner("deribit", log),
    }
    manager = SubscriptionManager(runners)
    with pytest.raises(ExceptionGroup) as raised:
        await asyncio.wait_for(manager.run(), 5.0)
    assert raised.value.exceptions == (error,)
    assert sorted(log) == [
        "binance-usdm cancelled",
        "binance-usdm started",
        "deribit cancelled",
        "deribit started",
        "okx started",
    ]


async def test_connections_removed_down_to_none_and_added_at_runtime_run_until_stop() -> None:
    log: list[str] = []
    first = Runner("binance-usdm", log)
    manager = SubscriptionManager({"binance-usdm": first})
    task = asyncio.create_task(manager.run())
    await asyncio.wait_for(first.started.wait(), 5.0)
    await manager.remove("binance-usdm", timeout_s=5.0)
    assert log == ["binance-usdm started", "binance-usdm stop_reading", "binance-usdm returned"]
    assert not task.done()
    added = Runner("binance-usdm#2", log)
    manager.add("binance-usdm#2", added)
    await asyncio.wait_for(added.started.wait(), 5.0)
    await manager.stop(timeout_s=5.0)
    await asyncio.wait_for(task, 5.0)
    assert log[3:] == [
        "binance-usdm#2 started",
        "binance-usdm#2 stop_reading",
        "binance-usdm#2 returned",
    ]
