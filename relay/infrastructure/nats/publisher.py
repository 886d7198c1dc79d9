"""JetStream publishing with acknowledgements handled in bulk, retry, then drop.

Each message is sent with core NATS ``publish`` and a reply subject under one
inbox subscription; JetStream's ack arrives there. Up to ``max_in_flight``
messages await acks at once. A message that is rejected, or not acked within
``ack_timeout_s``, is sent again after each of ``retry_delays_s`` (100 ms,
500 ms, 2 s by default) and then dropped, counted and logged with its subject
and message id. Every message carries ``Nats-Msg-Id``, so a re-send that the
server already stored is removed by the stream's duplicate window.

An outage is not a rejection. Three signals start one: the connection drops
(nats-py's PINGs, every ``ping_interval_s``, unanswered ``max_outstanding_pings``
times, also drop it: a hung server), an ack reports "no responders"/503 (no
stream answers: lost, not yet recovered, electing a leader), and an ack that is
overdue (``ack_timeout_s``) while connected. During an outage events wait in a
bounded outage buffer (``outage_buffer_max_events`` / ``_max_bytes``), and
messages that were awaiting acks or re-sends go back to its front with their
ids. Publishing resumes, in order, only after :class:`StreamKeeper` has checked
JetStream and the streams again (re-creating a lost stream) after each reconnect or
outage signal; ``ready`` is False (``relay_jetstream_ready`` 0, ``/health`` unhealthy)
until then. A message answered 503 whose subject no stream captures at all can never
be stored: it is dropped (``no_stream``). A full buffer applies ``outage_full_policy``
(``block`` by default: the publisher stops taking events, the pipeline queue fills and
the venue readers wait).

In ``batch`` ack mode (the default) each batch's ``HPUB`` commands are written in one
piece (:mod:`.commands`) and confirmed by the last one's ack (:mod:`.acks`); re-sends
and ``each`` mode use nats-py's ``publish``. Held messages: :mod:`.outage_buffer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from relay.application.log_rate_limit import LogRateLimit
from relay.application.ports import AckObserver, MessageSink, MetricsSink, OutboundMessage
from relay.config.model import AckMode, NatsConfig, PipelineConfig
from relay.infrastructure.cancellation import raise_if_cancelled
from relay.infrastructure.nats.acks import (
    AckVerdict,
    Batch,
    BatchAcks,
    InFlightSlots,
    Pending,
    message_ack,
)
from relay.infrastructure.nats.commands import (
    check_client,
    discard_pending_commands,
    header_tail,
    write_commands,
)
from relay.infrastructure.nats.connection import NatsConnection
from relay.infrastructure.nats.outage_buffer import OutageBuffer
from relay.infrastructure.nats.streams import (
    JetStreamUnavailableError,
    StreamKeeper,
    StreamSetupError,
    uncaptured_subjects,
)

log = logging.getLogger("relay.nats")

START_CHECK_S = 10.0
"""How long JetStream may not answer at start before the relay refuses to start."""

RECHECK_MAX_S = 1.0
"""Longest wait between two checks of JetStream during an outage (from 0.25 s, doubling)."""

LOG_INTERVAL_S = 10.0
"""At most one line per repeated NATS error line in this many seconds."""


class JetStreamPublisher(MessageSink):
    """Publishes :class:`OutboundMessage` to JetStream (see the module doc for the rules).

    Args:
        config: ``[nats]``.
        content_type: ``Content-Type`` header value of every message.
        metrics: counters for published, dropped, retried; in-flight, NATS and
            JetStream gauges.
        pipeline: ``[pipeline]``: retry delays and the outage buffer's bounds and policy.
        on_connection_change: called with True/False as the NATS connection comes and goes.
        on_ready_change: called with (ready, problem) as publishing stops for an
            outage (problem: why, one line) and resumes after a check (problem "").
        on_drop: called with each message given up on and the reason (``too_large``, ``no_stream``,
            ``publish_failed``, ``outage_buffer_full``).
        on_acked: called with each message JetStream acknowledged and the time
            (:data:`~relay.application.ports.AckObserver`); None: nobody is told.
        on_refused: called with the one-line cause when the server refuses the
            relay (authorization, TLS), and with "" once connected (:mod:`.connection`).
    """

    def __init__(
        self,
        config: NatsConfig,
        content_type: str,
        metrics: MetricsSink,
        pipeline: PipelineConfig,
        on_connection_change: Callable[[bool], None] = lambda connected: None,
        on_ready_change: Callable[[bool, str], None] = lambda ready, problem: None,
        on_drop: Callable[[OutboundMessage, str], None] = lambda message, reason: None,
        on_acked: AckObserver | None = None,
        on_refused: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self._on_drop = on_drop
        self._on_acked = on_acked
        self._config = config
        self._content_type = content_type
        self._max_payload = 0
        self._metrics = metrics
        self._retry_delays_s = pipeline.publish_retry_delays_s
        self._on_connection_change = on_connection_change
        self._on_ready_change = on_ready_change
        self._keeper = StreamKeeper(config)
        self._ready = False
        self._fenced = False
        """Set by :meth:`fence`: not ready whatever JetStream answers."""
        self._problem = "not connected yet"
        self._check_wakeup = asyncio.Event()
        self._unstorable: set[str] = set()
        self._log_limit = LogRateLimit(LOG_INTERVAL_S)
        self._connection = NatsConnection(
            config, self._limited, self._disconnected, self._reconnected, on_refused
        )
        self._inbox = ""
        self._tokens = itertools.count(1)
        self._connected = False
        self._pending: dict[str, Pending] = {}
        self._retries: list[tuple[float, int, Pending]] = []
        self._timer_wakeup = asyncio.Event()
        self._buffer = OutageBuffer(
            pipeline,
            lambda pending: self._drop(pending, "outage_buffer_full", "outage buffer full"),
        )
        self._flush_wakeup = asyncio.Event()
        self._slots = InFlightSlots(config.max_in_flight)
        self._submitted = itertools.count(1)
        self._batch_mode = config.ack_mode is AckMode.BATCH and len(config.streams) == 1
        self._acks = BatchAcks(
            max(1, min(config.ack_batch_max, config.max_in_flight)), header_tail(content_type)
        )
        self.batch_fallbacks = 0
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.published = 0
        self.dropped = 0

    async def connect(self) -> None:
        """Connect (retrying with jittered backoff until it works), then check JetStream.

        The check (:class:`StreamKeeper`) creates missing streams. JetStream not
        answering is waited out for ``START_CHECK_S``.

        Raises:
            StreamSetupError: JetStream disabled or not answering, a stream that
                cannot be created or updated, no stream for the relay's subjects
                (the connection is closed again).
            UnsupportedNatsClientError: the installed nats-py is not one whose
                internals :mod:`.commands` knows.
        """
        nc = await self._connection.open()
        check_client(nc)
        self._max_payload = nc.max_payload
        self._inbox = nc.new_inbox() + "."
        await nc.subscribe(self._inbox + "*", cb=self._on_ack)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_CHECK_S
        while True:
            raise_if_cancelled()
            try:
                await self._check()
                break
            except StreamSetupError:
                await self._connection.abandon()
                raise
            except JetStreamUnavailableError as exc:
                if loop.time() >= deadline:
                    await self._connection.abandon()
                    raise StreamSetupError(
                        f"{exc} for {START_CHECK_S:g} s at start; is JetStream enabled on the"
                        " server (nats-server -js)?"
                    ) from None
                await asyncio.sleep(0.25)
        self._set_connected(True)
        self._set_ready(True, "")

    @property
    def client(self) -> Client | None:
        """The NATS connection once :meth:`connect` succeeded (the key-value writer shares it)."""
        return self._connection.client

    async def _check(self) -> None:
        """Check JetStream and the streams; learn the stream sequence for batch acks.

        Raises:
            StreamSetupError, JetStreamUnavailableError: see :meth:`StreamKeeper.check`.
        """
        assert self.client is not None
        js = self.client.jetstream(timeout=self._config.ack_timeout_s)
        try:
            await self._keeper.check(js)
            await self._drop_unstorable(js)
            if self._batch_mode:
                info = await js.stream_info(self._config.streams[0].name)
                self._acks.stream_last_seq = info.state.last_seq
        except (StreamSetupError, JetStreamUnavailableError):
            raise
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            raise JetStreamUnavailableError(f"JetStream check failed: {exc!r}") from None

    async def _drop_unstorable(self, js: JetStreamContext) -> None:
        """Drop held messages answered 503 whose subject no stream captures: never storable."""
        subjects, self._unstorable = self._unstorable, set()
        for pending in self._buffer.remove(await uncaptured_subjects(js, subjects)):
            self._drop(pending, "no_stream", "no JetStream stream captures this subject")

    @property
    def max_payload_bytes(self) -> int:
        """The server's ``max_payload`` (bytes, headers included), read at connect; 0 before."""
        return self._max_payload

    @property
    def connected(self) -> bool:
        """True while NATS is connected."""
        return self._connected

    @property
    def ready(self) -> bool:
        """True while publishing: connected, and JetStream checked since the last outage."""
        return self._ready

    def fence(self, fenced: bool, reason: str = "") -> None:
        """Stop publishing at once and hold every message (True), or publish again (False).

        For a hot-standby leader that could not renew its lease in time
        (:mod:`~relay.infrastructure.nats.lease`): while fenced nothing is sent,
        not even a re-send; messages awaiting acks go back to the outage buffer
        with their ids, and new ones wait there (its bounds and full policy
        apply). Unfenced, JetStream is checked and the buffer published in order,
        as after an outage. ``reason`` is the ``problem`` reported meanwhile.
        """
        self._fenced = fenced
        if fenced:
            log.warning(
                "publishing held",
                extra={"reason": reason, "unacknowledged": self._unacknowledged()},
            )
            self._set_ready(False, reason)
        else:
            log.info("publishing released", extra={"buffered": len(self._buffer)})
            self._check_wakeup.set()

    def _set_connected(self, connected: bool) -> None:
        self._connected = connected
        self._metrics.nats_connected(connected)
        self._on_connection_change(connected)
        if connected:
            self._check_wakeup.set()
        else:
            self._set_ready(False, "NATS disconnected")

    def _set_ready(self, ready: bool, problem: str) -> None:
        """Resume publishing, or stop it for an outage (holding every unacknowledged message)."""
        was_ready, self._ready, self._problem = self._ready, ready, problem
        self._metrics.jetstream_ready(ready)
        if ready:
            self._flush_wakeup.set()
        else:
            self._hold_unacknowledged()
            self._check_wakeup.set()
        if ready != was_ready:
            self._on_ready_change(ready, problem)

    def _outage(self, reason: str) -> None:
        """An outage signal while connected: stop publishing until JetStream is checked again."""
        if not self._ready:
            self._hold_unacknowledged()
            return
        log.warning(
            "JetStream not storing; buffering until it is checked again",
            extra={"reason": reason, "unacknowledged": self._unacknowledged()},
        )
        self._set_ready(False, reason)

    def _unacknowledged(self) -> int:
        return len(self._pending) + len(self._retries) + self._acks.unacknowledged

    async def _disconnected(self) -> None:
        log.warning(
            "NATS disconnected; buffering", extra={"unacknowledged": self._unacknowledged()}
        )
        if self.client is not None:
            discard_pending_commands(self.client)
        self._set_connected(False)

    async def _reconnected(self) -> None:
        log.info("NATS reconnected; checking JetStream", extra={"buffered": len(self._buffer)})
        self._set_connected(True)

    def _limited(self, level: int, msg: str, extra: dict[str, object], key: object = None) -> None:
        """Log a line that repeats while a condition lasts, at most once per ``LOG_INTERVAL_S``."""
        suppressed = self._log_limit.allow(key if key is not None else msg)
        if suppressed is not None:
            log.log(level, msg, extra={**extra, "suppressed": suppressed})

    def _hold_unacknowledged(self) -> None:
        """Put every message awaiting an ack or a re-send back at the buffer's front, in order."""
        held = [entry[2] for entry in self._retries] + list(self._pending.values())
        held.extend(self._acks.take_all())
        held.sort(key=lambda pending: pending.order)
        self._retries.clear()
        self._pending.clear()
        for pending in reversed(held):
            self._release()
            pending.attempt = 0
            self._buffer.put_back(pending)
        self._metrics.publish_in_flight(0)

    def _release(self, count: int = 1) -> None:
        self._slots.release(count)

    async def submit(self, message: OutboundMessage) -> None:
        """Hand over one message.

        Waits while ``max_in_flight`` messages await acks, and, during a NATS
        outage with a full buffer under the ``block`` policy, until there is room.
        """
        self._outstanding += 1
        self._idle.clear()
        pending = Pending(message, 0, 0.0, next(self._submitted))
        if self._max_payload and len(message.payload) > self._max_payload:
            self._drop(
                pending,
                "too_large",
                f"{len(message.payload)} bytes > server max_payload {self._max_payload}",
            )
            return
        if not self._ready or self._buffer:
            await self._hold(pending)
            return
        await self._slots.acquire()
        if not self._ready:
            self._release()
            await self._hold(pending)
            return
        if self._batch_mode:
            await self._send_batched(pending)
        else:
            await self._send(pending)

    async def _send_batched(self, pending: Pending) -> None:
        """Batch acks: the previous message joins the batch without a reply; this one is the tail.

        The batch's commands are written together when it is full or at
        :meth:`flush`, the tail with a reply; its ack confirms the whole batch
        (see :meth:`_on_batch_ack`).
        """
        if self._acks.add(pending):
            await self.flush()

    async def flush(self) -> None:
        """Close the open batch: write it, the tail with a reply. Called when the queue runs dry."""
        if not self._acks.has_tail or self.client is None or not self._ready:
            return
        token = str(next(self._tokens))
        deadline = asyncio.get_running_loop().time() + self._config.ack_timeout_s
        commands = self._acks.close(token, self._inbox + token, deadline)
        self._metrics.publish_in_flight(len(self._pending) + self._acks.awaiting)
        try:
            await write_commands(self.client, commands)
        except Exception as exc:
            batch = self._acks.pop(token)
            if batch is not None:
                self._fall_back(batch, f"publish error: {exc!r}")

    def _on_batch_ack(self, token: str, batch: Batch, msg: Msg) -> None:
        """The batch's last message was acked: confirm all, fall back to one ack each, or
        start an outage (:meth:`BatchAcks.judge`)."""
        result = self._acks.judge(batch, msg)
        if result.verdict is AckVerdict.UNAVAILABLE:
            self._acks.restore(token, batch)
            self._unstorable.add(batch.items[-1].message.subject)
            self._outage(f"no responders (503) for {batch.items[-1].message.subject}")
        elif result.verdict is AckVerdict.FAILED:
            self._fall_back(batch, result.reason)
        else:
            self._confirmed(batch.items)

    def _confirmed(self, items: list[Pending]) -> None:
        """Messages holding slots are stored: count them, tell ``on_acked``, free their slots."""
        now_ns = time.monotonic_ns()
        on_acked = self._on_acked
        published = self._metrics.event_published
        latency = self._metrics.publish_latency
        for pending in items:
            message = pending.message
            published(message.venue, message.data_type)
            if message.read_ns:
                latency(message.venue, (now_ns - message.read_ns) * 1e-9)
            if on_acked is not None:
                on_acked(message, now_ns)
        count = len(items)
        self.published += count
        self._release(count)
        self._settle(count)

    def _fall_back(self, batch: Batch, reason: str) -> None:
        """Confirm each message of an unconfirmed batch with its own ack."""
        self.batch_fallbacks += 1
        log.info(
            "batch not confirmed by sequence; confirming each message",
            extra={"messages": len(batch.items), "reason": reason},
        )
        for pending in batch.items:
            self._schedule(pending, 0.0)

    async def _hold(self, pending: Pending) -> None:
        if await self._buffer.add(pending) and self._ready:
            self._flush_wakeup.set()

    def _headers(self, message: OutboundMessage) -> dict[str, str]:
        return {"Nats-Msg-Id": message.msg_id, "Content-Type": self._content_type}

    async def _send(self, pending: Pending) -> None:
        """Publish a message that holds an in-flight slot."""
        assert self.client is not None
        token = str(next(self._tokens))
        pending.deadline = asyncio.get_running_loop().time() + self._config.ack_timeout_s
        self._pending[token] = pending
        self._metrics.publish_in_flight(len(self._pending))
        message = pending.message
        try:
            await self.client.publish(
                message.subject,
                message.payload,
                reply=self._inbox + token,
                headers=self._headers(message),
            )
        except Exception as exc:
            if self._pending.pop(token, None) is not None:
                self._failed(pending, f"publish error: {exc!r}")

    async def _on_ack(self, msg: Msg) -> None:
        token = msg.subject[len(self._inbox) :]
        batch = self._acks.pop(token)
        if batch is not None:
            self._on_batch_ack(token, batch, msg)
            return
        pending = self._pending.pop(token, None)
        if pending is None:
            return
        self._metrics.publish_in_flight(len(self._pending))
        result = message_ack(msg)
        if result.verdict is AckVerdict.UNAVAILABLE:
            self._pending[token] = pending
            self._unstorable.add(pending.message.subject)
            self._outage(f"no responders (503) for {pending.message.subject}")
        elif result.verdict is AckVerdict.FAILED:
            self._failed(pending, result.reason)
        else:
            self._confirmed([pending])

    def _schedule(self, pending: Pending, delay_s: float) -> None:
        due = asyncio.get_running_loop().time() + delay_s
        heapq.heappush(self._retries, (due, next(self._tokens), pending))
        self._timer_wakeup.set()

    def _failed(self, pending: Pending, error: str) -> None:
        """A message holding a slot was rejected or not acked: re-send later, or drop."""
        if not self._ready:
            self._release()
            self._buffer.put_back(pending)
            return
        if pending.attempt < len(self._retry_delays_s):
            delay_s = self._retry_delays_s[pending.attempt]
            pending.attempt += 1
            self._schedule(pending, delay_s)
            self._metrics.publish_retry(pending.message.venue)
            return
        self._release()
        self._drop(pending, "publish_failed", error)

    def _drop(self, pending: Pending, reason: str, error: str) -> None:
        message = pending.message
        self.dropped += 1
        self._metrics.event_dropped(message.venue, message.data_type, reason)
        log.error(
            "event dropped",
            extra={
                "subject": message.subject,
                "msg_id": message.msg_id,
                "reason": reason,
                "error": error,
                "attempts": pending.attempt + 1,
            },
        )
        self._settle()
        self._on_drop(message, reason)

    def _settle(self, count: int = 1) -> None:
        self._outstanding -= count
        if self._outstanding == 0:
            self._idle.set()

    async def run(self) -> None:
        """Flush the outage buffer, re-send when due, time out missing acks; until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._timer_loop())
            tasks.create_task(self._flush_loop())
            tasks.create_task(self._check_loop())

    async def _check_loop(self) -> None:
        """After a reconnect or an outage signal: check JetStream until it is ready again."""
        while True:
            raise_if_cancelled()
            await self._check_wakeup.wait()
            self._check_wakeup.clear()
            wait_s = 0.25
            reported: set[str] = set()
            while (
                self._connected and not self._ready and not self._fenced and self.client is not None
            ):
                try:
                    await self._check()
                except StreamSetupError as exc:
                    if exc.reason not in reported:
                        reported.add(exc.reason)
                        log.error(
                            "JetStream stream problem; buffering until it is fixed",
                            extra={"reason": exc.reason},
                        )
                    problem = exc.reason
                except JetStreamUnavailableError as exc:
                    self._limited(
                        logging.WARNING,
                        "JetStream not answering; buffering",
                        {"reason": str(exc), "buffered": len(self._buffer)},
                    )
                    problem = str(exc)
                except Exception as exc:  # a bug must not end publishing: keep checking
                    self._limited(
                        logging.ERROR,
                        "JetStream check failed; buffering",
                        {"error": repr(exc), "buffered": len(self._buffer)},
                    )
                    problem = f"JetStream check failed: {exc!r}"
                else:
                    if self._connected and not self._fenced:
                        log.info(
                            "JetStream ready; publishing resumes",
                            extra={"buffered": len(self._buffer)},
                        )
                        self._set_ready(True, "")
                    break
                if problem != self._problem:
                    self._problem = problem
                    self._on_ready_change(False, problem)
                await asyncio.sleep(wait_s)
                wait_s = min(wait_s * 2, RECHECK_MAX_S)

    async def _flush_loop(self) -> None:
        while True:
            raise_if_cancelled()
            await self._flush_wakeup.wait()
            self._flush_wakeup.clear()
            while self._ready and self._buffer:
                await self._slots.acquire()
                if not self._ready or not self._buffer:
                    self._release()
                    break
                await self._send(self._buffer.pop())

    async def _timer_loop(self) -> None:
        loop = asyncio.get_running_loop()
        sweep_s = min(0.25, self._config.ack_timeout_s / 4)
        next_sweep = loop.time() + sweep_s
        while True:
            raise_if_cancelled()
            now = loop.time()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + sweep_s
            while self._ready and self._retries and self._retries[0][0] <= now:
                _, _, pending = heapq.heappop(self._retries)
                await self._send(pending)
            wake_at = min(next_sweep, self._retries[0][0]) if self._retries else next_sweep
            self._timer_wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can drop a
            # cancellation arriving as the wait ends, and this loop would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(wake_at):
                    await self._timer_wakeup.wait()

    def _sweep(self, now: float) -> None:
        """An ack overdue while connected is an outage signal (a hung or overloaded server)."""
        if not self._ready:
            return
        overdue = self._acks.overdue(now) or any(
            pending.deadline <= now for pending in self._pending.values()
        )
        if overdue:
            self._outage(f"no ack within ack_timeout_s ({self._config.ack_timeout_s:g} s)")

    @property
    def in_flight(self) -> int:
        """Messages not yet acknowledged or dropped (buffered ones included)."""
        return self._outstanding

    async def drain(self, timeout_s: float) -> int:
        """Wait until every message is acked or dropped; returns how many are left."""
        await self.flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return self._outstanding

    async def close(self) -> None:
        """Flush and close the connection (just close it while NATS is unreachable)."""
        await self._connection.close()
