"""The pipeline between venue readers and the publisher."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from relay.application.book_publication import DepthView, split_snapshot
from relay.application.consumer_state import ConsumerState, StreamState
from relay.application.log_rate_limit import LogRateLimit
from relay.application.pipeline_streams import RECENT_IDS_PER_VENUE, RecentIds, Stream
from relay.application.ports import EventEncoder, MessageSink, MetricsSink, OutboundMessage
from relay.application.sequence import SequenceTracker
from relay.application.standby import (
    Anchor,
    CatchUp,
    ResumeKind,
    RingEntry,
    StandbyRing,
    resume_plan,
    start_catch_up,
)
from relay.domain.model import Candle, DataType, Instrument, L2Update, MarketEvent

log = logging.getLogger("relay.pipeline")

MAX_BATCH_EVENTS = 512
"""Events taken from the queue at once by the publisher loop."""

HEADER_ROOM_BYTES = 1024
"""Room left below the server's ``max_payload`` for the headers (message id, content type)
when a snapshot is cut into parts."""

_STREAMING = StreamState.STREAMING

BookResyncRequest = Callable[[Instrument, str], None]
"""Asks the venue connection of an instrument to resync its book, with a reason."""

AnchorLookup = Callable[[str], Awaitable[Anchor | None]]
"""The last message a subject holds in JetStream (None: none); retries until JetStream answers."""

ResumeReport = Callable[[str, ResumeKind, float | None], None]
"""Told how a stream resumed at a takeover: its subject, its kind, and the seconds it held
catching up (None: it did not hold)."""


class Pipeline:
    """A bounded queue of events, and the loop that numbers, encodes and submits them.

    Full policy: when ``max_queue_events`` are waiting, :meth:`put` blocks the
    venue reader that called it (backpressure reaches its socket); nothing is
    dropped here.

    An event whose message id the pipeline has already published (the last
    ``RECENT_IDS_PER_VENUE`` per venue) is counted and not published again:
    after a reconnect that replays, or during a connection rotation, consumers
    see each event once and ``sequence`` stays without holes.

    L2 books (``l2_orderbook``):

    - With a subscription ``depth`` N > 0 the book published is the venue's
      top N levels per side (:class:`~relay.application.book_publication.DepthView`);
      a venue delta that changes nothing there publishes nothing.
    - A snapshot whose encoding does not fit the server's ``max_payload``
      (less :data:`HEADER_ROOM_BYTES`) is published as parts
      (``snapshot_part`` 1..``snapshot_parts``, message ids ``<id>:<part>/<parts>``),
      one sequence number each, before any delta.
    - A book is published only after a snapshot that went out whole. When a
      snapshot cannot be published (a single level over the limit) or any
      message of the book is dropped later (:meth:`message_dropped`), its
      deltas are dropped (counted, ``reason="book_incomplete"``) and
      ``resync_book(instrument, "snapshot_incomplete" | "message_dropped")``
      asks its venue connection for a new snapshot.

    Args:
        max_queue_events: the queue bound.
        encoder: JSON or protobuf envelope encoder.
        sink: JetStream publisher.
        metrics: counters.
        subject_prefix: the subjects' first token (``market``).
        depths: (venue id, venue instrument) -> published book depth, for the
            subscriptions with ``depth`` > 0.
        resync_book: asks for a book's resync (must not block: it is called
            from the publishing loop).
        state: told of every message submitted (latest values, book images,
            stream states) for the key-value buckets; None keeps none.
        standby_ring_events: > 0 starts as a hot standby: nothing is published,
            each stream keeps its last ``standby_ring_events`` events
            (:class:`~relay.application.standby.StandbyRing`) until :meth:`promote`.
        on_resume: told of each stream's :class:`~relay.application.standby.ResumeKind`
            at a takeover, with its subject and the seconds it held catching up (None:
            it did not hold).
        takeover_catchup_s: the longest a stream behind its anchor holds at a
            takeover (:func:`~relay.application.standby.start_catch_up`); 0 never holds.
        clock: monotonic seconds (the catch-up deadlines).
    """

    def __init__(
        self,
        max_queue_events: int,
        encoder: EventEncoder,
        sink: MessageSink,
        metrics: MetricsSink,
        subject_prefix: str = "market",
        depths: Mapping[tuple[str, str], int] | None = None,
        resync_book: BookResyncRequest = lambda instrument, reason: None,
        state: ConsumerState | None = None,
        standby_ring_events: int = 0,
        on_resume: ResumeReport = lambda subject, kind, held_s: None,
        takeover_catchup_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ring_events = standby_ring_events
        self._catchup_s = takeover_catchup_s
        self._clock = clock
        self._waiting: dict[tuple[Instrument, DataType], Stream] = {}
        """Streams holding until their ring reaches their anchor (a takeover)."""
        self._holds_task: asyncio.Task[None] | None = None
        """Ends each hold at its deadline, even with no new event; :meth:`run` cancels it."""
        self._anchor_of: AnchorLookup | None = None
        """Set by :meth:`promote`: each stream not yet resumed reads its anchor first."""
        self._on_resume = on_resume
        self._publishing = asyncio.Lock()
        self._state = state
        self._subject_prefix = subject_prefix
        self._depths = dict(depths or {})
        self._resync_book = resync_book
        self._queue: asyncio.Queue[tuple[MarketEvent, int]] = asyncio.Queue(max_queue_events)
        self._encoder = encoder
        self._sink = sink
        self._metrics = metrics
        self.sequences = SequenceTracker()
        self._recent: dict[str, RecentIds] = {}
        self._streams: dict[tuple[Instrument, DataType], Stream] = {}
        self._paused: set[tuple[str, str, DataType]] = set()
        self._removed: set[tuple[str, str, DataType]] = set()
        """Streams unsubscribed at runtime: their events still queued or still read
        (a venue that cannot unsubscribe live) are dropped, ``reason="unsubscribed"``."""
        self.accepted = 0
        self.duplicates = 0
        self.outside_depth = 0
        """Venue book deltas that changed nothing inside a subscription's ``depth``."""
        self._error_log = LogRateLimit()

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
        """Number, encode and submit events until cancelled (then the takeover holds' task too)."""
        try:
            await self._run()
        finally:
            holds = self._holds_task
            if holds is not None:
                holds.cancel()
                await asyncio.gather(holds, return_exceptions=True)

    async def _run(self) -> None:
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH_EVENTS and not queue.empty():
                batch.append(queue.get_nowait())
            self._metrics.queue_depth(queue.qsize())
            async with self._publishing:
                for event, read_ns in batch:
                    # The common way (a stream publishing, an id not seen) is written out
                    # here, one coroutine call per event: this is the measured hot path.
                    try:
                        stream = self._streams.get((event.instrument, event.data_type))
                        if stream is None and (stream := self._new_stream(event)) is None:
                            pass  # unsubscribed at runtime: dropped, counted
                        elif stream.held:
                            await self._submit_held(stream, event, read_ns)
                        elif stream.recent.add(msg_id := stream.msg_id_prefix + event.dedup_key):
                            await self._publish(stream, event, msg_id, read_ns)
                        else:
                            self._duplicate(stream)
                    except Exception as exc:  # one event never ends the pipeline
                        self._failed(event, exc)
                    queue.task_done()
            if queue.empty():
                await self._sink.flush()

    def _new_stream(self, event: MarketEvent) -> Stream | None:
        """The stream of an event seen for the first time; None (the event dropped and
        counted) when the stream was unsubscribed at runtime."""
        instrument = event.instrument
        if (instrument.venue, instrument.instrument, event.data_type) in self._removed:
            self._metrics.event_dropped(instrument.venue, event.data_type.value, "unsubscribed")
            return None
        stream = self._streams[(instrument, event.data_type)] = self._stream(event)
        return stream

    def _duplicate(self, stream: Stream) -> None:
        self.duplicates += 1
        self._metrics.event_duplicate(stream.venue, stream.data_type)

    async def _submit_held(self, stream: Stream, event: MarketEvent, read_ns: int) -> None:
        """An event of a paused stream (dropped, counted) or of one whose events go to its
        ring (a standby; a new leader's stream not resumed yet)."""
        if stream.paused:
            self._metrics.event_dropped(stream.venue, stream.data_type, "paused")
            return
        msg_id = stream.msg_id_prefix + event.dedup_key
        if not stream.recent.add(msg_id):
            self._duplicate(stream)
            return
        assert stream.ring is not None
        entry = RingEntry(event, msg_id, read_ns)
        stream.ring.add(entry)
        if self._anchor_of is not None:  # promoted: first seen since, or catching up
            await self._held(stream, entry)

    async def _publish(self, stream: Stream, event: MarketEvent, msg_id: str, read_ns: int) -> None:
        """Number, encode and submit one event that is not a duplicate."""
        book = stream.book
        update: L2Update | None = None
        if book is not None:
            payload = event.payload
            assert isinstance(payload, L2Update)
            update = payload
            if update.is_snapshot or not stream.book_complete or stream.depth_view is not None:
                await self._submit_book(stream, event, update, msg_id, read_ns)
                return
        sequence = next(stream.numbers)
        data = self._encoder.encode(event, sequence)
        status = stream.status
        if status is not None:
            status.events += 1
            status.last_event_ms = event.received_at_ms
            if status.state is not _STREAMING:
                status.seen(event.received_at_ms, False)
            if update is not None:
                stream.image.apply(update, sequence, event.received_at_ms)  # type: ignore[union-attr]
            elif stream.latest_key is not None and (
                type(event.payload) is not Candle or event.payload.is_closed
            ):
                stream.latest[stream.latest_key] = data
        await self._sink.submit(
            OutboundMessage(
                stream.subject, data, msg_id, stream.venue, stream.data_type, read_ns, book
            )
        )

    async def _submit_book(
        self, stream: Stream, event: MarketEvent, update: L2Update, msg_id: str, read_ns: int
    ) -> None:
        """Submit an L2 snapshot, a delta cut to depth, or a delta before a whole snapshot.

        (A delta of a complete book without a depth view takes :meth:`_publish`'s short way.)
        """
        view = stream.depth_view
        if view is not None:
            cut = view.apply(update)
            if cut is None:
                self.outside_depth += 1
                return
            if cut is not update:
                event = replace(event, payload=cut)
                update = cut
        if not update.is_snapshot:
            if not stream.book_complete:
                self._metrics.event_dropped(stream.venue, stream.data_type, "book_incomplete")
                return
            sequence = next(stream.numbers)
            self._book_published(stream, event, update, sequence)
            await self._submit_one(stream, self._encoder.encode(event, sequence), msg_id, read_ns)
            return
        sequence = next(stream.numbers)
        data = self._encoder.encode(event, sequence)
        limit = self._sink.max_payload_bytes - HEADER_ROOM_BYTES
        if limit <= 0 or len(data) <= limit:
            stream.book_complete = True
            self._book_published(stream, event, update, sequence)
            await self._submit_one(stream, data, msg_id, read_ns)
            return
        parts = self._parts(event, update, sequence, limit, len(data))
        if parts is None:
            stream.book_complete = False
            self._metrics.event_dropped(stream.venue, stream.data_type, "too_large")
            log.error(
                "book snapshot cannot be cut to fit max_payload; resyncing the book",
                extra={
                    "subject": stream.subject,
                    "msg_id": msg_id,
                    "bytes": len(data),
                    "limit_bytes": limit,
                },
            )
            self._resync_book(event.instrument, "snapshot_incomplete")
            return
        stream.book_complete = True
        count = len(parts)
        self._book_published(stream, event, update, sequence + count - 1)
        for number, part in enumerate(parts, 1):
            if number > 1:
                next(stream.numbers)  # the number part ``number`` was encoded with
            await self._submit_one(stream, part, f"{msg_id}:{number}/{count}", read_ns)

    def _parts(
        self, event: MarketEvent, update: L2Update, sequence: int, limit: int, size: int
    ) -> list[bytes] | None:
        """The snapshot ``event`` encoded as parts of at most ``limit`` bytes each.

        Part ``k`` is encoded with sequence number ``sequence + k - 1``: the
        stream's counter gives exactly those next, and the caller takes them.
        Starts from ``size / limit`` parts and adds a quarter (at least one)
        until every part fits; None when even one level per side per part does not.
        """
        levels = max(len(update.bids), len(update.asks))
        count = -(-size // limit)
        while True:
            parts = [
                self._encoder.encode(replace(event, payload=part), sequence + index)
                for index, part in enumerate(split_snapshot(update, count))
            ]
            if all(len(part) <= limit for part in parts):
                return parts
            if count >= levels:
                return None
            count = min(max(count + 1, count * 5 // 4), levels)

    @staticmethod
    def _book_published(
        stream: Stream, event: MarketEvent, update: L2Update, sequence: int
    ) -> None:
        """A book message (a whole snapshot counts as one) goes out as ``sequence``."""
        status = stream.status
        if status is not None:
            status.events += 1
            status.seen(event.received_at_ms, update.is_snapshot)
        image = stream.image
        if image is not None:
            image.apply(update, sequence, event.received_at_ms)

    async def _submit_one(self, stream: Stream, data: bytes, msg_id: str, read_ns: int) -> None:
        await self._sink.submit(
            OutboundMessage(
                stream.subject, data, msg_id, stream.venue, stream.data_type, read_ns, stream.book
            )
        )

    def _failed(self, event: MarketEvent, exc: Exception) -> None:
        """An event could not be encoded or submitted: dropped, counted, logged at a limited rate.

        A book event that failed so also resyncs its book.
        """
        venue = event.instrument.venue
        data_type = event.data_type
        self._metrics.event_dropped(venue, data_type.value, "internal_error")
        suppressed = self._error_log.allow((venue, data_type, type(exc)))
        if suppressed is not None:
            log.error(
                "event could not be published",
                extra={
                    "venue": venue,
                    "instrument": event.instrument.instrument,
                    "data_type": data_type.value,
                    "error_type": type(exc).__name__,
                    "error": str(exc)[:200],
                    "suppressed": suppressed,
                },
            )
        if data_type is DataType.L2_ORDERBOOK:
            stream = self._streams.get((event.instrument, data_type))
            if stream is not None and stream.book_complete:
                stream.book_complete = False
                self._resync_book(event.instrument, "internal_error")

    def message_dropped(self, message: OutboundMessage, reason: str) -> None:
        """The sink gave up on ``message``: a book that lost a message is resynced.

        Its deltas are dropped (``book_incomplete``) until the venue's next
        snapshot has gone out whole.
        """
        book = message.book
        if book is None:
            return
        stream = self._streams.get((book, DataType.L2_ORDERBOOK))
        if stream is None or not stream.book_complete:
            return
        stream.book_complete = False
        log.warning(
            "book message dropped; resyncing the book",
            extra={"subject": message.subject, "msg_id": message.msg_id, "reason": reason},
        )
        self._resync_book(book, "message_dropped")

    def forget(self, venue: str, instrument: str, data_type: DataType) -> None:
        """A stream was unsubscribed at runtime: drop its state (a book's depth view) and
        every event of it from now on, until :meth:`restore`. Its sequence numbers are kept:
        subscribed again, it goes on from the next number."""
        key = (venue, instrument, data_type)
        self._removed.add(key)
        for found in [k for k in self._streams if _matches(k, key)]:
            del self._streams[found]
            self._waiting.pop(found, None)

    def restore(self, venue: str, instrument: str, data_type: DataType, depth: int) -> None:
        """A stream was subscribed at runtime: publish its events (a book from its next
        snapshot), with book ``depth`` (0 = the venue's book)."""
        self._removed.discard((venue, instrument, data_type))
        if data_type is DataType.L2_ORDERBOOK:
            self._set_depth(venue, instrument, depth)

    def set_paused(self, venue: str, instrument: str, data_type: DataType, paused: bool) -> None:
        """Pause (read, count as dropped, do not publish) or resume a stream.

        A book resumed is published again from a fresh snapshot: its resync is
        asked for (``reason="resumed"``), since the deltas read while paused
        were not published.
        """
        key = (venue, instrument, data_type)
        if paused:
            self._paused.add(key)
        else:
            self._paused.discard(key)
        for found, stream in self._streams.items():
            if not _matches(found, key) or stream.paused == paused:
                continue
            stream.set_paused(paused)
            if not paused and stream.book is not None:
                self._restart_book(stream, "resumed")

    def set_depth(self, venue: str, instrument: str, depth: int) -> None:
        """Publish a book with another depth (0 = the venue's book), from a fresh snapshot
        (its resync is asked for, ``reason="depth_changed"``); no other book is touched."""
        self._set_depth(venue, instrument, depth)
        for (found, data_type), stream in self._streams.items():
            if data_type is DataType.L2_ORDERBOOK and _matches(
                (found, data_type), (venue, instrument, data_type)
            ):
                stream.depth_view = DepthView(depth) if depth > 0 else None
                self._restart_book(stream, "depth_changed")

    def _set_depth(self, venue: str, instrument: str, depth: int) -> None:
        if depth > 0:
            self._depths[(venue, instrument)] = depth
        else:
            self._depths.pop((venue, instrument), None)

    def _restart_book(self, stream: Stream, reason: str) -> None:
        if stream.book is not None:
            stream.book_complete = False
            self._resync_book(stream.book, reason)

    def _stream(self, event: MarketEvent) -> Stream:
        instrument = event.instrument
        venue = instrument.venue
        recent = self._recent.get(venue)
        if recent is None:
            recent = self._recent[venue] = RecentIds(RECENT_IDS_PER_VENUE)
        numbers = self.sequences.counter(instrument, event.data_type)
        depth = self._depths.get((venue, instrument.instrument), 0)
        stream = Stream(event, self._subject_prefix, numbers, recent, depth, self._state)
        stream.set_paused((venue, instrument.instrument, event.data_type) in self._paused)
        if self._ring_events > 0:
            stream.set_ring(StandbyRing(self._ring_events))
        return stream

    @property
    def standby(self) -> bool:
        """True while holding events back as a hot standby (before :meth:`promote`)."""
        return self._ring_events > 0 and self._anchor_of is None

    @property
    def catching_up(self) -> int:
        """Streams holding after a takeover until their ring reaches their anchor."""
        return len(self._waiting)

    async def promote(self, anchor_of: AnchorLookup) -> None:
        """Become the publisher: resume every stream from its anchor, then publish as usual.

        Each stream seen so far reads its anchor and publishes its ring as
        :func:`~relay.application.standby.resume_plan` says, or, when the standby
        is behind its anchor, holds catching up (:meth:`catching_up`) until its
        ring reaches it or ``takeover_catchup_s`` passed, while the others
        publish. A stream first seen later reads its anchor at its first event.
        New events wait while the anchors are read. What the rings published is
        written before this returns (the venue may send nothing more for a while).
        """
        async with self._publishing:
            self._anchor_of = anchor_of
            for stream in list(self._streams.values()):
                await self._resume(stream)
            await self._sink.flush()

    async def _resume(self, stream: Stream) -> None:
        """Read the stream's anchor; hold it catching up, or resume it from its ring."""
        assert self._anchor_of is not None
        anchor = await self._anchor_of(stream.subject)
        ring = stream.ring if stream.ring is not None else StandbyRing(1)
        stream.set_ring(ring)
        book = stream.book is not None
        rebuild = stream.depth_view is not None
        now_s = self._clock()
        wait = start_catch_up(
            ring, anchor, book=book, rebuild_needed=rebuild, now_s=now_s, bound_s=self._catchup_s
        )
        if wait is not None:
            stream.catch_up = wait
            self._waiting[stream.key] = stream
            if self._holds_task is None or self._holds_task.done():
                self._holds_task = asyncio.create_task(self._end_holds_at_deadlines())
            return
        await self._resume_from(stream, anchor, None)

    async def _held(self, stream: Stream, entry: RingEntry) -> None:
        """An event went to the ring of a stream after the takeover."""
        wait = stream.catch_up
        if wait is None:
            await self._resume(stream)  # its first event since the takeover
        elif wait.settled(entry):
            await self._end_hold(stream, wait)

    async def _end_hold(self, stream: Stream, wait: CatchUp) -> None:
        del self._waiting[stream.key]
        stream.catch_up = None
        await self._resume_from(stream, wait.anchor, self._clock() - wait.started_s)

    async def _end_holds_at_deadlines(self) -> None:
        """End each hold at its deadline, until no stream holds."""
        delay_s = await self._end_overdue_holds()
        while delay_s is not None:
            await asyncio.sleep(delay_s)
            delay_s = await self._end_overdue_holds()

    async def _end_overdue_holds(self, *, every: bool = False) -> float | None:
        """End the holds whose deadline passed (``every``: all).

        Returns:
            seconds to the next deadline; None when no stream holds any more.
        """
        async with self._publishing:
            now_s = self._clock()
            deadlines: list[float] = []
            for stream in list(self._waiting.values()):
                wait = stream.catch_up
                assert wait is not None
                if every or wait.deadline_s <= now_s:
                    await self._end_hold(stream, wait)
                else:
                    deadlines.append(wait.deadline_s)
            await self._sink.flush()  # outside the run loop, which flushes as it runs dry
        return min(deadlines) - now_s if deadlines else None

    async def _resume_from(
        self, stream: Stream, anchor: Anchor | None, held_s: float | None
    ) -> None:
        """Set the stream's numbering and publish its ring per the plan."""
        ring = stream.ring
        stream.set_ring(None)
        held = ring if ring is not None else StandbyRing(1)
        plan = resume_plan(
            held, anchor, book=stream.book is not None, rebuild_needed=stream.depth_view is not None
        )
        stream.numbers = itertools.count(plan.next_sequence)
        self.sequences.start_at(stream.key, stream.numbers)
        self._on_resume(stream.subject, plan.kind, held_s)
        if stream.book is not None:
            stream.book_complete = plan.kind is ResumeKind.CONTINUED
            if plan.kind is ResumeKind.RESYNC:
                self._resync_book(stream.book, "failover")
        for entry in plan.entries:
            try:
                await self._publish(stream, entry.event, entry.msg_id, entry.read_ns)
            except Exception as exc:  # one event never ends the pipeline
                self._failed(entry.event, exc)

    async def drain(self, timeout_s: float) -> int:
        """Wait until the queue is empty (the :meth:`run` loop must still be running).

        Streams holding catching up after a takeover resume at once (as at their deadline).

        Returns:
            events still queued when the timeout ran out.
        """
        if self._waiting:
            await self._end_overdue_holds(every=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)
        return self._queue.qsize()


def _matches(found: tuple[Instrument, DataType], key: tuple[str, str, DataType]) -> bool:
    instrument, data_type = found
    return (instrument.venue, instrument.instrument, data_type) == key
