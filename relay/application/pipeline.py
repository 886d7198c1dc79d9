"""The pipeline between venue readers and the publisher."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator

from relay.application.ports import EventEncoder, MessageSink, MetricsSink, OutboundMessage
from relay.application.sequence import SequenceTracker
from relay.domain.model import DataType, Instrument, MarketEvent

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


class _Stream:
    """What every event of one (venue, instrument, data type) shares, worked out once."""

    __slots__ = ("data_type", "msg_id_prefix", "numbers", "recent", "subject", "venue")

    def __init__(self, event: MarketEvent, subject_prefix: str, numbers: Iterator[int],
                 recent: RecentIds) -> None:
        instrument = event.instrument
        self.subject = instrument.subject(event.data_type, subject_prefix)
        self.msg_id_prefix = event.msg_id.removesuffix(event.dedup_key)
        """Every message id of the stream is this + the event's ``dedup_key``."""
        self.venue = instrument.venue
        self.data_type = event.data_type.value
        self.numbers = numbers
        self.recent = recent


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
        self._streams: dict[tuple[Instrument, DataType], _Stream] = {}
        self.accepted = 0
        self.duplicates = 0

    async def put(self, event: MarketEvent, read_ns: int = 0) -> None:
        """Queue one event; waits while the queue is full.

        ``read_ns``: ``time.monotonic_ns()`` when its frame was read (for latency).
        """
        queue = self._queue
        if queue.full():
            await queue.put((event, read_ns))
        else:
            queue.put_nowait((event, read_ns))
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
        key = (event.instrument, event.data_type)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = self._stream(event)
        msg_id = stream.msg_id_prefix + event.dedup_key
        if not stream.recent.add(msg_id):
            self.duplicates += 1
            self._metrics.event_duplicate(stream.venue, stream.data_type)
            return
        await self._sink.submit(
            OutboundMessage(
                stream.subject,
                self._encoder.encode(event, next(stream.numbers)),
                msg_id,
                stream.venue,
                stream.data_type,
                read_ns,
            )
        )

    def _stream(self, event: MarketEvent) -> _Stream:
        venue = event.instrument.venue
        recent = self._recent.get(venue)
        if recent is None:
            recent = self._recent[venue] = RecentIds(RECENT_IDS_PER_VENUE)
        numbers = self.sequences.counter(event.instrument, event.data_type)
        return _Stream(event, self._subject_prefix, numbers, recent)

    async def drain(self, timeout_s: float) -> int:
        """Wait until the queue is empty (the :meth:`run` loop must still be running).

        Returns:
            events still queued when the timeout ran out.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)
        return self._queue.qsize()
