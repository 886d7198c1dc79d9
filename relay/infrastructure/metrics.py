"""Prometheus metrics (prometheus-client), one registry per relay.

Every metric is named ``relay_*``; see docs/operations.md for the alert rules
built on them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from relay.application.circuit_breaker import BreakerState
from relay.application.ports import MetricsSink

_CIRCUIT_GAUGE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
"""``relay_circuit_breaker_state`` value of each breaker state."""


class HotCounter(Collector):
    """A counter family kept in a plain dict and read only when Prometheus scrapes.

    For the per-event counters: no lock and no label lookup per increment.
    Increments come from the event loop's thread only.

    Args:
        name: without ``_total`` (``relay_events_received``).
        documentation: the HELP text.
        labels: label names, in the order keys are given to :meth:`inc`.
    """

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.values: defaultdict[tuple[str, ...], int] = defaultdict(int)

    def inc(self, key: tuple[str, ...]) -> None:
        """Add one to the series ``key`` (label values)."""
        self.values[key] += 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The family as Prometheus reads it."""
        family = CounterMetricFamily(self.name, self.documentation, labels=list(self.labels))
        for key, value in list(self.values.items()):
            family.add_metric(list(key), value)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        """The family without samples (for the registry's name checks)."""
        yield CounterMetricFamily(self.name, self.documentation, labels=list(self.labels))


PUBLISH_LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of ``relay_publish_latency_seconds``: 0.5 ms to 10 s, then +Inf."""


class HotHistogram(Collector):
    """A histogram family kept in plain lists and read only when Prometheus scrapes.

    For per-event observations: one ``bisect`` and two additions, no lock.
    Observations come from the event loop's thread only.

    Args:
        name: the family name (``relay_publish_latency_seconds``).
        documentation: the HELP text.
        label: the one label's name (``venue``).
        buckets: upper bounds, ascending, without +Inf.
    """

    def __init__(self, name: str, documentation: str, label: str, buckets: tuple[float, ...]):
        self.name = name
        self.documentation = documentation
        self.label = label
        self.buckets = buckets
        self.series: dict[str, tuple[list[int], list[float]]] = {}
        """label value -> (count per bucket, +Inf last; [sum])."""

    def observe(self, value: str, seconds: float) -> None:
        """Record one observation of ``seconds`` in the series ``value`` (the label value)."""
        series = self.series.get(value)
        if series is None:
            series = self.series[value] = ([0] * (len(self.buckets) + 1), [0.0])
        series[0][bisect_left(self.buckets, seconds)] += 1
        series[1][0] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        """The family as Prometheus reads it (cumulative buckets)."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        bounds = [*(repr(b) for b in self.buckets), "+Inf"]
        for value, (counts, total) in list(self.series.items()):
            cumulative: list[tuple[str, float]] = []
            running = 0
            for bound, count in zip(bounds, counts, strict=True):
                running += count
                cumulative.append((bound, running))
            family.add_metric([value], cumulative, total[0])
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        """The family without samples (for the registry's name checks)."""
        yield HistogramMetricFamily(self.name, self.documentation, labels=[self.label])


class PrometheusMetrics(MetricsSink):
    """The relay's counters and gauges.

    Label children are cached: ``labels()`` is looked up once per label set,
    not once per event.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = HotCounter(
            "relay_events_received", "Events normalized from venue frames", ("venue", "data_type")
        )
        self.published = HotCounter(
            "relay_events_published", "Events acknowledged by JetStream", ("venue", "data_type")
        )
        r.register(self.received)
        r.register(self.published)
        self.dropped = Counter(
            "relay_events_dropped",
            "Events given up on after retries",
            ["venue", "data_type", "reason"],
            registry=r,
        )
        self.rejected = Counter(
            "relay_frames_rejected",
            "Venue frames counted and skipped",
            ["venue", "reason"],
            registry=r,
        )
        self.resyncs = Counter(
            "relay_book_resyncs",
            "Order books re-synchronized from a new snapshot",
            ["venue", "instrument", "reason"],
            registry=r,
        )
        self.reconnects = Counter(
            "relay_venue_reconnects", "Venue connections re-opened", ["venue"], registry=r
        )
        self.connected = Gauge(
            "relay_venue_connected", "1 while the venue connection is open", ["venue"], registry=r
        )
        self.depth = Gauge(
            "relay_queue_depth_events", "Events waiting for the publisher", registry=r
        )
        self.nats_connected_gauge = Gauge(
            "relay_nats_connected", "1 while connected to NATS", registry=r
        )
        self.jetstream_ready_gauge = Gauge(
            "relay_jetstream_ready",
            "1 while publishing: JetStream and the streams checked since the last outage signal",
            registry=r,
        )
        self.publish_retries = Counter(
            "relay_publish_retries", "JetStream publishes sent again", ["venue"], registry=r
        )
        self.in_flight = Gauge(
            "relay_publish_in_flight", "Publishes awaiting a JetStream ack", registry=r
        )
        self.stale = Counter(
            "relay_stale_reconnects",
            "Connections replaced because a subscription went silent",
            ["venue", "data_type"],
            registry=r,
        )
        self.circuit = Gauge(
            "relay_circuit_breaker_state",
            "Venue circuit breaker: 0 closed, 1 half-open, 2 open",
            ["venue"],
            registry=r,
        )
        self.failover_streams = Counter(
            "relay_failover_streams",
            "Streams resumed by a hot standby taking over, by how: continued, from_start,"
            " gap (one sequence number skipped), resync (book)",
            ["kind"],
            registry=r,
        )
        self.replica_leader = Gauge(
            "relay_replica_leader",
            "1 while this process publishes (the lease holder, or [cluster] mode single),"
            " 0 as a hot standby",
            registry=r,
        )
        self.rotations = Counter(
            "relay_connection_rotations", "Planned connection rotations", ["venue"], registry=r
        )
        self.rest_requests = Counter(
            "relay_rest_requests", "REST requests by answer status", ["venue", "status"], registry=r
        )
        self.rest_polls = Counter(
            "relay_rest_polls",
            "REST polls (data only offered over REST, or the fallback) by endpoint and outcome",
            ["venue", "endpoint", "outcome"],
            registry=r,
        )
        self.rest_fallback = Gauge(
            "relay_rest_fallback_active",
            "1 while a venue connection polls trades and tickers over REST (WebSocket down)",
            ["venue"],
            registry=r,
        )
        self.duplicates = Counter(
            "relay_events_duplicate",
            "Events not published again (message id already published)",
            ["venue", "data_type"],
            registry=r,
        )
        self.publish_latency_seconds = HotHistogram(
            "relay_publish_latency_seconds",
            "Seconds from reading the venue frame to handling JetStream's ack",
            "venue",
            PUBLISH_LATENCY_BUCKETS_S,
        )
        r.register(self.publish_latency_seconds)
        self.http_shed = Counter(
            "relay_http_connections_shed",
            "HTTP connections closed at [http] max_connections (evicted_idle, refused)",
            ["action"],
            registry=r,
        )
        self.recording_dropped = Counter(
            "relay_recording_dropped",
            "Venue traffic records not recorded (queue_full, binary_frame, write_error)",
            ["venue", "reason"],
            registry=r,
        )
        self.recording_records = Counter(
            "relay_recording_records",
            "Venue traffic records written to capture files",
            ["venue"],
            registry=r,
        )
        self._children: dict[tuple[object, ...], MetricWrapperBase] = {}

    def _child(self, metric: MetricWrapperBase, *labels: str) -> MetricWrapperBase:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def event_received(self, venue: str, data_type: str) -> None:
        """Count a normalized event."""
        self.received.values[(venue, data_type)] += 1

    def frame_rejected(self, venue: str, reason: str) -> None:
        """Count a skipped frame."""
        self._child(self.rejected, venue, reason).inc()  # type: ignore[attr-defined]

    def book_resync(self, venue: str, instrument: str, reason: str) -> None:
        """Count a resync."""
        self._child(self.resyncs, venue, instrument, reason).inc()  # type: ignore[attr-defined]

    def event_published(self, venue: str, data_type: str) -> None:
        """Count an acknowledged event."""
        self.published.values[(venue, data_type)] += 1

    def event_dropped(self, venue: str, data_type: str, reason: str) -> None:
        """Count a dropped event."""
        self._child(self.dropped, venue, data_type, reason).inc()  # type: ignore[attr-defined]

    def publish_latency(self, venue: str, seconds: float) -> None:
        """Observe one frame-to-ack latency."""
        self.publish_latency_seconds.observe(venue, seconds)

    def http_connection_shed(self, action: str) -> None:
        """Count an HTTP connection closed at the connection cap (``evicted_idle``, ``refused``)."""
        self._child(self.http_shed, action).inc()  # type: ignore[attr-defined]

    def queue_depth(self, depth: int) -> None:
        """Set the queue depth gauge."""
        self.depth.set(depth)

    def venue_connected(self, venue: str, connected: bool) -> None:
        """Set a venue's connection gauge."""
        self._child(self.connected, venue).set(1 if connected else 0)  # type: ignore[attr-defined]

    def reconnect(self, venue: str) -> None:
        """Count a reconnect."""
        self._child(self.reconnects, venue).inc()  # type: ignore[attr-defined]

    def stale_reconnect(self, venue: str, data_type: str) -> None:
        """Count a stale-subscription reconnect."""
        self._child(self.stale, venue, data_type).inc()  # type: ignore[attr-defined]

    def circuit_state(self, venue: str, state: BreakerState) -> None:
        """Set the breaker gauge."""
        value = _CIRCUIT_GAUGE[state]
        self._child(self.circuit, venue).set(value)  # type: ignore[attr-defined]

    def rotation(self, venue: str) -> None:
        """Count a planned rotation."""
        self._child(self.rotations, venue).inc()  # type: ignore[attr-defined]

    def recording_drop(self, venue: str, reason: str, count: int) -> None:
        """Count records not recorded (from any thread)."""
        self.recording_dropped.labels(venue, reason).inc(count)

    def recording_written(self, venue: str, count: int) -> None:
        """Count records written to capture files (from the writer thread)."""
        self.recording_records.labels(venue).inc(count)

    def rest_request(self, venue: str, status: str) -> None:
        """Count a REST answer."""
        self._child(self.rest_requests, venue, status).inc()  # type: ignore[attr-defined]

    def rest_poll(self, venue: str, endpoint: str, outcome: str) -> None:
        """Count a REST poll's outcome (``ok``, ``failed``, ``bad_body``)."""
        self._child(self.rest_polls, venue, endpoint, outcome).inc()  # type: ignore[attr-defined]

    def rest_fallback_active(self, venue: str, active: bool) -> None:
        """Set a venue connection's REST fallback gauge."""
        self._child(self.rest_fallback, venue).set(1 if active else 0)  # type: ignore[attr-defined]

    def event_duplicate(self, venue: str, data_type: str) -> None:
        """Count a suppressed duplicate."""
        self._child(self.duplicates, venue, data_type).inc()  # type: ignore[attr-defined]

    def publish_retry(self, venue: str) -> None:
        """Count a publish sent again."""
        self._child(self.publish_retries, venue).inc()  # type: ignore[attr-defined]

    def publish_in_flight(self, count: int) -> None:
        """Set the in-flight gauge."""
        self.in_flight.set(count)

    def nats_connected(self, connected: bool) -> None:
        """Set the NATS connection gauge."""
        self.nats_connected_gauge.set(1 if connected else 0)

    def jetstream_ready(self, ready: bool) -> None:
        """Set the JetStream readiness gauge."""
        self.jetstream_ready_gauge.set(1 if ready else 0)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
