"""REST polling of one venue connection: data offered only over REST, and the fallback.

The venue package declares its endpoints (:class:`~relay.application.rest_polls.RestPolling`);
a :class:`RestPoller` runs them with the connection's
:class:`~relay.infrastructure.connection.rest.RestClient` (the venue's token bucket and
tenacity retries, at most :data:`POLL_ATTEMPTS` attempts per poll) and puts the
events into the pipeline marked ``source = rest``. It knows no venue.

- **Polled** endpoints (open interest) run every ``rest_poll_interval_s`` for
  each instrument subscribed to their data type, as long as the connection runs.
- **Fallback** endpoints (trades, tickers) run every ``rest_fallback_interval_s``
  while the :class:`~relay.application.rest_polls.FallbackSwitch` is active: the
  WebSocket has been down longer than ``rest_fallback_after_s``. When the
  WebSocket delivers again, one last round is polled (it covers the trades
  between the previous poll and the WebSocket's first frame) and polling stops.
  ``relay_rest_fallback_active{venue}`` is 1 in between; the log says
  ``"rest fallback started"`` (warning) and ``"rest fallback stopped"`` (info).

Every poll is counted in ``relay_rest_polls_total{venue, endpoint, outcome}``:
``ok``; ``failed`` (every attempt got an error status, a transport error or a
timeout); ``bad_body`` (the venue's parser refused the answer, which is also
counted as ``relay_frames_rejected_total{reason="bad_rest_body"}``). A failed
poll is logged (at most once per endpoint every
:data:`~relay.infrastructure.connection.session.INTERNAL_ERROR_LOG_INTERVAL_S`) and
the next one comes at its turn; nothing is lost that a later poll can still
return.

No trade is published twice: the poller skips events whose message id it has
already put (a bounded set per endpoint and instrument, :data:`SEEN_IDS_PER_TARGET`,
oldest forgotten), and the pipeline's per-venue recent-id set drops a REST
event the WebSocket already delivered, or the other way round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import httpx

from relay.application.log_rate_limit import LogRateLimit
from relay.application.pipeline_streams import RecentIds
from relay.application.ports import MetricsSink, SnapshotRequest
from relay.application.rest_polls import FallbackState, FallbackSwitch, RestEndpoint, RestPolling
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import Instrument, MarketEvent, Source
from relay.infrastructure.cancellation import raise_if_cancelled
from relay.infrastructure.connection.rest import RestClient, SnapshotFetchError

log = logging.getLogger("relay.venue")

POLL_ATTEMPTS = 3
"""Attempts of one poll (the first and two retries) before it counts as ``failed``."""

SEEN_IDS_PER_TARGET = 4096
"""Message ids the poller remembers per endpoint and instrument (more than the 1000
trades one Binance answer holds), so a trade polled twice is put once."""

POLL_REASON = "poll"
"""The ``reason`` of the REST requests a poll makes (``SnapshotRequest.reason``)."""

Target = tuple[RestEndpoint, Instrument]


def poll_targets(
    endpoints: Sequence[RestEndpoint], config: VenueConfig
) -> tuple[tuple[RestEndpoint, Instrument], ...]:
    """Each (endpoint, instrument) to poll: the subscriptions with the endpoint's data type.

    In endpoint order, then configured subscription order.
    """
    return tuple(
        (endpoint, Instrument(config.id, sub.instrument, sub.canonical_symbol))
        for endpoint in endpoints
        for sub in config.subscriptions
        if endpoint.data_type in sub.data_types
    )


class RestPoller:
    """Runs one venue connection's REST polls (see the module docstring).

    Args:
        config: the connection's ``[[venues]]`` config (its subscriptions and
            ``rest_*`` intervals).
        name: the connection's name (the fallback gauge and log lines).
        polling: what the venue declares.
        rest: the connection's REST client.
        publish: the pipeline's ``put(event, read_ns)``.
        metrics: where polls and the fallback state go.
        on_answer: told ``received_at_ms`` of every answer that parsed (None: nobody).
    """

    def __init__(
        self,
        config: VenueConfig,
        name: str,
        polling: RestPolling,
        rest: RestClient,
        publish: Callable[[MarketEvent, int], Awaitable[None]],
        metrics: MetricsSink,
        on_answer: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.on_answer = on_answer
        self.rest = rest
        self.publish = publish
        self.metrics = metrics
        self._polling = polling
        self.polled = poll_targets(polling.polled, config)
        self.fallback = poll_targets(polling.fallback, config)
        self.switch = FallbackSwitch(config.rest_fallback_after_s, time.monotonic())
        self.fallback_polls = 0
        """Fallback rounds polled since the connection was made (every instrument once)."""
        self._changed = asyncio.Event()
        self._seen: dict[tuple[str, str], RecentIds] = {}
        self._error_log = LogRateLimit()

    def retarget(self, config: VenueConfig) -> None:
        """Poll for ``config``'s subscriptions from the next round on (a stream
        added or removed at runtime)."""
        self.config = config
        self.polled = poll_targets(self._polling.polled, config)
        self.fallback = poll_targets(self._polling.fallback, config)

    def ws_lost(self) -> None:
        """The WebSocket connection ended (see :class:`FallbackSwitch`)."""
        self.switch.ws_lost(time.monotonic())
        self._changed.set()

    def ws_back(self) -> None:
        """The WebSocket delivers again (its first frame was read)."""
        if self.switch.state is not FallbackState.UP:
            self.switch.ws_back()
            self._changed.set()

    async def run(self) -> None:
        """Poll until cancelled: the polled endpoints, and the fallback when switched on.

        The WebSocket counts as down from here until its first frame.
        """
        self.switch = FallbackSwitch(self.config.rest_fallback_after_s, time.monotonic())
        async with asyncio.TaskGroup() as tasks:
            if self._polling.polled:
                tasks.create_task(self._run_polled())
            if self._polling.fallback and self.config.rest_fallback_after_s > 0:
                tasks.create_task(self._run_fallback())

    async def _run_polled(self) -> None:
        interval_s = self.config.rest_poll_interval_s
        while True:
            raise_if_cancelled()
            started_s = time.monotonic()
            await self.poll(self.polled)
            await asyncio.sleep(max(0.0, started_s + interval_s - time.monotonic()))

    async def _wait_change(self, timeout_s: float | None) -> None:
        """Until :meth:`ws_lost` / :meth:`ws_back` was called (since the loop turn's
        start, where the event is cleared), or ``timeout_s`` passes.

        ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` drops a
        cancellation that arrives as the event is set (connection lost while the
        relay stops), and the poller would never end.
        """
        try:
            async with asyncio.timeout(timeout_s):
                await self._changed.wait()
        except TimeoutError:
            return

    async def _run_fallback(self) -> None:
        switch = self.switch
        interval_s = self.config.rest_fallback_interval_s
        active_since_s = 0.0
        rounds = 0
        while True:
            raise_if_cancelled()
            self._changed.clear()
            now_s = time.monotonic()
            if switch.state is FallbackState.CLOSING:
                await self._fallback_round()
                rounds += 1
                if switch.state is not FallbackState.CLOSING:
                    continue  # lost again during the last round: still active
                switch.closed()
                self.metrics.rest_fallback_active(self.name, False)
                log.info(
                    "rest fallback stopped",
                    extra={
                        "venue": self.name,
                        "rounds": rounds,
                        "active_s": round(time.monotonic() - active_since_s, 3),
                    },
                )
                continue
            if not self.fallback:  # nothing subscribed the fallback polls (a REST-only connection)
                await self._wait_change(interval_s)
                continue
            was_active = switch.state is FallbackState.ACTIVE
            down_since_s = switch.down_since_s
            if switch.due(now_s):
                if not was_active:
                    active_since_s, rounds = now_s, 0
                    self.metrics.rest_fallback_active(self.name, True)
                    log.warning(
                        "rest fallback started",
                        extra={
                            "venue": self.name,
                            "down_s": round(now_s - (down_since_s or now_s), 3),
                            "instruments": len({i for _, i in self.fallback}),
                        },
                    )
                await self._fallback_round()
                rounds += 1
                if switch.state is FallbackState.ACTIVE:
                    await self._wait_change(max(0.0, now_s + interval_s - time.monotonic()))
                continue
            await self._wait_change(switch.wait_s(now_s))

    async def _fallback_round(self) -> None:
        await self.poll(self.fallback)
        self.fallback_polls += 1

    async def poll(self, targets: Sequence[Target]) -> None:
        """Poll each target once, in order, and put the events it has not put before."""
        for endpoint, instrument in targets:
            await self._poll_one(endpoint, instrument)

    async def _poll_one(self, endpoint: RestEndpoint, instrument: Instrument) -> None:
        venue = self.config.id
        request = SnapshotRequest(
            instrument, endpoint.target(instrument), POLL_REASON, endpoint.weight
        )
        try:
            body = await self.rest.fetch(request, POLL_ATTEMPTS)
        except (httpx.HTTPError, SnapshotFetchError) as exc:
            self.metrics.rest_poll(venue, endpoint.path, "failed")
            self._log_failure("rest poll failed", endpoint, instrument, exc)
            return
        received_at_ms = time.time_ns() // 1_000_000
        try:
            events = endpoint.parse(body, instrument, received_at_ms)
        except (ValueError, KeyError, TypeError, InvalidValueError) as exc:
            self.metrics.rest_poll(venue, endpoint.path, "bad_body")
            self.metrics.frame_rejected(venue, "bad_rest_body")
            self._log_failure("rest poll answer skipped", endpoint, instrument, exc)
            return
        self.metrics.rest_poll(venue, endpoint.path, "ok")
        if self.on_answer is not None:
            self.on_answer(received_at_ms)
        seen = self._seen.get((endpoint.path, instrument.instrument))
        if seen is None:
            seen = self._seen[(endpoint.path, instrument.instrument)] = RecentIds(
                SEEN_IDS_PER_TARGET
            )
        read_ns = time.monotonic_ns()
        data_type = endpoint.data_type.value
        for event in events:
            if not seen.add(event.msg_id):
                continue
            self.metrics.event_received(venue, data_type)
            await self.publish(replace(event, source=Source.REST), read_ns)

    def _log_failure(
        self, message: str, endpoint: RestEndpoint, instrument: Instrument, exc: BaseException
    ) -> None:
        suppressed = self._error_log.allow((message, endpoint.path))
        if suppressed is not None:
            log.warning(
                message,
                extra={
                    "venue": self.config.id,
                    "endpoint": endpoint.path,
                    "instrument": instrument.instrument,
                    "error": repr(exc)[:200],
                    "suppressed": suppressed,
                },
            )
