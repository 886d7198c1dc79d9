"""A cancellation a library swallowed is raised again where the loop turns."""

from __future__ import annotations

import asyncio

import pytest

from relay.infrastructure.cancellation import raise_if_cancelled


async def test_a_loop_whose_cancellation_was_swallowed_ends_at_its_next_turn() -> None:
    turns = 0
    waiting = asyncio.Event()

    async def loop() -> None:
        nonlocal turns
        while True:
            raise_if_cancelled()
            turns += 1
            try:
                waiting.set()
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                pass  # what asyncio.wait_for does on 3.11 when the result arrives with it

    task = asyncio.create_task(loop())
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (turns, task.cancelled()) == (1, True)


async def test_nothing_is_raised_without_a_cancellation_or_after_a_timeout_expired() -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await asyncio.Event().wait()
    raise_if_cancelled()  # asyncio.timeout took its own cancellation back
