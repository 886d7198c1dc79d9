"""A cancellation a library swallowed, raised again where a loop turns.

nats-py and httpx await ``asyncio.wait_for``, which on Python 3.11 returns the
awaited result instead of raising ``CancelledError`` when the cancellation
arrives as that result does. A task that loops until cancelled then never
ends, and the relay's stop waits for it (a hang seen when a venue failed while
the control bucket's watch was being opened). ``Task.cancelling()`` still
counts the request; :func:`raise_if_cancelled` raises it again.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelled() -> None:
    """Raise ``CancelledError`` if the current task was asked to cancel and goes on anyway.

    Call it from a coroutine, where a retry or watch loop turns, after awaits
    into a library.

    Raises:
        asyncio.CancelledError: the task has a cancellation request pending.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
