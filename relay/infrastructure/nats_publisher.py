"""JetStream publishing with acknowledgements handled in bulk, retry, then drop.

Each message is sent with core NATS ``publish`` and a reply subject under one
inbox subscription; JetStream's ack arrives there. Up to ``max_in_flight``
messages await acks at once. A message that is rejected, or not acked within
``ack_timeout_s``, is sent again after each of ``retry_delays_s`` (100 ms,
500 ms, 2 s by default) and then dropped, counted and logged with its subject
and message id. Every message carries ``Nats-Msg-Id``, so a re-send that the
server already stored is removed by the stream's duplicate window.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import StorageType
from nats.js.api import StreamConfig as JsStreamConfig
from nats.js.errors import BadRequestError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_random_exponential

from relay.application.ports import MessageSink, OutboundMessage
from relay.config.model import NatsConfig, StreamConfig
from relay.infrastructure.metrics import PrometheusMetrics

log = logging.getLogger("relay.nats")


@dataclass(slots=True)
class _Pending:
    message: OutboundMessage
    attempt: int
    deadline: float


class JetStreamPublisher(MessageSink):
    """Publishes :class:`OutboundMessage` to JetStream (see module doc for the rules).

    Args:
        config: ``[nats]``.
        content_type: ``Content-Type`` header value of every message.
        metrics: counters for published, dropped, retried, in flight.
        retry_delays_s: waits before each re-send; after the last, the message is dropped.
        on_connection_change: called with True/False as the NATS connection comes and goes.
    """

    def __init__(
        self,
        config: NatsConfig,
        content_type: str,
        metrics: PrometheusMetrics,
        retry_delays_s: tuple[float, ...],
        on_connection_change: Callable[[bool], None] = lambda connected: None,
    ) -> None:
        self._config = config
        self._content_type = content_type
        self._metrics = metrics
        self._retry_delays_s = retry_delays_s
        self._on_connection_change = on_connection_change
        self._nc: Client | None = None
        self._inbox = ""
        self._tokens = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._retries: list[tuple[float, int, _Pending]] = []
        self._retry_wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self.published = 0
        self.dropped = 0

    async def connect(self) -> None:
        """Connect (retrying with jittered backoff until it works) and ensure the streams."""
        async for attempt in AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.5, max=10.0),
            retry=retry_if_exception_type((OSError, TimeoutError, nats.errors.NoServersError)),
            before_sleep=lambda state: log.warning(
                "NATS not reachable, retrying",
                extra={"urls": list(self._config.urls), "attempt": state.attempt_number},
            ),
        ):
            with attempt:
                self._nc = await nats.connect(
                    servers=list(self._config.urls),
                    connect_timeout=self._config.connect_timeout_s,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
        assert self._nc is not None
        self._set_connected(True)
        self._inbox = self._nc.new_inbox() + "."
        await self._nc.subscribe(self._inbox + "*", cb=self._on_ack)
        for stream in self._config.streams:
            await self.ensure_stream(stream)

    async def ensure_stream(self, stream: StreamConfig) -> None:
        """Create the stream, or update it when it exists with another configuration."""
        assert self._nc is not None
        js = self._nc.jetstream()
        config = JsStreamConfig(
            name=stream.name,
            subjects=list(stream.subjects),
            storage=StorageType(stream.storage.value),
            max_age=stream.max_age_s or None,
            max_bytes=stream.max_bytes,
            duplicate_window=stream.duplicate_window_s,
            num_replicas=stream.replicas,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
        log.info("stream ready", extra={"stream": stream.name, "subjects": list(stream.subjects)})

    def _set_connected(self, connected: bool) -> None:
        self._metrics.nats_connected.set(1 if connected else 0)
        self._on_connection_change(connected)

    async def _disconnected(self) -> None:
        if not self._closing:
            log.warning("NATS disconnected")
            self._set_connected(False)

    async def _reconnected(self) -> None:
        log.info("NATS reconnected")
        self._set_connected(True)

    async def _error(self, exc: Exception) -> None:
        log.warning("NATS error", extra={"error": repr(exc)})

    async def submit(self, message: OutboundMessage) -> None:
        """Send one message; waits while ``max_in_flight`` messages await acks."""
        await self._slots.acquire()
        self._outstanding += 1
        self._idle.clear()
        await self._send(_Pending(message, 0, 0.0))

    async def _send(self, pending: _Pending) -> None:
        assert self._nc is not None
        token = str(next(self._tokens))
        pending.deadline = asyncio.get_running_loop().time() + self._config.ack_timeout_s
        self._pending[token] = pending
        message = pending.message
        try:
            await self._nc.publish(
                message.subject,
                message.payload,
                reply=self._inbox + token,
                headers={"Nats-Msg-Id": message.msg_id, "Content-Type": self._content_type},
            )
        except Exception as exc:
            self._pending.pop(token, None)
            self._failed(pending, f"publish error: {exc!r}")

    async def _on_ack(self, msg: Msg) -> None:
        token = msg.subject[len(self._inbox):]
        pending = self._pending.pop(token, None)
        if pending is None:
            return
        error: str | None = None
        if not msg.data:
            error = f"no ack body (status {msg.header.get('Status') if msg.header else None})"
        else:
            try:
                reply = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                reply = {"error": {"description": msg.data[:200].decode(errors="replace")}}
            if "error" in reply:
                error = str(reply["error"])
        if error is None:
            self._done(pending)
            self.published += 1
            self._metrics.event_published(pending.message.venue, pending.message.data_type)
        else:
            self._failed(pending, error)

    def _failed(self, pending: _Pending, error: str) -> None:
        message = pending.message
        if pending.attempt < len(self._retry_delays_s):
            due = asyncio.get_running_loop().time() + self._retry_delays_s[pending.attempt]
            pending.attempt += 1
            heapq.heappush(self._retries, (due, next(self._tokens), pending))
            self._retry_wakeup.set()
            self._metrics.publish_retry(message.venue)
            return
        self._done(pending)
        self.dropped += 1
        self._metrics.event_dropped(message.venue, message.data_type, "publish_failed")
        log.error(
            "event dropped after retries",
            extra={"subject": message.subject, "msg_id": message.msg_id, "error": error,
                   "attempts": pending.attempt + 1},
        )

    def _done(self, pending: _Pending) -> None:
        self._slots.release()
        self._outstanding -= 1
        if self._outstanding == 0:
            self._idle.set()

    async def run(self) -> None:
        """Re-send failed messages when due and time out missing acks; runs until cancelled."""
        loop = asyncio.get_running_loop()
        sweep_s = min(0.25, self._config.ack_timeout_s / 4)
        next_sweep = loop.time() + sweep_s
        while True:
            now = loop.time()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + sweep_s
            while self._retries and self._retries[0][0] <= now:
                _, _, pending = heapq.heappop(self._retries)
                await self._send(pending)
            wake_at = min(next_sweep, self._retries[0][0]) if self._retries else next_sweep
            self._retry_wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_wakeup.wait(), max(0.0, wake_at - loop.time()))

    def _sweep(self, now: float) -> None:
        expired = []
        for token, pending in self._pending.items():
            if pending.deadline > now:
                break
            expired.append(token)
        for token in expired:
            self._failed(self._pending.pop(token), "ack timeout")

    @property
    def in_flight(self) -> int:
        """Messages awaiting an ack or a re-send."""
        return self._outstanding

    async def drain(self, timeout_s: float) -> int:
        """Wait until every message is acked or dropped; returns how many are left."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return self._outstanding

    async def close(self) -> None:
        """Flush and close the connection."""
        nc, self._nc = self._nc, None
        self._closing = True
        if nc is not None and not nc.is_closed:
            await nc.drain()
