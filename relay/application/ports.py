"""Ports: what the application layer needs from the outside, as Protocols.

Infrastructure implements them (venue modules, the NATS publisher, the
Prometheus metrics); the composition root wires them together.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from relay.application.circuit_breaker import BreakerState
from relay.application.errors import FrameError
from relay.config.model import SubscriptionConfig
from relay.domain.model import DataType, Instrument, MarketEvent


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """A REST order book snapshot the venue adapter needs before it can publish a book.

    Attributes:
        instrument: whose book.
        path: URL path and query below the venue's REST base
            (``"/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000"``).
        reason: ``"initial"`` at start or reconnect, ``"gap"`` after a
            continuity break, ``"stale_snapshot"`` when the snapshot was older
            than the buffered diffs.
        weight: the venue's request weight, for rate limiting.
    """

    instrument: Instrument
    path: str
    reason: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class BookResync:
    """An order book the adapter threw away and re-synchronizes over the WebSocket.

    Venues that send book snapshots on the WebSocket (OKX, Bybit, Kraken,
    Deribit, Coinbase) resync one book by unsubscribing and subscribing its
    channel again: those frames go in :attr:`FrameOutcome.replies`, and this
    record makes the connection count and log the resync. (Venues with REST
    snapshots report a resync as a :class:`SnapshotRequest` instead.)

    Attributes:
        instrument: whose book.
        reason: why, a short word counted in ``relay_book_resyncs_total``:
            ``"gap"`` (update id continuity broken), ``"checksum"`` (the book's
            checksum disagrees with the venue's), ``"crossed_book"``...
    """

    instrument: Instrument
    reason: str


@dataclass(frozen=True, slots=True)
class Keepalive:
    """A venue-level ping the connection sends on a timer.

    Attributes:
        interval_s: seconds between two pings.
        frame: the text frame to send (OKX: ``"ping"``; Bybit: ``'{"op":"ping"}'``).
    """

    interval_s: float
    frame: str


@dataclass(slots=True)
class FrameOutcome:
    """What one frame (or one snapshot response) produced.

    Attributes:
        events: events to publish, in order.
        snapshot_requests: REST snapshots to fetch and hand back through
            :meth:`VenueProtocol.on_snapshot`.
        replies: text frames to send back on the WebSocket, in order (pongs,
            the unsubscribe + subscribe frames of a book resync).
        resyncs: books re-synchronized over the WebSocket (see :class:`BookResync`).
        reconnect: the venue asked the client to reconnect (Bitstamp's
            ``bts:request_reconnect`` before a server's maintenance, Bitfinex's info
            20051 before its server restarts): the connection is replaced by a
            rotation, the new connection open before the old closes.
    """

    events: list[MarketEvent]
    snapshot_requests: list[SnapshotRequest]
    replies: list[str]
    resyncs: list[BookResync] = field(default_factory=list)
    reconnect: bool = False


class VenueProtocol(Protocol):
    """One venue connection's sans-IO protocol: text in, events out, no sockets.

    A new instance is made for every connection attempt, so its state (book
    sync, buffers) starts clean after a reconnect.

    Methods raise :class:`relay.application.errors.FrameError` for a frame they
    cannot use; the caller counts it by its ``reason`` and goes on.
    """

    def ws_url(self) -> str:
        """The URL to connect to, with any stream list in its query."""
        ...

    def subscribe_frames(self) -> Sequence[str]:
        """Text frames to send once connected (may be empty).

        The connection sends them in order, at most one per the venue's
        ``subscribe_interval_s`` (:class:`~relay.infrastructure.venues.registry.VenueSpec`).
        """
        ...

    def keepalive(self) -> Keepalive | None:
        """The venue-level ping to send on a timer; None (the default) when the venue needs none.

        Pongs come back through :meth:`on_frame`, which answers them with an
        empty outcome. Venues whose server pings the client (Deribit's
        ``test_request``) answer in :attr:`FrameOutcome.replies` instead.
        """
        return None

    def on_open(self) -> FrameOutcome:
        """Called once the connection is open: initial snapshot requests, if any.

        The default asks for nothing: venues whose books arrive as WebSocket
        snapshots after the subscribe frames need no REST snapshot.
        """
        return FrameOutcome([], [], [])

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one received frame.

        Raises:
            FrameError: the frame is malformed or of an unknown kind.
        """
        ...

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw books away and start their resynchronization, as a continuity break does.

        For the caller's own reasons (``"internal_error"``: handling a frame
        raised something unexpected, so the books it touched may be wrong; a
        book whose snapshot could not be published completely). Venues with
        REST snapshots reset the book's sync and return :class:`SnapshotRequest`
        records with ``reason``; venues with WebSocket snapshots return
        :class:`BookResync` records and, in ``replies``, the unsubscribe +
        subscribe frames of the books' channels; venues whose every book
        message is a full snapshot reset what they keep per book and return
        :class:`BookResync` records, so the resync is counted. Until the fresh
        snapshot is in, no delta of those books is published.

        Args:
            instruments: venue instrument ids as configured (``"BTC-USDT"``);
                None: every book of this connection. Ids without a book on this
                connection are ignored.
            reason: the short word counted in ``relay_book_resyncs_total``.
        """
        ...

    def subscribe(self, subscription: SubscriptionConfig) -> FrameOutcome | None:
        """Start ``subscription`` on the open connection (a runtime change), if the venue can.

        Its data types are added to what this connection reads for the
        instrument (merged with any it reads already). The outcome carries the
        subscribe frames (``replies``) and, for a book on a REST-snapshot venue,
        its ``initial`` snapshot request; no other book is touched.

        Returns:
            None (the default) when the venue cannot subscribe on an open
            connection (streams named in the URL only): the caller opens a new
            connection for it instead.
        """
        return None

    def unsubscribe(self, instrument: str, data_types: Collection[DataType]) -> FrameOutcome | None:
        """Stop reading ``data_types`` of ``instrument`` on the open connection, if the venue can.

        Their books are dropped; their frames arriving after this are skipped
        as ``unsubscribed``. The outcome carries the unsubscribe frames.

        Returns:
            None (the default) when the venue cannot unsubscribe on an open
            connection: the caller drops the streams' events until the
            connection is next replaced (which no longer subscribes them).
        """
        return None

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, received_at_ms: int
    ) -> FrameOutcome:
        """Hand back a fetched REST snapshot.

        The default, for venues that never ask for one, refuses it.

        Raises:
            FrameError: ``bad_snapshot``: the body is not a usable snapshot (by
                default: always, the venue's books come from the WebSocket).
        """
        raise FrameError(
            "bad_snapshot", f"{request.path}: this venue's books need no REST snapshot"
        )


class MetricsSink(Protocol):
    """Counters and gauges the application reports; Prometheus implements it."""

    def event_received(self, venue: str, data_type: str) -> None:
        """An event was normalized from a venue frame."""
        ...

    def frame_rejected(self, venue: str, reason: str) -> None:
        """A frame was counted and skipped."""
        ...

    def book_resync(self, venue: str, instrument: str, reason: str) -> None:
        """An order book was re-synchronized from a new snapshot."""
        ...

    def event_published(self, venue: str, data_type: str) -> None:
        """JetStream acknowledged an event."""
        ...

    def event_dropped(self, venue: str, data_type: str, reason: str) -> None:
        """An event was given up on."""
        ...

    def publish_latency(self, venue: str, seconds: float) -> None:
        """JetStream acknowledged an event ``seconds`` after its venue frame was read.

        Called once per acked event whose read time is known, on the hot path:
        it must be cheap and must not raise.
        """
        ...

    def queue_depth(self, depth: int) -> None:
        """Events waiting between the venue readers and the publisher."""
        ...

    def venue_connected(self, venue: str, connected: bool) -> None:
        """A venue connection opened or closed."""
        ...

    def reconnect(self, venue: str) -> None:
        """A venue connection is being re-opened."""
        ...

    def stale_reconnect(self, venue: str, data_type: str) -> None:
        """A connection was replaced because a subscription went silent."""
        ...

    def circuit_state(self, venue: str, state: BreakerState) -> None:
        """The venue's circuit breaker changed state."""
        ...

    def rotation(self, venue: str) -> None:
        """A connection was rotated before the venue's age limit."""
        ...

    def rest_request(self, venue: str, status: str) -> None:
        """A REST request was answered with ``status``."""
        ...

    def event_duplicate(self, venue: str, data_type: str) -> None:
        """An event already published (same message id) was not published again."""
        ...

    def rest_poll(self, venue: str, endpoint: str, outcome: str) -> None:
        """One REST poll of ``endpoint`` (a path) ended: ``ok``, ``failed`` or ``bad_body``."""
        ...

    def rest_fallback_active(self, venue: str, active: bool) -> None:
        """A venue connection's REST fallback started (True) or stopped (False)."""
        ...

    def publish_retry(self, venue: str) -> None:
        """A publish JetStream rejected or did not ack is sent again."""
        ...

    def publish_in_flight(self, count: int) -> None:
        """Publishes awaiting a JetStream ack now."""
        ...

    def nats_connected(self, connected: bool) -> None:
        """The NATS connection came (True) or went (False)."""
        ...

    def jetstream_ready(self, ready: bool) -> None:
        """Publishing resumed after a JetStream check (True) or stopped for an outage (False)."""
        ...


@dataclass(slots=True)
class OutboundMessage:
    """An encoded event ready for JetStream; nobody changes it once built.

    Not frozen: one is built per published event, and a frozen dataclass's
    ``__init__`` (``object.__setattr__`` per field) costs about twice as much.

    Attributes:
        subject: ``market.<venue>.<symbol>.<data_type>``.
        payload: the encoded envelope.
        msg_id: the ``Nats-Msg-Id`` header.
        venue, data_type: labels for metrics and logs.
        read_ns: ``time.monotonic_ns()`` when the venue frame was read (0 = unknown).
        book: for an ``l2_orderbook`` message, its instrument: a book message
            that is dropped leaves that book incomplete for consumers (see
            :meth:`MessageSink.submit`); None for other data types.
    """

    subject: str
    payload: bytes
    msg_id: str
    venue: str
    data_type: str
    read_ns: int = 0
    book: Instrument | None = None


AckObserver = Callable[[OutboundMessage, int], None]
"""Told of every message JetStream acknowledged: ``(message, now_ns)``, ``now_ns`` the
``time.monotonic_ns()`` when the ack was handled (same clock as ``read_ns``).

An optional hook of the composition root (``Relay(config, on_acked=...)``); the
benchmark installs one to record frame-read-to-ack latencies. Called on the hot
path once per acked message: it must be quick and must not raise.
"""


class EventEncoder(Protocol):
    """Encodes an envelope; the serialization layer implements it."""

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header value (``application/json``)."""
        ...

    def encode(self, event: MarketEvent, sequence: int) -> bytes:
        """The envelope's bytes."""
        ...


class MessageSink(Protocol):
    """Where encoded events go: JetStream, with acks, retries and drops inside."""

    @property
    def max_payload_bytes(self) -> int:
        """The largest message the server takes (its ``max_payload``, headers included).

        0 until known (before the first connection).
        """
        ...

    async def submit(self, message: OutboundMessage) -> None:
        """Hand over one message; waits while too many are awaiting acks.

        A message given up on (too large, or rejected after every retry) is
        reported to the ``on_drop`` callback the sink was built with, so the
        pipeline can resync a book that lost a message.
        """
        ...

    async def flush(self) -> None:
        """The queue ran dry: send what is held back for batching now."""
        ...

    async def drain(self, timeout_s: float) -> int:
        """Wait until every message is acknowledged or dropped; returns how many are left."""
        ...


class TrafficRecorder(Protocol):
    """Where raw venue traffic goes to be recorded (``[recording]``), if anywhere.

    Every method returns at once and never raises: an implementation queues the
    record (bounded) and writes it elsewhere, dropping and counting what does
    not fit, so the frame path never waits for a disk. Times are Unix epoch
    seconds (float) when the frame was read or the answer received.
    """

    def connection_opened(self, venue: str, url: str, t_s: float) -> str:
        """A WebSocket connection to ``url`` opened; returns its name (``"ws-3"``)."""
        ...

    def connection_closed(self, venue: str, conn: str) -> None:
        """The connection named ``conn`` closed (nothing is recorded for it)."""
        ...

    def frame_sent(self, venue: str, conn: str, frame: str | bytes, t_s: float) -> None:
        """A frame the relay sent to the venue on ``conn`` (subscribe frames, pings)."""
        ...

    def frame_received(self, venue: str, conn: str, frame: str | bytes, t_s: float) -> None:
        """A frame the venue sent on ``conn``, as read (before any check)."""
        ...

    def http_response(
        self,
        venue: str,
        method: str,
        url: str,
        status: int,
        body: bytes,
        t_s: float,
    ) -> None:
        """A REST answer received: request method and full URL, status and body bytes."""
        ...
