"""The pipeline between venue readers and the publisher."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from relay.application.ports import EventEncoder, MessageSink, MetricsSink, OutboundMessage
from relay.application.sequence import SequenceTracker
from relay.domain.model import MarketEvent

MAX_BATCH_EVENTS = 512
"""Events taken from the queue at once by the publisher loop."""

RECENT_IDS_PER_VENUE = 100_000
"""How many message ids per venue the pipeline remembers to suppress re-published events."""


class RecentIds:
    """The last ``capacity`` message ids seen, for one venue (a bounded set, oldest forgotten)."""

    __slots__ = ("_capacity", "_ids", "_order")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: set[str] = set()
        self._order: deque[str] = deque()

    def add(self, msg_id: str) -> bool:
        """Remember ``msg_id``; False if it was already remembered."""
        if msg_id in self._ids:
            return False
        self._ids.add(msg_id)
        self._order.append(msg_id)
        if len(self._order) > self._capacity:
            self._ids.discard(self._order.popleft())
        return True


class Pipeline:
    """A bounded queue of events, and the loop that numbers, encodes and submits them.

    Full policy: when ``max_queue_events`` are waiting, :meth:`put` blocks the
    venue reader that called it (backpressure reaches its socket); nothing is
    dropped here.

    An event whose message id the pipeline has already published (the last
    ``RECENT_IDS_PER_VENUE`` per venue) is counted and not published again:
    after a reconnect that replays, or during a connection rotation, consumers
    see each event once and ``sequence`` stays without holes.

    Args:
        max_queue_events: the queue bound.
        encoder: JSON or protobuf envelope encoder.
        sink: JetStream publisher.
        metrics: counters.
        subject_prefix: the subjects' first token (``market``).
    """

    def __init__(
        self,
        max_queue_events: int,
        encoder: EventEncoder,
        sink: MessageSink,
        metrics: MetricsSink,
        subject_prefix: str = "market",
    ) -> None:
        self._subject_prefix = subject_prefix
        self._queue: asyncio.Queue[tuple[MarketEvent, int]] = asyncio.Queue(max_queue_events)
        self._encoder = encoder
        self._sink = sink
        self._metrics = metrics
        self.sequences = SequenceTracker()
        self._recent: dict[str, RecentIds] = {}
        self.accepted = 0
        self.duplicates = 0

    async def put(self, event: MarketEvent, read_ns: int = 0) -> None:
        """Queue one event; waits while the queue is full.

        ``read_ns``: ``time.monotonic_ns()`` when its frame was read (for latency).
        """
        await self._queue.put((event, read_ns))
        self.accepted += 1

    @property
    def depth(self) -> int:
        """Events waiting."""
        return self._queue.qsize()

    async def run(self) -> None:
        """Number, encode and submit events until cancelled."""
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH_EVENTS and not queue.empty():
                batch.append(queue.get_nowait())
            self._metrics.queue_depth(queue.qsize())
            for event, read_ns in batch:
                await self._submit(event, read_ns)
                queue.task_done()
            if queue.empty():
                await self._sink.flush()

    async def _submit(self, event: MarketEvent, read_ns: int) -> None:
        venue = event.instrument.venue
        recent = self._recent.get(venue)
        if recent is None:
            recent = self._recent[venue] = RecentIds(RECENT_IDS_PER_VENUE)
        if not recent.add(event.msg_id):
            self.duplicates += 1
            self._metrics.event_duplicate(venue, event.data_type.value)
            return
        sequence = self.sequences.next(event.instrument, event.data_type)
        await self._sink.submit(
            OutboundMessage(
                event.instrument.subject(event.data_type, self._subject_prefix),
                self._encoder.encode(event, sequence),
                event.msg_id,
                event.instrument.venue,
                event.data_type.value,
                read_ns,
            )
        )

    async def drain(self, timeout_s: float) -> int:
        """Wait until the queue is empty (the :meth:`run` loop must still be running).

        Returns:
            events still queued when the timeout ran out.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)
        return self._queue.qsize()
