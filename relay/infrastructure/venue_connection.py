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
- Planned rotation before the venue's own connection age limit (Binance: 24 h):
  the new connection is opened and its events held; the old one keeps
  publishing until it has caught up with the new one (it published an event the
  new one holds, or :data:`CATCH_UP_TIMEOUT_S` passed), so frames it had not yet
  read when the new one started are not lost. Then it is closed, and the held
  events the old one already published are suppressed by the pipeline: nothing
  is missed and nothing is published twice.
- REST snapshots: a token bucket with the venue's request weights; 429, 418,
  5xx and timeouts are retried with backoff, honouring ``Retry-After``.
- Each connection attempt is a :class:`~relay.infrastructure.venue_session.Session`
  (outbox, watchdog, frame isolation: see its module).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine

import httpx
import websockets
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

from relay.application.circuit_breaker import BreakerConfig, BreakerState, CircuitBreaker
from relay.application.health import ConnectionState, HealthMonitor
from relay.application.log_rate_limit import LogRateLimit
from relay.application.ports import MetricsSink, SnapshotRequest
from relay.application.rate_limit import TokenBucket, parse_retry_after
from relay.config.model import VenueConfig
from relay.domain.errors import RelayError
from relay.domain.model import MarketEvent
from relay.infrastructure.venue_session import INTERNAL_ERROR_LOG_INTERVAL_S, Handover, Session
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

_RETRY_STATUS = frozenset({418, 429}) | frozenset(range(500, 600))

class SnapshotFetchError(RelayError):
    """A REST snapshot answer to retry (429, 418, 5xx), with the venue's Retry-After if sent."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class _StableConnectionLost(Exception):
    """A connection that had been up longer than ``stable_after_s`` was lost."""


_CONNECTION_ERRORS = (OSError, TimeoutError, websockets.exceptions.WebSocketException)


async def _first_done(event: asyncio.Event, task: asyncio.Task[object], timeout_s: float) -> bool:
    """Wait until ``event`` is set, ``task`` ends or ``timeout_s`` passes; True if it was set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait((waiter, task), timeout=timeout_s,
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return event.is_set()


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
        error_log: the rate limit of "unexpected error" lines (one per venue and
            exception type) and "order book resync" lines (one per book and
            reason); default: one every
            :data:`~relay.infrastructure.venue_session.INTERNAL_ERROR_LOG_INTERVAL_S`).
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
        self._current: Session | None = None
        self._current_task: asyncio.Task[object] | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    def _breaker_changed(self, name: str, old: BreakerState, new: BreakerState) -> None:
        log.warning("circuit breaker " + new.value,
                    extra={"venue": name, "from": old.value, "to": new.value})
        self.metrics.circuit_state(name, new)
        self.health.venue_circuit(name, new)

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
        session = self._current = Session(self, hold=False)
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

    async def _run_session(self, session: Session) -> None:
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

    async def _stable_timer(self, session: Session) -> None:
        await session.opened.wait()
        await asyncio.sleep(self.config.stable_after_s)
        self.breaker.record_success(time.monotonic())

    async def _rotation_timer(self, old: Session) -> None:
        await old.opened.wait()
        await asyncio.sleep(self.rotate_after_s)
        # A held connection is rotated only once handed over to: one that never gets its
        # first frame is closed by its own rotation, which cancels this timer.
        await old.live.wait()
        # Its own task: closing ``old`` cancels this timer, not the handover.
        self._spawn(self.rotate(old))

    async def rotate(self, old: Session | None = None) -> bool:
        """Replace the current connection without a gap; returns False if the new one failed.

        The new connection is opened and read while the old one still publishes;
        its events are held. Once it has received its first frame and the old
        one has caught up with it (see :class:`~.venue_session.Handover`; at most
        :data:`CATCH_UP_TIMEOUT_S`), the old one is closed after the frame it is
        handling, and the held events go to the pipeline, which drops those the
        old connection had already published.
        """
        old = old or self._current
        if old is None:
            return False
        venue = self.config.id
        new = Session(self, hold=True)
        handover = old.handover = new.handover = Handover()
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
