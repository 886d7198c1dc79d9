"""The composition root: builds the relay's object graph from a config, and runs it.

Nothing connects at import time; :meth:`Relay.run` opens every connection and
closes them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from relay.application.consumer_state import ConsumerState
from relay.application.health import HealthMonitor
from relay.application.pipeline import Pipeline
from relay.application.ports import AckObserver, OutboundMessage
from relay.application.sharding import shard_of
from relay.application.standby import ResumeKind
from relay.application.subscription_manager import SubscriptionManager
from relay.config.cluster import ReplicaMode
from relay.config.errors import ConfigError, ConfigProblem
from relay.config.loader import load_config
from relay.config.model import RelayConfig, VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.connection.venue_connection import VenueConnection
from relay.infrastructure.control.plane import ControlPlane
from relay.infrastructure.control.status import NatsView
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.http_app import HttpBindError, HttpServer, build_app
from relay.infrastructure.http_limits import ShedAction
from relay.infrastructure.http_ui import ui_routes
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.nats.anchors import AnchorReader
from relay.infrastructure.nats.commands import UnsupportedNatsClientError
from relay.infrastructure.nats.kv import BucketKeeper, ConsumerStateWriter
from relay.infrastructure.nats.lease import LeaderLease
from relay.infrastructure.nats.publisher import START_CHECK_S, JetStreamPublisher
from relay.infrastructure.nats.streams import StreamSetupError
from relay.infrastructure.recording.recorder import CaptureRecorder
from relay.infrastructure.status_metrics import StatusMetrics
from relay.infrastructure.stuck_tasks import SHUTDOWN_GRACE_S, exit_stuck
from relay.infrastructure.venues.registry import (
    VenueSpec,
    plan_connections,
    protocol_refusal,
    supported_data_types,
    venue_spec,
)
from relay.serialization.formats import codec_for

log = logging.getLogger("relay")

EXIT_JETSTREAM_SETUP = 2
"""Exit code when JetStream cannot be used at start (as for a bad config)."""

EXIT_HTTP_BIND = 2
"""Exit code when the HTTP server cannot listen on ``[http] listen`` (port in use)."""

EXIT_RECORDING_DIR = 2
"""Exit code when ``[recording] dir`` cannot be created."""

EXIT_LEASE_LOST = 3
"""Exit code of a hot-standby leader that lost its lease (it stops at once: fencing)."""


EXIT_UNEXPECTED = 1
"""Exit code when a task of the relay failed on an unexpected error (logged as one line)."""


def _leaf_errors(error: BaseException) -> list[str]:
    """The exceptions inside ``error`` (nested exception groups flattened), as reprs."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaf_errors(inner)]
    return [repr(error)[:500]]


def shard_venues(config: RelayConfig) -> list[VenueConfig]:
    """The enabled venues with only the subscriptions of this process's shard.

    ``[cluster] shards`` = 1 keeps every subscription; a venue left with none is left out.
    """
    cluster = config.cluster
    result = []
    for venue in config.venues:
        if not venue.enabled:
            continue
        subscriptions = tuple(
            sub
            for sub in venue.subscriptions
            if shard_of(venue.id, sub.instrument, cluster.shards) == cluster.shard
        )
        if subscriptions:
            result.append(replace(venue, subscriptions=subscriptions))
    return result


def _exit_lease_lost(reason: str) -> None:
    """Fencing: a leader that lost its lease must not publish one more message."""
    log.error("leader lease lost; exiting so a standby takes over", extra={"reason": reason})
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_LEASE_LOST)


def load(path: Path) -> RelayConfig:
    """Load and validate a config file against the registered venues.

    After the file's own checks, each enabled subscription is given to its
    venue's protocol (:func:`venue_problems`), so what only the venue knows
    (a candle interval it does not offer) is refused here too.

    Raises:
        relay.config.errors.ConfigError: every problem found, listed.
    """
    config = load_config(path, venues=supported_data_types())
    problems = venue_problems(config)
    if problems:
        raise ConfigError(str(path), problems)
    return config


def venue_problems(config: RelayConfig) -> tuple[ConfigProblem, ...]:
    """What each venue's protocol refuses of the subscriptions configured for it.

    Every enabled subscription is built alone into a protocol (sans-IO: no
    connection is made); an :class:`~relay.domain.errors.InvalidValueError` or
    ``ValueError`` it raises becomes a problem at ``venues[i].subscriptions[j]``
    with the venue's message (``"candle_interval='7m': Bybit offers 1m, ..."``).
    """
    problems = []
    for index, venue in enumerate(config.venues):
        if not venue.enabled:
            continue
        for sub_index, subscription in enumerate(venue.subscriptions):
            refusal = protocol_refusal(replace(venue, subscriptions=(subscription,)))
            if refusal is not None:
                problems.append(
                    ConfigProblem(f"venues[{index}].subscriptions[{sub_index}]", refusal)
                )
    return tuple(problems)


class Relay:
    """The relay built from one config: venues -> pipeline -> JetStream; /health, /metrics.

    Args:
        config: the validated config.
        on_acked: told of every message JetStream acknowledged
            (:data:`~relay.application.ports.AckObserver`); None by default.
    """

    def __init__(
        self,
        config: RelayConfig,
        on_acked: AckObserver | None = None,
        on_lease_lost: Callable[[str], None] = _exit_lease_lost,
    ) -> None:
        self.config = config
        self.running = asyncio.Event()
        """Set once JetStream, its streams and buckets are set up and the venues are being
        read (the "relay running" line)."""
        venues = shard_venues(config)
        plans = [
            (spec, name, part)
            for venue in venues
            for spec in (venue_spec(venue.id),)
            for name, part in plan_connections(spec, venue)
        ]
        self.consumer_state = ConsumerState(
            (
                (Instrument(venue.id, sub.instrument, sub.canonical_symbol), data_type, name)
                for _, name, venue in plans
                for sub in venue.subscriptions
                for data_type in sub.data_types
            ),
            config.consumer_state.book_snapshot_interval_s,
            config.consumer_state.latest_interval_s,
        )
        state = self.consumer_state if config.consumer_state.enabled else None
        self.metrics: PrometheusMetrics = (
            StatusMetrics(self.consumer_state) if state is not None else PrometheusMetrics()
        )
        self.health = HealthMonitor([name for _, name, _ in plans], streams=state)
        cluster = config.cluster
        standby = cluster.mode is ReplicaMode.HOT_STANDBY
        self.health.cluster = {
            "group": cluster.group,
            "shard": cluster.shard,
            "shards": cluster.shards,
            "role": "standby" if standby else "single",
            "subscriptions": [
                f"{v.id}:{sub.instrument}" for v in venues for sub in v.subscriptions
            ],
        }
        self.lease = (
            LeaderLease(cluster, self._take_over, on_lease_lost, self._lease_suspended)
            if standby
            else None
        )
        self.resumed: Counter[ResumeKind] = Counter()
        """Streams resumed at a takeover, by how (``relay_failover_streams_total``)."""
        self.caught_up = 0
        """Streams that held at a takeover until their ring reached their anchor, then continued."""
        self._held_max_s = 0.0
        self._resume_s: float | None = None
        """The takeover's resume pass (seconds), until its log line is written."""
        codec = codec_for(config.serialization.format.value)
        self._content_type = codec.content_type
        self.state_writer = (
            ConsumerStateWriter(config.consumer_state, state, codec) if state is not None else None
        )
        self.publisher = JetStreamPublisher(
            config.nats,
            codec.content_type,
            self.metrics,
            config.pipeline,
            on_connection_change=self._nats_state,
            on_drop=self._message_dropped,
            on_ready_change=self._jetstream_state,
            on_refused=self._nats_refused,
            on_acked=on_acked,
        )
        books = {
            (venue.id, sub.instrument): (name, sub.depth)
            for _, name, venue in plans
            for sub in venue.subscriptions
            if DataType.L2_ORDERBOOK in sub.data_types
        }
        self._book_connections = {key: name for key, (name, _) in books.items()}
        self._resyncs_pending: set[Instrument] = set()
        # Bounded by the books: at most one pending request per book (``_resyncs_pending``).
        self._resync_requests: asyncio.Queue[tuple[Instrument, str]] = asyncio.Queue()
        self.pipeline = Pipeline(
            config.pipeline.max_queue_events,
            codec,
            self.publisher,
            self.metrics,
            config.nats.subject_prefix,
            depths={key: depth for key, (_, depth) in books.items() if depth > 0},
            resync_book=self._request_resync,
            state=state,
            standby_ring_events=cluster.standby_ring_events if standby else 0,
            on_resume=self._stream_resumed,
            takeover_catchup_s=cluster.takeover_catchup_s,
        )
        self.metrics.replica_leader.set(0 if standby else 1)
        self._takeover_task: asyncio.Task[None] | None = None
        self._stuck_timer: asyncio.TimerHandle | None = None
        """Ends the process if a stop overruns (:mod:`~relay.infrastructure.stuck_tasks`)."""
        self._http_client = httpx.AsyncClient()
        self.recorder = (
            CaptureRecorder(
                config.recording, self.metrics.recording_drop, self.metrics.recording_written
            )
            if config.recording.enabled
            else None
        )
        self.connections = {name: self._connection(spec, name, part) for spec, name, part in plans}
        self.subscriptions = SubscriptionManager(self.connections)
        self.control = (
            ControlPlane(
                config,
                self.connections,
                self.subscriptions,
                self._connection,
                self.pipeline,
                self.health,
                self.consumer_state,
                self._book_connections,
                self.metrics,
                NatsView(self._nats_connected, self._nats_server, self._nats_reconnects),
            )
            if config.control.enabled
            else None
        )
        routes = [*self.control.routes, *ui_routes()] if self.control is not None else []
        self.http = (
            HttpServer(build_app(self.health, self.metrics, routes), config.http, self._http_shed)
            if config.http.enabled
            else None
        )

    def _connection(self, spec: VenueSpec, name: str, part: VenueConfig) -> VenueConnection:
        """A venue connection named ``name`` for the config ``part`` (not yet running)."""
        return VenueConnection(
            spec,
            part,
            self.pipeline.put,
            self.metrics,
            self.health,
            self._http_client,
            name=name,
            recorder=self.recorder,
        )

    def _nats_connected(self) -> bool:
        return self.health.nats_connected

    def _nats_server(self) -> str:
        client = self.publisher.client
        url = client.connected_url if client is not None else None
        return f"{url.hostname}:{url.port}" if url is not None else ""

    def _nats_reconnects(self) -> int:
        client = self.publisher.client
        return int(client.stats.get("reconnects", 0)) if client is not None else 0

    def _http_shed(self, action: ShedAction) -> None:
        self.metrics.http_connection_shed(action.value)

    def _nats_state(self, connected: bool) -> None:
        self.health.nats_connected = connected

    def _nats_refused(self, reason: str) -> None:
        self.health.nats_reason = reason

    def _message_dropped(self, message: OutboundMessage, reason: str) -> None:
        self.pipeline.message_dropped(message, reason)

    def _request_resync(self, instrument: Instrument, reason: str) -> None:
        """Queue a book resync for :meth:`_resync_books` (at most one pending per book)."""
        if instrument not in self._resyncs_pending:
            self._resyncs_pending.add(instrument)
            self._resync_requests.put_nowait((instrument, reason))

    async def _resync_books(self) -> None:
        """Hand queued book resyncs to their venue connections, until cancelled.

        Its own task: a venue reader may be waiting on a full pipeline queue
        while holding its connection, so the pipeline never waits for this.
        """
        while True:
            instrument, reason = await self._resync_requests.get()
            self._resyncs_pending.discard(instrument)
            name = self._book_connections.get((instrument.venue, instrument.instrument))
            connection = self.connections.get(name) if name is not None else None
            if connection is not None:  # None: the book was removed at runtime meanwhile
                await connection.resync_book(instrument.instrument, reason)

    def _stream_resumed(self, subject: str, kind: ResumeKind, held_s: float | None) -> None:
        self.resumed[kind] += 1
        self.metrics.failover_streams.labels(kind.value).inc()
        if held_s is not None:
            self._held_max_s = max(self._held_max_s, held_s)
            if kind is ResumeKind.CONTINUED:
                self.caught_up += 1
        if kind in (ResumeKind.GAP, ResumeKind.RESYNC):
            extra: dict[str, object] = {"subject": subject, "kind": kind.value}
            if held_s is not None:
                extra["held_s"] = round(held_s, 3)
            log.warning(
                "stream resumed with a gap"
                if kind is ResumeKind.GAP
                else "stream resumed by a book resync",
                extra=extra,
            )
        self._log_takeover()

    def _log_takeover(self) -> None:
        """Write the takeover's line once every stream seen at it has resumed.

        ``caught_up``: streams that held (the standby was behind their anchor) and
        then continued; ``held_max_s``: the longest hold (0 when none held).
        """
        if self._resume_s is None or self.pipeline.catching_up:
            return
        log.info(
            "took over as leader",
            extra={
                "resume_s": self._resume_s,
                "streams": {kind.value: count for kind, count in self.resumed.items()},
                "caught_up": self.caught_up,
                "held_max_s": round(self._held_max_s, 3),
            },
        )
        self._resume_s = None

    async def _take_over(self) -> None:
        """This process won the lease: resume every stream from JetStream, start the writer."""
        client = self.publisher.client
        assert client is not None
        started = time.monotonic()
        reader = AnchorReader(
            client.jetstream(timeout=self.config.nats.ack_timeout_s), self._content_type
        )
        await self.pipeline.promote(reader)
        self.health.cluster["role"] = "leader"
        self.metrics.replica_leader.set(1)
        if self.state_writer is not None:
            self._takeover_task = asyncio.create_task(
                self.state_writer.run(client), name="consumer-state"
            )
        self._resume_s = round(time.monotonic() - started, 3)
        self._log_takeover()

    def _lease_suspended(self, suspended: bool) -> None:
        """The leader could not renew its lease in time (True), or renewed it again (False):
        publishing and consumer-state writes are held meanwhile (``/health`` role
        ``suspended``, ``relay_replica_leader`` 0)."""
        self.health.cluster["role"] = "suspended" if suspended else "leader"
        self.metrics.replica_leader.set(0 if suspended else 1)
        if self.state_writer is not None:
            self.state_writer.paused = suspended
        self.publisher.fence(suspended, "leader lease not renewed in time")

    def _jetstream_state(self, ready: bool, problem: str) -> None:
        self.health.jetstream_ready = ready
        self.health.jetstream_problem = problem

    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set, then drain within ``shutdown_timeout_s``.

        Args:
            stop: set it to stop.

        Returns:
            the process exit code: 0, or ``EXIT_JETSTREAM_SETUP`` (2) when JetStream
            cannot be used at start, or ``EXIT_HTTP_BIND`` (2) when the HTTP port
            cannot be bound, or ``EXIT_RECORDING_DIR`` (2) when the recording
            directory cannot be created (one error line says why), or
            ``EXIT_UNEXPECTED`` (1) when a task failed on an unexpected error
            (one error line with every failure).
        """
        if self.http is not None:
            try:
                self.http.bind()
            except HttpBindError as exc:
                log.error(f"not starting: {exc}")
                await self._http_client.aclose()
                return EXIT_HTTP_BIND
            if self.http.max_connections < self.config.http.max_connections:
                log.warning(
                    "http max_connections lowered to leave file descriptors to the venues",
                    extra={
                        "max_connections": self.http.max_connections,
                        "configured": self.config.http.max_connections,
                    },
                )
        if self.recorder is not None:
            try:
                self.recorder.start()
            except OSError as exc:
                log.error(f"not starting: cannot create [recording] dir: {exc}")
                await self._http_client.aclose()
                return EXIT_RECORDING_DIR
        embedded: EmbeddedNats | None = None
        if self.config.nats.embedded:
            first = urlsplit(self.config.nats.urls[0])
            store = self.config.nats.embedded_store_dir
            embedded = EmbeddedNats(
                first.hostname or "127.0.0.1", first.port or 4222, Path(store) if store else None
            )
            await embedded.start()
            log.info("embedded nats-server started", extra={"url": embedded.url})
        try:
            return await self._run(stop)
        except Exception as exc:  # a task of the relay failed: one line, not a traceback dump
            log.error(
                "relay stopped on an unexpected error",
                extra={"errors": _leaf_errors(exc)},
                exc_info=exc,
            )
            return EXIT_UNEXPECTED
        finally:
            await self._http_client.aclose()
            if self.recorder is not None:
                await asyncio.to_thread(self.recorder.stop)
            if embedded is not None:
                await embedded.stop()
            if self._stuck_timer is not None:
                self._stuck_timer.cancel()

    async def _run(self, stop: asyncio.Event) -> int:
        async with asyncio.TaskGroup() as group:
            try:
                code = await self._run_in(group, stop)
            finally:
                # Stopping, or a task of the group failed: every task must now end.
                self._arm_stuck_timer()
        if code is not None:
            return code
        await self.publisher.close()
        return 0

    def _arm_stuck_timer(self) -> None:
        """From now on, a stop that overruns ends the process (see :mod:`.stuck_tasks`)."""
        if self._stuck_timer is None:
            stuck_after_s = self.config.pipeline.shutdown_timeout_s + SHUTDOWN_GRACE_S
            loop = asyncio.get_running_loop()
            self._stuck_timer = loop.call_later(stuck_after_s, exit_stuck, loop, stuck_after_s)

    async def _run_in(self, group: asyncio.TaskGroup, stop: asyncio.Event) -> int | None:
        """Start the tasks in ``group``, run until ``stop``, stop in order.

        Returns:
            an exit code when the relay stopped before publishing (NATS not
            reachable before the stop: 0; JetStream not usable:
            ``EXIT_JETSTREAM_SETUP``), None after a run (the publisher is closed
            once every task has ended).
        """
        http_task = group.create_task(self.http.run()) if self.http else None
        connecting = group.create_task(self._connect(), name="nats-connect")
        stopping = group.create_task(stop.wait(), name="stop")
        await asyncio.wait([connecting, stopping], return_when=asyncio.FIRST_COMPLETED)
        if not connecting.done():
            connecting.cancel()
            await self._stop_http(http_task)
            log.info("stopped before NATS was reachable; nothing was read")
            return 0
        stopping.cancel()
        if not connecting.result():
            await self._stop_http(http_task)
            return EXIT_JETSTREAM_SETUP
        publisher_task = group.create_task(self.publisher.run(), name="publisher")
        pipeline_task = group.create_task(self.pipeline.run(), name="pipeline")
        resync_task = group.create_task(self._resync_books(), name="book-resyncs")
        client = self.publisher.client
        writer_task = (
            group.create_task(self.state_writer.run(client), name="consumer-state")
            if self.state_writer is not None and client is not None and self.lease is None
            else None
        )
        lease_task = (
            group.create_task(
                self.lease.run(client.jetstream(timeout=self.config.nats.ack_timeout_s)),
                name="leader-lease",
            )
            if self.lease is not None and client is not None
            else None
        )
        control_task = None
        if self.control is not None:
            if client is not None:
                await self.control.open(client)
                control_task = group.create_task(self.control.run(), name="control")
            self.control.loaded.set()
        venues_task = group.create_task(self.subscriptions.run(), name="venues")
        log.info("relay running", extra={"venues": list(self.connections)})
        self.running.set()
        await stop.wait()
        log.info("stopping: closing venue connections, then draining")
        self._arm_stuck_timer()
        if self.control is not None:
            self.control.stop()
        if control_task is not None:
            control_task.cancel()
        started = time.monotonic()
        timeout_s = self.config.pipeline.shutdown_timeout_s

        def left_s() -> float:
            return max(0.0, timeout_s - (time.monotonic() - started))

        await self.subscriptions.stop(timeout_s / 2)
        with contextlib.suppress(asyncio.CancelledError):
            await venues_task
        queued = await self.pipeline.drain(left_s())
        unacked = await self.publisher.drain(left_s())
        if lease_task is not None:
            lease_task.cancel()
            assert self.lease is not None
            await self.lease.release()
        pipeline_task.cancel()
        publisher_task.cancel()
        resync_task.cancel()
        for task in (writer_task, self._takeover_task):
            if task is not None:
                task.cancel()
        await self._stop_http(http_task)
        log.info(
            "stopped",
            extra={
                "events_read": self.pipeline.accepted,
                "duplicates_suppressed": self.pipeline.duplicates,
                "published": self.publisher.published,
                "dropped": self.publisher.dropped,
                "not_published": queued + unacked,
                "shutdown_s": round(time.monotonic() - started, 3),
            },
        )
        return None

    async def _connect(self) -> bool:
        """Connect the publisher; False (logged as one line) when JetStream cannot be
        used or the installed nats-py is not one the publisher supports."""
        try:
            await self.publisher.connect()
            client = self.publisher.client
            if self.config.consumer_state.enabled and client is not None:
                await BucketKeeper(self.config.consumer_state).check(
                    client.jetstream(timeout=5.0), wait_s=START_CHECK_S
                )
        except StreamSetupError as exc:
            log.error(f"not starting: {exc.reason}")
            await self.publisher.close()
            return False
        except UnsupportedNatsClientError as exc:
            log.error(f"not starting: {exc}")
            return False
        return True

    async def _stop_http(self, task: asyncio.Task[None] | None) -> None:
        """Let uvicorn shut down on its own (closing its socket); cancel it after 5 s."""
        if self.http is None or task is None:
            return
        self.http.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), 5.0)
        except TimeoutError:
            task.cancel()
