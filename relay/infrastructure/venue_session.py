"""One WebSocket session of a venue connection: its protocol instance, reader, writer, watchdog.

:class:`~relay.infrastructure.venue_connection.VenueConnection` opens a
:class:`Session` per connection attempt (and one more during a rotation). A
session owns one fresh sans-IO protocol instance, so every book starts
unsynced; it reads frames, hands them to the protocol under its lock, and
handles the outcome: events to the pipeline (or held, during a rotation), REST
snapshots fetched, replies sent, resyncs counted.

- Frames to the venue (subscribe frames, replies, book resyncs) go through one
  bounded outbox (:data:`OUTBOX_MAX_FRAMES`) whose writer keeps the venue's
  ``subscribe_interval_s`` between two frames; reading never waits for it. A
  full outbox means the venue stopped reading: the connection is replaced.
- Books resynchronized over the WebSocket (:class:`~relay.application.ports.BookResync`)
  are counted per venue, instrument and reason, like REST snapshot resyncs; their
  log line is written at most once per book and reason every
  :data:`INTERNAL_ERROR_LOG_INTERVAL_S` (then with the count held back).
- A staleness watchdog per (instrument, data type): no data for
  ``stale_after_s`` replaces the connection.
- Frames larger than ``max_frame_bytes`` are counted (``oversized``) and skipped.
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
from collections.abc import Collection
from typing import TYPE_CHECKING

import websockets
from websockets.asyncio.client import ClientConnection

from relay.application.errors import FrameError
from relay.application.health import ConnectionState
from relay.application.ports import FrameOutcome, Keepalive, SnapshotRequest
from relay.domain.model import DataType, MarketEvent

if TYPE_CHECKING:
    from relay.infrastructure.venue_connection import VenueConnection

log = logging.getLogger("relay.venue")

WATCHDOG_INTERVAL_S = 0.5

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
    return time.time_ns() // 1_000_000


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
        owner: the venue connection it belongs to (config, metrics, publish, REST fetch).
        hold: keep the events instead of publishing them (the new side of a
            rotation) until :meth:`release`.
    """

    def __init__(self, owner: VenueConnection, hold: bool) -> None:
        self.owner = owner
        self.protocol = owner.spec.protocol_factory(owner.config)
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
        self.last_data: dict[tuple[str, DataType], float] = {}
        self.stale: str | None = None
        self.outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_MAX_FRAMES)
        self.outbox_full = False
        self.broken: ProtocolStateError | None = None

    async def run(self) -> None:
        """Connect and read until the connection ends (normally only through :meth:`close`)."""
        owner = self.owner
        config = owner.config
        name = owner.name
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
            self.opened_at = time.monotonic()
            for key in owner.watched:
                self.last_data[key] = self.opened_at
            self.opened.set()
            log.info("venue connected", extra={"venue": name, "url": url.split("?")[0]})
            owner.metrics.venue_connected(name, True)
            owner.health.venue_state(name, ConnectionState.CONNECTED)
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
        interval_s = self.owner.spec.subscribe_interval_s
        last_sent = -interval_s
        while True:
            frame = await self.outbox.get()
            wait_s = last_sent + interval_s - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            await ws.send(frame)
            last_sent = time.monotonic()

    async def _keepalive(self, ws: ClientConnection, keepalive: Keepalive) -> None:
        """Send the venue's ping frame every ``keepalive.interval_s``."""
        while True:
            await asyncio.sleep(keepalive.interval_s)
            await ws.send(keepalive.frame)

    async def _read(self, ws: ClientConnection) -> None:
        owner = self.owner
        venue = owner.name
        limit = owner.config.max_frame_bytes
        protocol = self.protocol
        async for frame in ws:
            read_ns = time.monotonic_ns()
            received_at_ms = now_ms()
            owner.frames += 1
            self.first_frame.set()
            owner.health.venue_message(venue, received_at_ms)
            if len(frame) > limit:
                owner.reject("oversized", f"{len(frame)} bytes > {limit}")
                continue
            async with self.lock:
                try:
                    outcome = protocol.on_frame(frame, received_at_ms)
                except FrameError as exc:
                    owner.reject(exc.reason, exc.detail)
                    continue
                except Exception as exc:
                    outcome = self._internal_error(exc, frame)
                await self._handle(outcome, read_ns)
            if self.closing:
                break

    def _internal_error(self, exc: Exception, frame: str | bytes) -> FrameOutcome:
        """Count and log an unexpected exception of the protocol; resync every book.

        Returns:
            the outcome of ``resync_books(None, "internal_error")``, to handle.

        Raises:
            ProtocolStateError: that resync raised too (the session ends).
        """
        owner = self.owner
        venue = owner.config.id
        owner.metrics.frame_rejected(venue, INTERNAL_ERROR)
        suppressed = owner.error_log.allow((venue, type(exc).__name__))
        if suppressed is not None:
            log.error(
                "unexpected error while handling a frame; resyncing every book",
                extra={"venue": venue, "connection": owner.name,
                       "error_type": type(exc).__name__, "error": clip(exc),
                       "frame": clip(frame), "suppressed": suppressed},
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
            log.error("book resync failed, replacing the connection",
                      extra={"venue": self.owner.config.id, "connection": self.owner.name,
                             "error_type": type(exc).__name__, "error": clip(exc)})
            self.broken = ProtocolStateError(
                f"resync_books raised {type(exc).__name__}: {clip(exc)}")
            raise self.broken from exc

    async def resync(self, instruments: Collection[str], reason: str) -> None:
        """Resync these books now, as a frame's outcome would (see
        :meth:`VenueConnection.resync_book`); if the protocol raises, close the connection."""
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

    async def _handle(self, outcome: FrameOutcome, read_ns: int) -> None:
        owner = self.owner
        venue = owner.config.id
        now = time.monotonic()
        handover = self.handover
        for event in outcome.events:
            owner.metrics.event_received(venue, event.data_type.value)
            self.last_data[(event.instrument.instrument, event.data_type)] = now
            if self.hold:
                self.held.append((event, read_ns))
            else:
                await owner.publish(event, read_ns)
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
        venue = self.owner.config.id
        self.owner.metrics.book_resync(venue, instrument, reason)
        suppressed = self.owner.error_log.allow(("resync", venue, instrument, reason))
        if suppressed is not None:
            log.warning("order book resync",
                        extra={"venue": venue, "instrument": instrument, "reason": reason,
                               "suppressed": suppressed})

    def _snapshot_done(self, task: asyncio.Task[None]) -> None:
        self.snapshot_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("snapshot task failed", exc_info=task.exception(),
                      extra={"venue": self.owner.config.id})

    async def _fetch_snapshot(self, request: SnapshotRequest) -> None:
        owner = self.owner
        body = await owner.fetch(request)
        read_ns = time.monotonic_ns()
        async with self.lock:
            if self.closing or self.broken is not None:
                return
            try:
                outcome = self.protocol.on_snapshot(request, body, now_ms())
            except FrameError as exc:
                owner.reject(exc.reason, exc.detail)
                outcome = FrameOutcome(
                    [], [SnapshotRequest(request.instrument, request.path, exc.reason,
                                         request.weight)], []
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
        thresholds = self.owner.watched
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            now = time.monotonic()
            for key, threshold_s in thresholds.items():
                silent_s = now - self.last_data.get(key, self.opened_at)
                if silent_s > threshold_s:
                    instrument, data_type = key
                    self.owner.metrics.stale_reconnect(self.owner.config.id, data_type.value)
                    log.warning(
                        "subscription stale, replacing the connection",
                        extra={"venue": self.owner.config.id, "instrument": instrument,
                               "data_type": data_type.value, "silent_s": round(silent_s, 3)},
                    )
                    self.stale = f"{instrument} {data_type.value} silent for {silent_s:.1f} s"
                    if self.ws is not None:
                        await self.ws.close(code=1000, reason="stale")
                    return

    async def release(self) -> None:
        """Stop holding: publish the held events (the pipeline drops ones already published)."""
        async with self.lock:
            held, self.held, self.hold = self.held, [], False
            self.handover = None
            self.live.set()
            for event, read_ns in held:
                await self.owner.publish(event, read_ns)

    async def close(self) -> None:
        """Stop reading after the frame being handled; the session's ``run`` then returns."""
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
