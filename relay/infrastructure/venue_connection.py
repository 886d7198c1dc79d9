"""One venue's WebSocket connection: connect, read, hand frames to the venue protocol, reconnect.

The venue-specific work (URL, subscribe frames, parsing, book rules) is the
sans-IO :class:`relay.application.ports.VenueProtocol`; this module only moves
bytes: WebSocket frames in, REST snapshots fetched with httpx, events out to
the pipeline. A fresh protocol instance is made for every connection, so every
order book is re-synchronized (new snapshot) before deltas flow again.

What keeps a connection honest:

- Reconnect with full-jitter exponential backoff (tenacity's
  ``wait_random_exponential``: ``reconnect_base_s`` doubling up to
  ``reconnect_cap_s``), reset once a connection has stayed up ``stable_after_s``.
- A per-venue circuit breaker: after ``breaker_failure_threshold`` failed or
  short-lived connections it opens and no attempt is made for
  ``breaker_reset_timeout_s``; then half-open, closed again after
  ``breaker_success_threshold`` stable connections.
- WebSocket ping frames every ``ping_interval_s``; no pong within
  ``pong_timeout_s`` replaces the connection. Venue-level pings: the protocol's
  :meth:`~relay.application.ports.VenueProtocol.keepalive` frame on its timer,
  and its ``replies`` to the venue's own pings.
- Frames to the venue (subscribe frames, replies, book resyncs) go through one
  bounded outbox (:data:`OUTBOX_MAX_FRAMES`) whose writer keeps the venue's
  ``subscribe_interval_s`` between two frames; reading never waits for it. A
  full outbox means the venue stopped reading: the connection is replaced.
- Books resynchronized over the WebSocket (:class:`~relay.application.ports.BookResync`)
  are counted per venue, instrument and reason, like REST snapshot resyncs.
- A staleness watchdog per (instrument, data type): no data for
  ``stale_after_s`` replaces the connection.
- Planned rotation before the venue's own connection age limit (Binance: 24 h):
  the new connection is opened and its events held; the old one keeps
  publishing until it has caught up with the new one (it published an event the
  new one holds, or :data:`CATCH_UP_TIMEOUT_S` passed), so frames it had not yet
  read when the new one started are not lost. Then it is closed, and the held
  events the old one already published are suppressed by the pipeline: nothing
  is missed and nothing is published twice.
- REST snapshots: a token bucket with the venue's request weights; 429, 418,
  5xx and timeouts are retried with backoff, honouring ``Retry-After``.
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
from collections.abc import Awaitable, Callable, Collection, Coroutine

import httpx
import websockets
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential
from websockets.asyncio.client import ClientConnection

from relay.application.circuit_breaker import BreakerConfig, BreakerState, CircuitBreaker
from relay.application.errors import FrameError
from relay.application.health import ConnectionState, HealthMonitor
from relay.application.ports import FrameOutcome, Keepalive, MetricsSink, SnapshotRequest
from relay.application.rate_limit import TokenBucket, parse_retry_after
from relay.config.model import VenueConfig
from relay.domain.model import DataType, MarketEvent
from relay.infrastructure.logs import LogRateLimit
from relay.infrastructure.venues.registry import VenueSpec

log = logging.getLogger("relay.venue")

ROTATION_MARGIN_S = 600.0
"""A connection is rotated this long before the venue's own age limit."""

HANDOVER_TIMEOUT_S = 30.0
"""How long a rotation waits for the new connection's first frame before it gives up."""

CATCH_UP_TIMEOUT_S = 10.0
"""How long, after that first frame, the old connection may take to catch up with the new one.

Past it the old connection is closed anyway (and a warning logged): what it had
not read by then is lost, which is what a connection behind by that much risks.
"""

WATCHDOG_INTERVAL_S = 0.5

OUTBOX_MAX_FRAMES = 10_000
"""Frames waiting to be sent to the venue on one connection; when full, the connection is
replaced."""

_RETRY_STATUS = frozenset({418, 429}) | frozenset(range(500, 600))

INTERNAL_ERROR_LOG_INTERVAL_S = 10.0
"""Least seconds between two "unexpected error" lines of one venue and exception type."""

CLIP_CHARS = 200
"""Characters of a frame (and of an exception's message) an error line carries."""

INTERNAL_ERROR = "internal_error"


class SnapshotFetchError(Exception):
    """A REST snapshot answer to retry (429, 418, 5xx), with the venue's Retry-After if sent."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StaleConnectionError(ConnectionError):
    """A subscription went without data for longer than its ``stale_after_s``."""


class OutboxFullError(ConnectionError):
    """More than :data:`OUTBOX_MAX_FRAMES` frames waited to be sent: the venue stopped reading."""


class ProtocolStateError(ConnectionError):
    """The venue protocol raised while resyncing its books: its state cannot be trusted.

    Raised out of the session so the connection is replaced (a fresh protocol
    instance, every book synced again) through the reconnect path.
    """


def _clip(value: object) -> str:
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


class _StableConnectionLost(Exception):
    """A connection that had been up longer than ``stable_after_s`` was lost."""


_CONNECTION_ERRORS = (OSError, TimeoutError, websockets.exceptions.WebSocketException)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _first_done(event: asyncio.Event, task: asyncio.Task[object], timeout_s: float) -> bool:
    """Wait until ``event`` is set, ``task`` ends or ``timeout_s`` passes; True if it was set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait((waiter, task), timeout=timeout_s,
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return event.is_set()


class _Handover:
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


class _Session:
    """One WebSocket connection and its protocol instance."""

    def __init__(self, owner: VenueConnection, hold: bool) -> None:
        self.owner = owner
        self.protocol = owner.spec.protocol_factory(owner.config)
        self.hold = hold
        self.held: list[tuple[MarketEvent, int]] = []
        self.handover: _Handover | None = None
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
            received_at_ms = _now_ms()
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
                       "error_type": type(exc).__name__, "error": _clip(exc),
                       "frame": _clip(frame), "suppressed": suppressed},
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
                             "error_type": type(exc).__name__, "error": _clip(exc)})
            self.broken = ProtocolStateError(
                f"resync_books raised {type(exc).__name__}: {_clip(exc)}")
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
        venue = self.owner.config.id
        self.owner.metrics.book_resync(venue, instrument, reason)
        log.warning("order book resync",
                    extra={"venue": venue, "instrument": instrument, "reason": reason})

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
                outcome = self.protocol.on_snapshot(request, body, _now_ms())
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


class VenueConnection:
    """Keeps one venue connected and its events flowing into ``publish`` (see module doc).

    Args:
        spec: the registered venue.
        config: its ``[[venues]]`` section.
        publish: the pipeline's ``put(event, read_ns)`` (awaits while the queue is full);
            ``read_ns`` is ``time.monotonic_ns()`` when the frame was read.
        metrics, health: where states and counts go.
        http: the shared httpx client for REST snapshots.
        name: the connection's name in ``/health``, the connected and circuit
            gauges and logs: the venue id, or ``<venue id>#<n>`` for the n-th
            connection of a venue served by several. Counters use the venue id.
        error_log: the rate limit of "unexpected error" lines (default: one per
            venue and exception type every :data:`INTERNAL_ERROR_LOG_INTERVAL_S`).
    """

    def __init__(
        self,
        spec: VenueSpec,
        config: VenueConfig,
        publish: Callable[[MarketEvent, int], Awaitable[None]],
        metrics: MetricsSink,
        health: HealthMonitor,
        http: httpx.AsyncClient,
        name: str = "",
        error_log: LogRateLimit | None = None,
    ) -> None:
        self.spec = spec
        self.config = config
        self.name = name or config.id
        self.publish = publish
        self.metrics = metrics
        self.health = health
        self._http = http
        self._rest_base = (config.rest_url or spec.default_rest_url).rstrip("/")
        self.breaker = CircuitBreaker(
            self.name,
            BreakerConfig(config.breaker_failure_threshold, config.breaker_reset_timeout_s,
                          config.breaker_success_threshold),
            on_change=self._breaker_changed,
        )
        per_minute = config.rest_weight_per_minute or spec.rest_weight_per_minute
        # Burst of a sixth of the limit, refill of the other five sixths over a minute:
        # no 60 s window can carry more than ``per_minute``.
        self.rest_bucket = TokenBucket(per_minute / 6, per_minute * 5 / 6 / 60, time.monotonic())
        age_limit = spec.max_connection_age_s
        self.rotate_after_s = config.rotate_after_s or (
            max(age_limit - ROTATION_MARGIN_S, age_limit / 2) if age_limit else 0.0
        )
        self.watched = {
            (sub.instrument, data_type): config.stale_after_s.for_type(data_type)
            for sub in config.subscriptions
            for data_type in sub.data_types
            if config.stale_after_s.for_type(data_type) > 0
        }
        self.frames = 0
        self.error_log = error_log or LogRateLimit(INTERNAL_ERROR_LOG_INTERVAL_S)
        self._stopping = False
        self._current: _Session | None = None
        self._current_task: asyncio.Task[object] | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    def _breaker_changed(self, name: str, old: BreakerState, new: BreakerState) -> None:
        log.warning("circuit breaker " + new.value,
                    extra={"venue": name, "from": old.value, "to": new.value})
        self.metrics.circuit_state(name, new.value)
        self.health.venue_circuit(name, new.value)

    def reject(self, reason: str, detail: str) -> None:
        """Count a skipped frame (and log it, except for unsubscribed instruments)."""
        self.metrics.frame_rejected(self.config.id, reason)
        if reason != "unsubscribed":
            log.debug("frame skipped", extra={"venue": self.config.id, "reason": reason,
                                              "detail": detail[:200]})

    async def run(self) -> None:
        """Connect and read until cancelled or :meth:`stop_reading` is called."""
        while not self._stopping:
            try:
                async for attempt in AsyncRetrying(
                    wait=wait_random_exponential(
                        multiplier=self.config.reconnect_base_s, max=self.config.reconnect_cap_s
                    ),
                    retry=retry_if_exception_type(_CONNECTION_ERRORS),
                    before_sleep=self._before_reconnect,
                ):
                    with attempt:
                        await self._connect_once()
            except _StableConnectionLost:
                self.metrics.reconnect(self.config.id)

    def _before_reconnect(self, state: RetryCallState) -> None:
        self.metrics.reconnect(self.config.id)
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "venue connection lost, reconnecting",
            extra={"venue": self.config.id, "error": repr(error),
                   "attempt": state.attempt_number,
                   "wait_s": round(state.upcoming_sleep, 3)},
        )

    async def _connect_once(self) -> None:
        venue = self.name
        wait_s = self.breaker.seconds_until_allowed(time.monotonic())
        if wait_s > 0:
            log.warning("circuit breaker open, waiting",
                        extra={"venue": venue, "wait_s": round(wait_s, 3)})
            await asyncio.sleep(wait_s)
        self.health.venue_state(venue, ConnectionState.CONNECTING)
        session = self._current = _Session(self, hold=False)
        task = self._current_task = self._spawn(self._run_session(session))
        try:
            while True:
                try:
                    await asyncio.shield(task)
                except _CONNECTION_ERRORS as exc:
                    if self._stopping:
                        return
                    lived_s = time.monotonic() - (session.opened_at or time.monotonic())
                    if not session.opened_at or lived_s < self.config.stable_after_s:
                        self.breaker.record_failure(time.monotonic())
                        raise
                    log.warning("venue connection lost",
                                extra={"venue": venue, "error": repr(exc)})
                    raise _StableConnectionLost from exc
                if self._stopping:
                    return
                if self._current_task is task:
                    raise ConnectionError("venue connection ended")
                task, session = self._current_task, self._current
        finally:
            for pending in list(self._tasks):
                pending.cancel()
            self.metrics.venue_connected(venue, False)
            self.health.venue_state(venue, ConnectionState.DISCONNECTED)

    def _spawn(self, coroutine: Coroutine[object, object, object]) -> asyncio.Task[object]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_session(self, session: _Session) -> None:
        """Run one session, with its stable-success timer and rotation timer."""
        loop = asyncio.get_running_loop()
        timers = [loop.create_task(self._stable_timer(session))]
        if self.rotate_after_s > 0:
            timers.append(loop.create_task(self._rotation_timer(session)))
        try:
            await session.run()
        finally:
            for timer in timers:
                timer.cancel()
            await asyncio.gather(*timers, return_exceptions=True)
            self.metrics.venue_connected(self.name, False)

    async def _stable_timer(self, session: _Session) -> None:
        await session.opened.wait()
        await asyncio.sleep(self.config.stable_after_s)
        self.breaker.record_success(time.monotonic())

    async def _rotation_timer(self, old: _Session) -> None:
        await old.opened.wait()
        await asyncio.sleep(self.rotate_after_s)
        # A held connection is rotated only once handed over to: one that never gets its
        # first frame is closed by its own rotation, which cancels this timer.
        await old.live.wait()
        # Its own task: closing ``old`` cancels this timer, not the handover.
        self._spawn(self.rotate(old))

    async def rotate(self, old: _Session | None = None) -> bool:
        """Replace the current connection without a gap; returns False if the new one failed.

        The new connection is opened and read while the old one still publishes;
        its events are held. Once it has received its first frame and the old
        one has caught up with it (see :class:`_Handover`; at most
        :data:`CATCH_UP_TIMEOUT_S`), the old one is closed after the frame it is
        handling, and the held events go to the pipeline, which drops those the
        old connection had already published.
        """
        old = old or self._current
        if old is None:
            return False
        venue = self.config.id
        new = _Session(self, hold=True)
        handover = old.handover = new.handover = _Handover()
        task = self._spawn(self._run_session(new))
        if not await _first_done(new.first_frame, task, HANDOVER_TIMEOUT_S):
            log.warning("rotation: new connection gave no frame; keeping the old one",
                        extra={"venue": venue})
            old.handover = None
            await new.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        if not await _first_done(handover.caught_up, task, CATCH_UP_TIMEOUT_S):
            log.warning("rotation: old connection did not catch up with the new one; "
                        "closing it anyway", extra={"venue": venue})
        old.handover = None
        if task.done():
            log.warning("rotation: new connection ended during the handover; keeping the old one",
                        extra={"venue": venue})
            await asyncio.gather(task, return_exceptions=True)
            return False
        log.info("rotating venue connection", extra={"venue": venue})
        self.metrics.rotation(venue)
        self._current, self._current_task = new, task
        await old.close()
        await new.release()
        return True

    async def fetch(self, request: SnapshotRequest) -> bytes:
        """GET a REST snapshot, rate-limited and retried until it succeeds or is cancelled."""
        url = self._rest_base + request.path
        venue = self.config.id
        async for attempt in AsyncRetrying(
            wait=_retry_after_or(wait_random_exponential(multiplier=0.5, max=30.0)),
            retry=retry_if_exception_type((httpx.HTTPError, SnapshotFetchError)),
            before_sleep=lambda state: log.warning(
                "snapshot request failed, retrying",
                extra={"venue": venue, "url": url,
                       "error": repr(state.outcome.exception() if state.outcome else None),
                       "wait_s": round(state.upcoming_sleep, 3)},
            ),
        ):
            with attempt:
                await self._acquire_rest(request.weight)
                response = await self._http.get(url, timeout=self.config.snapshot_timeout_s)
                self.metrics.rest_request(venue, str(response.status_code))
                if response.status_code in _RETRY_STATUS:
                    retry_after = parse_retry_after(
                        response.headers.get("Retry-After"), time.time()
                    )
                    if retry_after is not None:
                        self.rest_bucket.block_until(time.monotonic() + retry_after)
                    raise SnapshotFetchError(f"{url}: HTTP {response.status_code}", retry_after)
                response.raise_for_status()
        return response.content

    async def _acquire_rest(self, weight: float) -> None:
        """Wait until the token bucket grants ``weight`` (time-based: there is no event)."""
        while (wait_s := self.rest_bucket.try_acquire(weight, time.monotonic())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait_s)

    async def resync_book(self, instrument: str, reason: str) -> None:
        """Throw one book away and resync it on the live connection, counted under ``reason``.

        For a book the relay cannot vouch for (its snapshot could not be
        published completely): under the session's lock, as if a frame had
        asked for it, ``protocol.resync_books([instrument], reason)`` and its
        outcome is handled (REST snapshots fetched, unsubscribe + subscribe
        frames sent, ``relay_book_resyncs_total{reason}`` counted and logged).
        Nothing happens when no connection is open, or ``instrument`` has no
        book on it. If the protocol raises, the connection is replaced.

        Args:
            instrument: the venue instrument id, as configured (``"BTC-USDT"``).
            reason: a short word for the metric and log (``"incomplete_snapshot"``).
        """
        session = self._current
        if session is None or not session.opened.is_set():
            return
        await session.resync([instrument], reason)

    async def stop_reading(self) -> None:
        """Stop reading: the connection finishes the frame it is handling, then closes."""
        self._stopping = True
        if self._current is not None:
            await self._current.close()


def _retry_after_or(
    fallback: Callable[[RetryCallState], float],
) -> Callable[[RetryCallState], float]:
    """A tenacity wait: the venue's Retry-After when it sent one, else ``fallback``."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, SnapshotFetchError) and error.retry_after_s is not None:
            return error.retry_after_s
        return fallback(state)

    return wait
