"""One venue's WebSocket connection: connect, read, hand frames to the venue protocol, reconnect.

The venue-specific work (URL, subscribe frames, parsing, book rules) is the
sans-IO :class:`relay.application.ports.VenueProtocol`; this module only moves
bytes: WebSocket frames in, REST snapshots fetched with httpx, events out to
the pipeline. A fresh protocol instance is made for every connection attempt,
so every book is re-synchronized after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import httpx
import websockets
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from websockets.asyncio.client import ClientConnection

from relay.application.errors import FrameError
from relay.application.health import ConnectionState, HealthMonitor
from relay.application.ports import FrameOutcome, MetricsSink, SnapshotRequest, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import MarketEvent
from relay.infrastructure.venues.registry import VenueSpec

log = logging.getLogger("relay.venue")

MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Largest WebSocket frame accepted (a 1000-level snapshot is well below)."""


class SnapshotFetchError(Exception):
    """A REST snapshot answer that should be retried (429, 5xx)."""


class VenueConnection:
    """Keeps one venue connected and its events flowing into ``publish``.

    Args:
        spec: the registered venue.
        config: its ``[[venues]]`` section.
        publish: the pipeline's ``put`` (awaits while the queue is full).
        metrics, health: where states and counts go.
        http: the shared httpx client for REST snapshots.
    """

    def __init__(
        self,
        spec: VenueSpec,
        config: VenueConfig,
        publish: Callable[[MarketEvent], Awaitable[None]],
        metrics: MetricsSink,
        health: HealthMonitor,
        http: httpx.AsyncClient,
    ) -> None:
        self._spec = spec
        self._config = config
        self._publish = publish
        self._metrics = metrics
        self._health = health
        self._http = http
        self._rest_base = (config.rest_url or spec.default_rest_url).rstrip("/")
        self._lock = asyncio.Lock()
        self.frames = 0

    async def run(self) -> None:
        """Connect and read until cancelled.

        A lost connection is re-opened after a full-jitter exponential wait
        (``reconnect_base_s`` doubling up to ``reconnect_cap_s``, tenacity's
        ``wait_random_exponential``); a connection that stayed up longer than
        ``reconnect_cap_s`` resets the backoff, so its loss reconnects at once.
        """
        while True:
            try:
                async for attempt in AsyncRetrying(
                    wait=wait_random_exponential(
                        multiplier=self._config.reconnect_base_s, max=self._config.reconnect_cap_s
                    ),
                    retry=retry_if_exception_type(_CONNECTION_ERRORS),
                    before_sleep=self._before_reconnect,
                ):
                    with attempt:
                        await self._connect_once()
            except _StableConnectionLost:
                self._metrics.reconnect(self._config.id)

    def _before_reconnect(self, state: RetryCallState) -> None:
        self._metrics.reconnect(self._config.id)
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "venue connection lost, reconnecting",
            extra={"venue": self._config.id, "error": repr(error),
                   "attempt": state.attempt_number,
                   "wait_s": round(state.upcoming_sleep, 3)},
        )

    async def _connect_once(self) -> None:
        venue = self._config.id
        self._health.venue_state(venue, ConnectionState.CONNECTING)
        started = time.monotonic()
        try:
            await self._session()
        except _CONNECTION_ERRORS as exc:
            if time.monotonic() - started > self._config.reconnect_cap_s:
                log.warning("venue connection lost", extra={"venue": venue, "error": repr(exc)})
                raise _StableConnectionLost from exc
            raise
        finally:
            self._metrics.venue_connected(venue, False)
            self._health.venue_state(venue, ConnectionState.DISCONNECTED)

    async def _session(self) -> None:
        protocol = self._spec.protocol_factory(self._config)
        url = protocol.ws_url()
        venue = self._config.id
        async with websockets.connect(
            url, max_size=MAX_FRAME_BYTES, open_timeout=10, ping_interval=20, ping_timeout=20
        ) as ws, asyncio.TaskGroup() as tasks:
            log.info("venue connected", extra={"venue": venue, "url": url.split("?")[0]})
            self._metrics.venue_connected(venue, True)
            self._health.venue_state(venue, ConnectionState.CONNECTED)
            for request_frame in protocol.subscribe_frames():
                await ws.send(request_frame)
            await self._handle(protocol.on_open(), ws, tasks, protocol)
            async for frame in ws:
                received_at_ms = time.time_ns() // 1_000_000
                self.frames += 1
                self._health.venue_message(venue, received_at_ms)
                async with self._lock:
                    try:
                        outcome = protocol.on_frame(frame, received_at_ms)
                    except FrameError as exc:
                        self._metrics.frame_rejected(venue, exc.reason)
                        if exc.reason != "unsubscribed":
                            log.debug("frame skipped", extra={"venue": venue, "error": str(exc)})
                        continue
                    await self._handle(outcome, ws, tasks, protocol)
            raise ConnectionError("venue closed the connection")  # ConnectionError is an OSError

    async def _handle(
        self,
        outcome: FrameOutcome,
        ws: ClientConnection,
        tasks: asyncio.TaskGroup,
        protocol: VenueProtocol,
    ) -> None:
        venue = self._config.id
        for event in outcome.events:
            self._metrics.event_received(venue, event.data_type.value)
            await self._publish(event)
        for request in outcome.snapshot_requests:
            if request.reason != "initial":
                self._metrics.book_resync(venue, request.instrument.instrument, request.reason)
                log.warning(
                    "order book resync",
                    extra={"venue": venue, "instrument": request.instrument.instrument,
                           "reason": request.reason},
                )
            tasks.create_task(self._fetch_snapshot(request, ws, tasks, protocol))
        for reply in outcome.replies:
            await ws.send(reply)

    async def _fetch_snapshot(
        self,
        request: SnapshotRequest,
        ws: ClientConnection,
        tasks: asyncio.TaskGroup,
        protocol: VenueProtocol,
    ) -> None:
        venue = self._config.id
        url = self._rest_base + request.path
        async for attempt in AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.5, max=10.0),
            stop=stop_after_attempt(8),
            retry=retry_if_exception_type((httpx.HTTPError, SnapshotFetchError)),
            reraise=True,
        ):
            with attempt:
                response = await self._http.get(url, timeout=self._config.snapshot_timeout_s)
                if response.status_code == 429 or response.status_code >= 500:
                    raise SnapshotFetchError(f"{url}: HTTP {response.status_code}")
                response.raise_for_status()
        received_at_ms = time.time_ns() // 1_000_000
        async with self._lock:
            try:
                outcome = protocol.on_snapshot(request, response.content, received_at_ms)
            except FrameError as exc:
                self._metrics.frame_rejected(venue, exc.reason)
                log.warning("snapshot unusable", extra={"venue": venue, "error": str(exc)})
                outcome = FrameOutcome([], [SnapshotRequest(
                    request.instrument, request.path, exc.reason, request.weight)], [])
            await self._handle(outcome, ws, tasks, protocol)


class _StableConnectionLost(Exception):
    """A connection that had been up longer than the backoff cap was lost."""


_CONNECTION_ERRORS = (OSError, TimeoutError, websockets.exceptions.WebSocketException)
