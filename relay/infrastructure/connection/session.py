"""One WebSocket session of a venue connection: its protocol instance, reader, writer, watchdog.

:class:`~relay.infrastructure.connection.venue_connection.VenueConnection` opens a
:class:`Session` per connection attempt (and one more during a rotation), giving
it a fresh sans-IO protocol instance, so every book starts unsynced, and a
:class:`SessionContext` of what it works with (config, metrics, health, the
pipeline's ``publish``, the REST ``fetch``), never itself. A session reads
frames, hands them to the protocol under its lock, and handles the outcome:
events to the pipeline (or held, during a rotation), REST snapshots fetched,
replies sent, resyncs counted.

- Frames to the venue (subscribe frames, replies, book resyncs) go through one
  bounded outbox (:data:`OUTBOX_MAX_FRAMES`) whose writer keeps the venue's
  ``subscribe_interval_s`` between two frames; reading never waits for it. A
  full outbox means the venue stopped reading: the connection is replaced.
- Books resynchronized over the WebSocket (:class:`~relay.application.ports.BookResync`)
  are counted per venue, instrument and reason, like REST snapshot resyncs; their
  log line is written at most once per book and reason every
  :data:`INTERNAL_ERROR_LOG_INTERVAL_S` (then with the count held back).
- A staleness watchdog per (instrument, data type)
  (:mod:`~relay.infrastructure.connection.watchdog`): no data for
  ``stale_after_s`` replaces the connection.
- Frames larger than ``max_frame_bytes`` are counted (``oversized``) and skipped.
- With ``[recording]``, the context's :class:`~relay.application.ports.TrafficRecorder`
  is told of the connection's opening, every frame read (before any check) and
  every frame sent; it queues them without waiting (a full queue drops the record).
- Frame isolation: nothing a venue sends ends the venue task. An exception
  other than :class:`~relay.application.errors.FrameError` raised by the
  protocol while it handles a frame, a REST snapshot or the connection's
  opening is counted (``relay_frames_rejected_total{reason="internal_error"}``),
  logged at most once per :data:`INTERNAL_ERROR_LOG_INTERVAL_S` per venue and
  exception type (with the count held back), and every book of the connection
  is resynced (``resync_books(None, "internal_error")``): the frame may have
  left any of them half-updated. If that resync itself raises, the protocol's
  state cannot be trusted: the connection is replaced (:class:`ProtocolStateError`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import ClientConnection

from relay.application.errors import FrameError
from relay.application.health import ConnectionState, HealthMonitor
from relay.application.log_rate_limit import LogRateLimit
from relay.application.ports import (
    FrameOutcome,
    Keepalive,
    MetricsSink,
    SnapshotRequest,
    TrafficRecorder,
    VenueProtocol,
)
from relay.config.model import VenueConfig
from relay.domain.model import MarketEvent
from relay.infrastructure.connection.watchdog import StalenessWatchdog, Subscription

log = logging.getLogger("relay.venue")

OUTBOX_MAX_FRAMES = 10_000
"""Frames waiting to be sent to the venue on one connection; when full, the connection is
replaced."""

INTERNAL_ERROR_LOG_INTERVAL_S = 10.0
"""Least seconds between two "unexpected error" lines of one venue and exception type,
and between two "order book resync" lines of one book and reason."""

CLIP_CHARS = 200
"""Characters of a frame (and of an exception's message) an error line carries."""

INTERNAL_ERROR = "internal_error"


class StaleConnectionError(ConnectionError):
    """A subscription went without data for longer than its ``stale_after_s``."""


class OutboxFullError(ConnectionError):
    """More than :data:`OUTBOX_MAX_FRAMES` frames waited to be sent: the venue stopped reading."""


class ProtocolStateError(ConnectionError):
    """The venue protocol raised while resyncing its books: its state cannot be trusted.

    Raised out of the session so the connection is replaced (a fresh protocol
    instance, every book synced again) through the reconnect path.
    """


def clip(value: object) -> str:
    """At most :data:`CLIP_CHARS` characters of ``str(value)`` (bytes: of their repr).

    Never raises: an exception whose message cannot be built (a repr nested too
    deep) gives ``"<unprintable ...>"``.
    """
    if isinstance(value, bytes):
        return repr(value[:CLIP_CHARS])[:CLIP_CHARS]
    if isinstance(value, str):
        return value[:CLIP_CHARS]
    try:
        text = str(value)
    except Exception as exc:
        text = f"<unprintable: {type(exc).__name__}>"
    return text[:CLIP_CHARS]


def now_ms() -> int:
    """Wall-clock time in integer milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What every session of one venue connection works with.

    Attributes:
        config: the venue's ``[[venues]]`` section (frame limit, timeouts, pings,
            compression); ``config.id`` names the venue in counters and logs.
        name: the connection's name in ``/health``, the connected gauge and logs.
        subscribe_interval_s: least seconds between two frames sent to the venue.
        watched: staleness threshold (s) per watched (instrument, data type).
        publish: the pipeline's ``put(event, read_ns)`` (awaits while its queue is full).
        fetch: GETs a REST snapshot, retried until it succeeds (or is cancelled).
        metrics, health: where counts and states go.
        error_log: the rate limit of "unexpected error" and "order book resync" lines.
        count_frame: called once per frame read (the connection's frame count).
        recorder: where the raw traffic is recorded (``[recording]``), or None.
    """

    config: VenueConfig
    name: str
    subscribe_interval_s: float
    watched: Mapping[Subscription, float]
    publish: Callable[[MarketEvent, int], Awaitable[None]]
    fetch: Callable[[SnapshotRequest], Awaitable[bytes]]
    metrics: MetricsSink
    health: HealthMonitor
    error_log: LogRateLimit
    count_frame: Callable[[], None]
    recorder: TrafficRecorder | None = None


class Handover:
    """The overlap of a rotation: which events each side has seen, until they meet.

    The old connection publishes, the new one holds. Once one side sees an event
    (by ``Nats-Msg-Id``) the other already saw, the old connection has read up to
    where the new one started: everything it had to deliver is published.
    """

    def __init__(self) -> None:
        self.published: set[str] = set()
        self.held: set[str] = set()
        self.caught_up = asyncio.Event()

    def saw(self, msg_id: str, held: bool) -> None:
        mine, theirs = (self.held, self.published) if held else (self.published, self.held)
        if msg_id in theirs:
            self.caught_up.set()
        else:
            mine.add(msg_id)


class Session:
    """One WebSocket connection and its protocol instance (see the module docstring).

    Args:
        context: what it works with (see :class:`SessionContext`).
        protocol: a fresh protocol instance of the venue, for this session only.
        hold: keep the events instead of publishing them (the new side of a
            rotation) until :meth:`release`.
    """

    def __init__(self, context: SessionContext, protocol: VenueProtocol, hold: bool) -> None:
        self.context = context
        self.protocol = protocol
        self.hold = hold
        self.held: list[tuple[MarketEvent, int]] = []
        self.handover: Handover | None = None
        self.ws: ClientConnection | None = None
        self.opened = asyncio.Event()
        self.first_frame = asyncio.Event()
        self.live = asyncio.Event()
        """Set once the session publishes: at once, or when a rotation hands over to it."""
        if not hold:
            self.live.set()
        self.closing = False
        self.opened_at = 0.0
        self.lock = asyncio.Lock()
        self.snapshot_tasks: set[asyncio.Task[None]] = set()
        self.watchdog = StalenessWatchdog(context.watched)
        self.stale: str | None = None
        self.outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_MAX_FRAMES)
        self.outbox_full = False
        self.broken: ProtocolStateError | None = None
        self.conn = ""
        """The connection's name in the recording (``"ws-1"``); empty when not recorded."""

    async def run(self) -> None:
        """Connect and read until the connection ends (normally only through :meth:`close`)."""
        context = self.context
        config = context.config
        name = context.name
        url = self.protocol.ws_url()
        async with websockets.connect(
            url,
            max_size=config.max_frame_bytes * 8,
            open_timeout=config.connect_timeout_s,
            ping_interval=config.ping_interval_s,
            ping_timeout=config.pong_timeout_s,
            close_timeout=2,
            compression="deflate" if config.ws_compression else None,
        ) as ws:
            self.ws = ws
            recorder = context.recorder
            if recorder is not None:
                self.conn = recorder.connection_opened(config.id, url, time.time())
            self.opened_at = time.monotonic()
            self.watchdog.start(self.opened_at)
            self.opened.set()
            log.info("venue connected", extra={"venue": name, "url": url.split("?")[0]})
            context.metrics.venue_connected(name, True)
            context.health.venue_state(name, ConnectionState.CONNECTED)
            loop = asyncio.get_running_loop()
            helpers = [loop.create_task(self._watchdog()), loop.create_task(self._writer(ws))]
            keepalive = self.protocol.keepalive()
            if keepalive is not None:
                helpers.append(loop.create_task(self._keepalive(ws, keepalive)))
            try:
                for request_frame in self.protocol.subscribe_frames():
                    self._send(request_frame)
                async with self.lock:
                    try:
                        opened = self.protocol.on_open()
                    except Exception as exc:
                        opened = self._internal_error(exc, "")
                    await self._handle(opened, time.monotonic_ns())
                await self._read(ws)
            finally:
                for task in (*helpers, *self.snapshot_tasks):
                    task.cancel()
                await asyncio.gather(*helpers, *self.snapshot_tasks, return_exceptions=True)
                if recorder is not None:
                    recorder.connection_closed(config.id, self.conn)
        if self.broken is not None:
            raise self.broken
        if self.outbox_full:
            raise OutboxFullError(f"more than {OUTBOX_MAX_FRAMES} frames waited to be sent")
        if self.stale is not None:
            raise StaleConnectionError(self.stale)
        if not self.closing:
            raise ConnectionError("venue closed the connection")

    def _send(self, frame: str) -> None:
        """Queue a frame for the writer; a full outbox drops the connection.

        The venue stopped reading, so no closing handshake could complete: the
        TCP connection is aborted (no task is left behind) and :meth:`run`
        raises :class:`OutboxFullError`, which reconnects.
        """
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            if not self.outbox_full and self.ws is not None:
                self.outbox_full = True
                self.ws.transport.abort()

    async def _writer(self, ws: ClientConnection) -> None:
        """Send the outbox in order, at most one frame per ``subscribe_interval_s``."""
        interval_s = self.context.subscribe_interval_s
        last_sent = -interval_s
        while True:
            frame = await self.outbox.get()
            wait_s = last_sent + interval_s - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            await ws.send(frame)
            last_sent = time.monotonic()
            self._record_sent(frame)

    async def _keepalive(self, ws: ClientConnection, keepalive: Keepalive) -> None:
        """Send the venue's ping frame every ``keepalive.interval_s``."""
        while True:
            await asyncio.sleep(keepalive.interval_s)
            await ws.send(keepalive.frame)
            self._record_sent(keepalive.frame)

    def _record_sent(self, frame: str) -> None:
        recorder = self.context.recorder
        if recorder is not None:
            recorder.frame_sent(self.context.config.id, self.conn, frame, time.time())

    async def _read(self, ws: ClientConnection) -> None:
        context = self.context
        venue = context.name
        limit = context.config.max_frame_bytes
        protocol = self.protocol
        count_frame = context.count_frame
        recorder = context.recorder
        venue_id = context.config.id
        async for frame in ws:
            read_ns = time.monotonic_ns()
            received_at_ms = now_ms()
            if recorder is not None:
                recorder.frame_received(venue_id, self.conn, frame, time.time())
            count_frame()
            self.first_frame.set()
            context.health.venue_message(venue, received_at_ms)
            if len(frame) > limit:
                self._reject("oversized", f"{len(frame)} bytes > {limit}")
                continue
            async with self.lock:
                try:
                    outcome = protocol.on_frame(frame, received_at_ms)
                except FrameError as exc:
                    self._reject(exc.reason, exc.detail)
                    continue
                except Exception as exc:
                    outcome = self._internal_error(exc, frame)
                await self._handle(outcome, read_ns)
            if self.closing:
                break

    def _reject(self, reason: str, detail: str) -> None:
        """Count a skipped frame (and log it, except for unsubscribed instruments)."""
        venue = self.context.config.id
        self.context.metrics.frame_rejected(venue, reason)
        if reason != "unsubscribed":
            log.debug(
                "frame skipped", extra={"venue": venue, "reason": reason, "detail": detail[:200]}
            )

    def _internal_error(self, exc: Exception, frame: str | bytes) -> FrameOutcome:
        """Count and log an unexpected exception of the protocol; resync every book.

        Returns:
            the outcome of ``resync_books(None, "internal_error")``, to handle.

        Raises:
            ProtocolStateError: that resync raised too (the session ends).
        """
        context = self.context
        venue = context.config.id
        context.metrics.frame_rejected(venue, INTERNAL_ERROR)
        suppressed = context.error_log.allow((venue, type(exc).__name__))
        if suppressed is not None:
            log.error(
                "unexpected error while handling a frame; resyncing every book",
                extra={
                    "venue": venue,
                    "connection": context.name,
                    "error_type": type(exc).__name__,
                    "error": clip(exc),
                    "frame": clip(frame),
                    "suppressed": suppressed,
                },
            )
        return self._resync_books(None, INTERNAL_ERROR)

    def _resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """``protocol.resync_books``; if it raises, the session is marked broken.

        Raises:
            ProtocolStateError: the protocol raised (also kept in :attr:`broken`).
        """
        try:
            return self.protocol.resync_books(instruments, reason)
        except Exception as exc:
            log.error(
                "book resync failed, replacing the connection",
                extra={
                    "venue": self.context.config.id,
                    "connection": self.context.name,
                    "error_type": type(exc).__name__,
                    "error": clip(exc),
                },
            )
            self.broken = ProtocolStateError(
                f"resync_books raised {type(exc).__name__}: {clip(exc)}"
            )
            raise self.broken from exc

    async def resync(self, instruments: Collection[str], reason: str) -> None:
        """Resync these books now, as a frame's outcome would; if the protocol raises, close.

        See :meth:`~relay.infrastructure.connection.venue_connection.VenueConnection.resync_book`.
        """
        async with self.lock:
            if self.closing or self.broken is not None:
                return
            try:
                outcome = self._resync_books(instruments, reason)
            except ProtocolStateError:
                pass
            else:
                await self._handle(outcome, time.monotonic_ns())
        if self.broken is not None and self.ws is not None:
            await self.ws.close(code=1011, reason="internal error")

    async def change(self, step: Callable[[VenueProtocol], FrameOutcome | None]) -> bool:
        """Run ``step`` on the protocol under the session's lock and handle its outcome.

        For a runtime subscribe or unsubscribe (:meth:`VenueProtocol.subscribe`).
        Returns False only when ``step`` returned None (the protocol cannot make
        this change on an open connection). A closing session is left alone (the
        next one reads its connection's config) and True is returned. If ``step``
        raises, the protocol's state cannot be trusted: the connection is
        replaced (the new one reads what its config says) and True is returned.
        """
        async with self.lock:
            if self.closing or self.broken is not None:
                return True
            try:
                outcome = step(self.protocol)
            except Exception as exc:
                log.error(
                    "runtime subscription change failed, replacing the connection",
                    extra={
                        "venue": self.context.config.id,
                        "connection": self.context.name,
                        "error_type": type(exc).__name__,
                        "error": clip(exc),
                    },
                )
                self.broken = ProtocolStateError(f"{type(exc).__name__}: {clip(exc)}")
            else:
                if outcome is None:
                    return False
                await self._handle(outcome, time.monotonic_ns())
        if self.broken is not None and self.ws is not None:
            await self.ws.close(code=1011, reason="internal error")
        return True

    async def _handle(self, outcome: FrameOutcome, read_ns: int) -> None:
        context = self.context
        venue = context.config.id
        now = time.monotonic()
        handover = self.handover
        last_data_s = self.watchdog.last_data_s
        for event in outcome.events:
            context.metrics.event_received(venue, event.data_type.value)
            last_data_s[(event.instrument.instrument, event.data_type)] = now
            if self.hold:
                self.held.append((event, read_ns))
            else:
                await context.publish(event, read_ns)
            if handover is not None:
                handover.saw(event.msg_id, self.hold)
        for request in outcome.snapshot_requests:
            if request.reason != "initial":
                self._count_resync(request.instrument.instrument, request.reason)
            task = asyncio.get_running_loop().create_task(self._fetch_snapshot(request))
            self.snapshot_tasks.add(task)
            task.add_done_callback(self._snapshot_done)
        for resync in outcome.resyncs:
            self._count_resync(resync.instrument.instrument, resync.reason)
        for reply in outcome.replies:
            self._send(reply)

    def _count_resync(self, instrument: str, reason: str) -> None:
        """Count every resync; log at most one line per book and reason per interval."""
        venue = self.context.config.id
        self.context.metrics.book_resync(venue, instrument, reason)
        suppressed = self.context.error_log.allow(("resync", venue, instrument, reason))
        if suppressed is not None:
            log.warning(
                "order book resync",
                extra={
                    "venue": venue,
                    "instrument": instrument,
                    "reason": reason,
                    "suppressed": suppressed,
                },
            )

    def _snapshot_done(self, task: asyncio.Task[None]) -> None:
        self.snapshot_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "snapshot task failed",
                exc_info=task.exception(),
                extra={"venue": self.context.config.id},
            )

    async def _fetch_snapshot(self, request: SnapshotRequest) -> None:
        body = await self.context.fetch(request)
        read_ns = time.monotonic_ns()
        async with self.lock:
            if self.closing or self.broken is not None:
                return
            try:
                outcome = self.protocol.on_snapshot(request, body, now_ms())
            except FrameError as exc:
                self._reject(exc.reason, exc.detail)
                outcome = FrameOutcome(
                    [],
                    [SnapshotRequest(request.instrument, request.path, exc.reason, request.weight)],
                    [],
                )
            except Exception as exc:
                try:
                    outcome = self._internal_error(exc, body)
                except ProtocolStateError:
                    outcome = FrameOutcome([], [], [])
            await self._handle(outcome, read_ns)
        if self.broken is not None and self.ws is not None:
            await self.ws.close(code=1011, reason="internal error")

    async def _watchdog(self) -> None:
        """Wait until a subscription is stale; count, log and close the connection."""
        (instrument, data_type), silent_s = await self.watchdog.wait_stale()
        venue = self.context.config.id
        self.context.metrics.stale_reconnect(venue, data_type.value)
        log.warning(
            "subscription stale, replacing the connection",
            extra={
                "venue": venue,
                "instrument": instrument,
                "data_type": data_type.value,
                "silent_s": round(silent_s, 3),
            },
        )
        self.stale = f"{instrument} {data_type.value} silent for {silent_s:.1f} s"
        if self.ws is not None:
            await self.ws.close(code=1000, reason="stale")

    async def release(self) -> None:
        """Stop holding: publish the held events (the pipeline drops ones already published)."""
        async with self.lock:
            held, self.held, self.hold = self.held, [], False
            self.handover = None
            self.live.set()
            for event, read_ns in held:
                await self.context.publish(event, read_ns)

    async def close(self) -> None:
        """Stop reading after the frame being handled; the session's ``run`` then returns."""
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
