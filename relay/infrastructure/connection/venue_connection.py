"""One venue's WebSocket connection: connect, read, hand frames to the venue protocol, reconnect.

The venue-specific work (URL, subscribe frames, parsing, book rules) is the
sans-IO :class:`relay.application.ports.VenueProtocol`; this package only moves
bytes: WebSocket frames in, REST snapshots fetched with httpx, events out to
the pipeline. A fresh protocol instance is made for every connection, so every
order book is re-synchronized (new snapshot) before deltas flow again.

:class:`VenueConnection` wires the parts, each in its own module:

- :mod:`~relay.infrastructure.connection.reconnect`: full-jitter backoff and the
  circuit breaker (a stable connection resets the backoff and counts as a success).
- :mod:`~relay.infrastructure.connection.session`: one connection attempt
  (reader, outbox and writer, keepalive, frame isolation, WebSocket pings: no
  pong within ``pong_timeout_s`` replaces the connection).
- :mod:`~relay.infrastructure.connection.watchdog`: staleness per subscription.
- :mod:`~relay.infrastructure.connection.rotation`: planned rotation before the
  venue's own age limit, or when the venue asks for a reconnect
  (:attr:`~relay.application.ports.FrameOutcome.reconnect`), without a gap or a duplicate.
- :mod:`~relay.infrastructure.connection.rest`: REST snapshots, rate-limited and
  retried, honouring ``Retry-After``.
- :mod:`~relay.infrastructure.connection.polling`: the venue's REST polls (data
  only offered over REST, and the fallback while the WebSocket is down), told
  when the WebSocket is lost (the connection ends) and back (a session's first
  frame).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from dataclasses import replace

import httpx

from relay.application.health import ConnectionState, HealthMonitor
from relay.application.log_rate_limit import LogRateLimit
from relay.application.ports import MetricsSink, TrafficRecorder
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, MarketEvent
from relay.infrastructure.connection.polling import RestPoller
from relay.infrastructure.connection.reconnect import (
    CONNECTION_ERRORS,
    StableConnectionLost,
    connection_breaker,
    reconnect_attempts,
    wait_for_breaker,
)
from relay.infrastructure.connection.rest import RestClient, rest_bucket
from relay.infrastructure.connection.rotation import hand_over, rotate_after_s
from relay.infrastructure.connection.session import (
    INTERNAL_ERROR_LOG_INTERVAL_S,
    Session,
    SessionContext,
)
from relay.infrastructure.connection.watchdog import watched_subscriptions
from relay.infrastructure.venues.registry import VenueSpec

log = logging.getLogger("relay.venue")


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
            :data:`~relay.infrastructure.connection.session.INTERNAL_ERROR_LOG_INTERVAL_S`).
        recorder: where the connection's raw traffic (frames both ways, REST
            answers) is recorded (``[recording]``); None: not recorded.
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
        recorder: TrafficRecorder | None = None,
    ) -> None:
        self.spec = spec
        self.config = config
        self.name = name or config.id
        self.metrics = metrics
        self.health = health
        self.breaker = connection_breaker(self.name, config, metrics, health)
        self.rest = RestClient(
            http,
            config.rest_url or spec.default_rest_url,
            config.id,
            rest_bucket(
                config.rest_weight_per_minute or spec.rest_weight_per_minute, time.monotonic()
            ),
            config.snapshot_timeout_s,
            metrics,
            recorder,
        )
        self.rotate_after_s = rotate_after_s(config, spec.max_connection_age_s)
        self.frames = 0
        self._rest_only = spec.rest_polling.polled_types if spec.rest_polling else frozenset()
        """Data types polled over REST, never on the WebSocket: never watched for silence."""
        self._watched = watched_subscriptions(config, self._rest_only)
        self.context = SessionContext(
            config=config,
            name=self.name,
            subscribe_interval_s=spec.subscribe_interval_s,
            watched=self._watched,
            publish=publish,
            fetch=self.rest.fetch,
            metrics=metrics,
            health=health,
            error_log=error_log or LogRateLimit(INTERNAL_ERROR_LOG_INTERVAL_S),
            count_frame=self._count_frame,
            recorder=recorder,
            connect_wait_s=spec.connect_wait_s,
        )
        self.poller = (
            None
            if spec.rest_polling is None
            else RestPoller(
                config,
                self.name,
                spec.rest_polling,
                self.rest,
                publish,
                metrics,
                self._rest_answer,
            )
        )
        self._config_changed = asyncio.Event()
        """Set when a runtime change altered the subscriptions (a REST-only connection may
        now need its WebSocket)."""
        self._stopping = asyncio.Event()
        """Set by :meth:`stop_reading`: no new connection attempt, no backoff wait."""
        self._current: Session | None = None
        self._current_task: asyncio.Task[object] | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    def _count_frame(self) -> None:
        self.frames += 1

    def _rest_answer(self, received_at_ms: int) -> None:
        """A REST poll answered: the connection's last message while it has no WebSocket
        (one with a WebSocket is judged by its frames alone, so polls never hide a
        silent WebSocket)."""
        if not self.needs_websocket:
            self.health.venue_message(self.name, received_at_ms)

    def _session(self, hold: bool) -> Session:
        """A new session with a fresh protocol instance (every book unsynced)."""
        return Session(self.context, self.spec.protocol_factory(self.config), hold)

    async def run(self) -> None:
        """Connect and read until cancelled or :meth:`stop_reading` is called.

        The venue's REST poller (if it declares endpoints) runs beside it and is
        cancelled when it returns.
        """
        poller = None if self.poller is None else self._spawn_poller(self.poller)
        try:
            while not self._stopping.is_set():
                if not self.needs_websocket:
                    await self._poll_only()
                    continue
                try:
                    async for attempt in reconnect_attempts(
                        self.config, self.metrics, self._stopping
                    ):
                        with attempt:
                            await self._connect_once()
                except StableConnectionLost:
                    self.metrics.reconnect(self.config.id)
                except CONNECTION_ERRORS:
                    if not self._stopping.is_set():
                        raise
        finally:
            if poller is not None:
                poller.cancel()
                await asyncio.gather(poller, return_exceptions=True)

    @property
    def needs_websocket(self) -> bool:
        """A subscribed data type comes over the WebSocket (not all are polled over REST)."""
        return any(
            data_type not in self._rest_only
            for sub in self.config.subscriptions
            for data_type in sub.data_types
        )

    async def _poll_only(self) -> None:
        """No WebSocket is opened while every subscribed data type is polled over REST
        (a Binance connection of open interest only): the state is ``polling`` until a
        runtime change needs the WebSocket, or the stop."""
        self.health.venue_state(self.name, ConnectionState.POLLING)
        self._config_changed.clear()
        waits = [
            asyncio.ensure_future(self._config_changed.wait()),
            asyncio.ensure_future(self._stopping.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _spawn_poller(self, poller: RestPoller) -> asyncio.Task[None]:
        """The poller's task, owned by :meth:`run` (not in ``_tasks``, which each
        connection attempt cancels); if it ever ends on an exception, that is logged."""
        task = asyncio.get_running_loop().create_task(poller.run())
        task.add_done_callback(self._poller_done)
        return task

    def _poller_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "rest poller failed; REST polls stopped for this connection",
                exc_info=task.exception(),
                extra={"venue": self.name},
            )

    async def _connect_once(self) -> None:
        venue = self.name
        await wait_for_breaker(self.breaker, venue, self._stopping)
        if self._stopping.is_set() or not self.needs_websocket:
            return
        self.health.venue_state(venue, ConnectionState.CONNECTING)
        session = self._current = self._session(hold=False)
        task = self._current_task = self._spawn(self._run_session(session))
        try:
            while True:
                try:
                    await asyncio.shield(task)
                except CONNECTION_ERRORS as exc:
                    if self._stopping.is_set():
                        return
                    lived_s = time.monotonic() - (session.opened_at or time.monotonic())
                    if not session.opened_at or lived_s < self.config.stable_after_s:
                        self.breaker.record_failure(time.monotonic())
                        raise
                    log.warning("venue connection lost", extra={"venue": venue, "error": repr(exc)})
                    raise StableConnectionLost from exc
                if self._stopping.is_set():
                    return
                if self._current_task is task:
                    raise ConnectionError("venue connection ended")
                task, session = self._current_task, self._current
        finally:
            for pending in list(self._tasks):
                pending.cancel()
            self.metrics.venue_connected(venue, False)
            self.health.venue_state(venue, ConnectionState.DISCONNECTED)
            if self.poller is not None:
                self.poller.ws_lost()

    def _spawn(self, coroutine: Coroutine[object, object, object]) -> asyncio.Task[object]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_session(self, session: Session) -> None:
        """Run one session, with its stable-success timer and rotation timers (age, venue's ask)."""
        loop = asyncio.get_running_loop()
        timers = [
            loop.create_task(self._stable_timer(session)),
            loop.create_task(self._rotate_when_asked(session)),
        ]
        if self.poller is not None:
            timers.append(loop.create_task(self._first_frame(session, self.poller)))
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

    @staticmethod
    async def _first_frame(session: Session, poller: RestPoller) -> None:
        """Tell the poller the WebSocket is back once ``session`` reads its first frame."""
        await session.first_frame.wait()
        poller.ws_back()

    async def _rotation_timer(self, old: Session) -> None:
        await old.opened.wait()
        await asyncio.sleep(self.rotate_after_s)
        # A held connection is rotated only once handed over to: one that never gets its
        # first frame is closed by its own rotation, which cancels this timer.
        await old.live.wait()
        # Its own task: closing ``old`` cancels this timer, not the handover.
        self._spawn(self.rotate(old))

    async def _rotate_when_asked(self, old: Session) -> None:
        """Rotate ``old`` once the venue asks for a reconnect (a server going into
        maintenance): the new connection is opened before ``old`` is closed."""
        await old.reconnect_asked.wait()
        await old.live.wait()
        log.info("venue asked for a reconnect, rotating", extra={"venue": self.name})
        self._spawn(self.rotate(old))

    async def rotate(self, old: Session | None = None) -> bool:
        """Replace the current connection without a gap; returns False if the new one failed.

        The new connection is opened and read while the old one still publishes;
        its events are held. Once it has received its first frame and the old
        one has caught up with it (see
        :func:`~relay.infrastructure.connection.rotation.hand_over`), the old one
        is closed after the frame it is handling, and the held events go to the
        pipeline, which drops those the old connection had already published.
        """
        old = old or self._current
        if old is None:
            return False
        venue = self.config.id
        new = self._session(hold=True)
        task = self._spawn(self._run_session(new))
        if not await hand_over(old, new, task, venue):
            return False
        log.info("rotating venue connection", extra={"venue": venue})
        self.metrics.rotation(venue)
        self._current, self._current_task = new, task
        await old.close()
        await new.release()
        return True

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
        self._stopping.set()
        if self._current is not None:
            await self._current.close()

    @property
    def open(self) -> bool:
        """A session is connected now."""
        return self._current is not None and self._current.opened.is_set()

    async def subscribe(
        self, subscription: SubscriptionConfig, stale_after_s: Mapping[DataType, float]
    ) -> bool:
        """Add a subscription at runtime (the venue must support live subscribe).

        The connection's config gains it (merged with the instrument's entry, if
        any), so every later session subscribes it from the start; the open
        session, if any, subscribes it now
        (:meth:`~relay.application.ports.VenueProtocol.subscribe`) without
        touching its other books. ``stale_after_s``: the staleness threshold of
        each new data type (0 = not watched).

        Returns:
            False, with nothing changed, when the open session's protocol cannot
            make this change live (a topic shared with a stream it carries): the
            caller opens a connection for it instead.
        """
        previous = self.config
        subs = list(self.config.subscriptions)
        for index, sub in enumerate(subs):
            if sub.instrument == subscription.instrument:
                types = (
                    *sub.data_types,
                    *(d for d in subscription.data_types if d not in sub.data_types),
                )
                subs[index] = replace(
                    sub,
                    data_types=types,
                    depth=subscription.depth
                    if DataType.L2_ORDERBOOK in subscription.data_types
                    else sub.depth,
                    candle_interval=subscription.candle_interval
                    if DataType.CANDLE in subscription.data_types
                    else sub.candle_interval,
                )
                break
        else:
            subs.append(subscription)
        self.config = replace(self.config, subscriptions=tuple(subs))
        if self.poller is not None:
            self.poller.retarget(self.config)
        self._config_changed.set()
        session = self._current
        if (
            session is not None
            and session.opened.is_set()
            and not await session.change(lambda protocol: protocol.subscribe(subscription))
        ):
            self.config = previous
            if self.poller is not None:
                self.poller.retarget(previous)
            return False
        for data_type in subscription.data_types:
            self.set_stale_after(
                subscription.instrument, data_type, stale_after_s.get(data_type, 0.0)
            )
        return True

    async def unsubscribe(self, instrument: str, data_types: Collection[DataType]) -> bool:
        """Remove data types of an instrument at runtime; True when none is left here.

        The config loses them; the open session unsubscribes them if the venue
        can (:meth:`~relay.application.ports.VenueProtocol.unsubscribe`), else
        their frames are still read until the next session (the pipeline drops
        their events).
        """
        subs: list[SubscriptionConfig] = []
        for sub in self.config.subscriptions:
            if sub.instrument == instrument:
                left = tuple(d for d in sub.data_types if d not in data_types)
                if left:
                    subs.append(replace(sub, data_types=left))
            else:
                subs.append(sub)
        self.config = replace(self.config, subscriptions=tuple(subs))
        if self.poller is not None:
            self.poller.retarget(self.config)
        for data_type in data_types:
            self.set_stale_after(instrument, data_type, 0.0)
        session = self._current
        if subs and session is not None and session.opened.is_set():
            await session.change(lambda protocol: protocol.unsubscribe(instrument, data_types))
        return not subs

    def carries(self, instrument: str) -> bool:
        """The connection's config subscribes ``instrument``."""
        return any(sub.instrument == instrument for sub in self.config.subscriptions)

    def set_stale_after(self, instrument: str, data_type: DataType, stale_after_s: float) -> None:
        """Watch ``(instrument, data_type)`` for silence longer than ``stale_after_s`` (0: don't).

        Takes effect on the open session at once (a newly watched stream counts
        its silence from now) and on every later one.
        """
        key = (instrument, data_type)
        if stale_after_s <= 0 or data_type in self._rest_only:
            self._watched.pop(key, None)
            return
        if key not in self._watched and self._current is not None:
            self._current.watchdog.last_data_s[key] = time.monotonic()
        self._watched[key] = stale_after_s

    async def reconnect(self) -> None:
        """Close the open session, if any; the connection reconnects (every book resynced)."""
        session = self._current
        if session is not None and session.opened.is_set():
            await session.close()
