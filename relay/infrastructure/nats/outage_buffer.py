"""The bounded buffer that holds messages while JetStream is not storing (a NATS outage).

Bounded by ``[pipeline] outage_buffer_max_events`` and ``outage_buffer_max_bytes``
(payload bytes); when full, ``outage_full_policy`` decides (:class:`OutagePolicy`):
``block`` makes :meth:`OutageBuffer.add` wait for room, ``drop_newest`` drops the
new message, ``drop_oldest`` drops the oldest held one. Messages taken back from
awaiting acks go to its front, so the buffer stays in publish order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from relay.config.model import OutagePolicy, PipelineConfig
from relay.infrastructure.nats.acks import Pending


class OutageBuffer:
    """Held messages, oldest first.

    Args:
        pipeline: ``[pipeline]``: the bounds and the full-policy.
        drop: called with each message the full-policy gives up on (the
            publisher counts it as ``outage_buffer_full``).
    """

    def __init__(self, pipeline: PipelineConfig, drop: Callable[[Pending], None]) -> None:
        self._max_events = pipeline.outage_buffer_max_events
        self._max_bytes = pipeline.outage_buffer_max_bytes
        self._policy = pipeline.outage_full_policy
        self._drop = drop
        self._held: deque[Pending] = deque()
        self._bytes = 0
        self._space = asyncio.Event()

    def __len__(self) -> int:
        return len(self._held)

    async def add(self, pending: Pending) -> bool:
        """Hold ``pending`` at the back, applying the full-policy; False if it was dropped.

        Under ``block`` this waits until :meth:`pop` or :meth:`remove` makes room.
        """
        size = len(pending.message.payload)
        while self._held and (
            len(self._held) >= self._max_events or self._bytes + size > self._max_bytes
        ):
            if self._policy is OutagePolicy.BLOCK:
                self._space.clear()
                await self._space.wait()
            elif self._policy is OutagePolicy.DROP_NEWEST:
                self._drop(pending)
                return False
            else:
                oldest = self._held.popleft()
                self._bytes -= len(oldest.message.payload)
                self._drop(oldest)
        self._held.append(pending)
        self._bytes += size
        return True

    def put_back(self, pending: Pending) -> None:
        """Hold ``pending`` at the front (sent before all held ones), whatever the bounds."""
        self._held.appendleft(pending)
        self._bytes += len(pending.message.payload)

    def pop(self) -> Pending:
        """Take the oldest held message (the buffer must not be empty)."""
        pending = self._held.popleft()
        self._bytes -= len(pending.message.payload)
        self._space.set()
        return pending

    def remove(self, subjects: set[str]) -> list[Pending]:
        """Take out every held message on one of ``subjects``; returns them in order."""
        if not subjects:
            return []
        kept: deque[Pending] = deque()
        removed: list[Pending] = []
        for pending in self._held:
            if pending.message.subject in subjects:
                self._bytes -= len(pending.message.payload)
                removed.append(pending)
            else:
                kept.append(pending)
        self._held = kept
        self._space.set()
        return removed
