"""The control API's views of the running relay: streams, venues, the status snapshot.

:class:`RelayStatus` reads the health monitor, the stream records, the
pipeline queue, the publisher and the latency histogram; its
:meth:`~RelayStatus.run` samples every stream's total once a second for
``events_per_s`` (:class:`~relay.application.control.view.EventRates`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from relay.application.consumer_state import ConsumerState
from relay.application.control.desired import StreamKey
from relay.application.control.service import ControlService
from relay.application.control.view import EventRates, stream_view
from relay.application.health import UP_STATES, ConnectionState, HealthMonitor
from relay.domain.model import Instrument
from relay.infrastructure.cancellation import raise_if_cancelled
from relay.infrastructure.metrics import PrometheusMetrics

_UP_VALUES = frozenset(state.value for state in UP_STATES)
"""``/health`` state strings of a connection that delivers."""

SAMPLE_INTERVAL_S = 1.0
"""Seconds between two samples of the streams' totals."""


@dataclass(frozen=True, slots=True)
class NatsView:
    """How the status reads the NATS connection: ``connected()``, ``server()``, ``reconnects()``."""

    connected: Callable[[], bool]
    server: Callable[[], str]
    reconnects: Callable[[], int]


def latency_quantiles(metrics: PrometheusMetrics) -> dict[str, float] | None:
    """p50 and p99 of ``relay_publish_latency_seconds`` since start, every venue together.

    Each is the upper bound of the histogram bucket holding that quantile (the
    buckets of :data:`~relay.infrastructure.metrics.PUBLISH_LATENCY_BUCKETS_S`; past the
    last bound: the last bound). None before the first acknowledged event.
    """
    histogram = metrics.publish_latency_seconds
    bounds = histogram.buckets
    counts = [0] * (len(bounds) + 1)
    for series, _ in list(histogram.series.values()):
        for index, count in enumerate(series):
            counts[index] += count
    total = sum(counts)
    if not total:
        return None

    def quantile(q: float) -> float:
        running = 0
        for index, count in enumerate(counts):
            running += count
            if running >= q * total:
                return bounds[min(index, len(bounds) - 1)]
        return bounds[-1]

    return {"p50": quantile(0.5), "p99": quantile(0.99)}


class RelayStatus:
    """The streams, venues and status snapshot the API serves.

    Args:
        service: the desired streams.
        state: the streams' records and book images.
        health: connection states.
        metrics: the latency histogram.
        queue_depth: events waiting in the pipeline now.
        nats: the NATS connection's view.
    """

    def __init__(
        self,
        service: ControlService,
        state: ConsumerState,
        health: HealthMonitor,
        metrics: PrometheusMetrics,
        queue_depth: Callable[[], int],
        nats: NatsView,
    ) -> None:
        self.service = service
        self.state = state
        self.health = health
        self.metrics = metrics
        self.queue_depth = queue_depth
        self.nats = nats
        self.rates = EventRates()

    def _totals(self) -> dict[StreamKey, int]:
        return {
            (venue, instrument, data_type): record.events
            for (venue, instrument, data_type), record in self.state.records.items()
        }

    async def run(self) -> None:
        """Sample the totals every :data:`SAMPLE_INTERVAL_S`, until cancelled."""
        while True:
            raise_if_cancelled()
            self.rates.sample(time.monotonic(), self._totals())
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    def streams(self) -> list[dict[str, object]]:
        """Every desired stream's ``Stream`` row, by (venue, instrument, data type)."""
        now_s, now_ms = time.monotonic(), time.time_ns() // 1_000_000
        rows = []
        for spec in self.service.streams():
            record = self.state.records.get(spec.key)
            image = self.state.books.get(
                Instrument(spec.venue, spec.instrument, spec.canonical_symbol)
            )
            rows.append(stream_view(spec, record, image, self.rates.rate(spec.key), now_s, now_ms))
        return rows

    def venues(self) -> list[dict[str, object]]:
        """Each venue id: ``{"id", "state", "circuit", "reconnects", "connections",
        "last_message_age_s", "connection_states"}``; ``state`` is ``connected`` when
        every connection delivers (``polling`` when each does over REST only), else
        the first one's state that does not."""
        report = self.health.report()["venues"]
        assert isinstance(report, dict)
        venues: dict[str, list[tuple[str, dict[str, object]]]] = {}
        for name, entry in report.items():
            venues.setdefault(name.split("#")[0], []).append((name, entry))
        rows: list[dict[str, object]] = []
        for venue, entries in sorted(venues.items()):
            states = [str(e["state"]) for _, e in entries]
            down = [s for s in states if s not in _UP_VALUES]
            polling = all(s == ConnectionState.POLLING.value for s in states)
            ages = [
                e["last_message_age_s"] for _, e in entries if e["last_message_age_s"] is not None
            ]
            circuits = [str(e["circuit"]) for _, e in entries]
            rows.append(
                {
                    "id": venue,
                    "state": down[0]
                    if down
                    else (ConnectionState.POLLING if polling else ConnectionState.CONNECTED).value,
                    "circuit": next((c for c in circuits if c != "closed"), "closed"),
                    "reconnects": sum(int(str(e["reconnects"])) for _, e in entries),
                    "connections": len(entries),
                    "last_message_age_s": min(ages, key=float) if ages else None,  # type: ignore[arg-type]
                    "connection_states": {name: e["state"] for name, e in entries},
                }
            )
        return rows

    def status(self) -> dict[str, object]:
        """The ``/api/v1/status`` snapshot (docs/control.md)."""
        return {
            "nats": {
                "connected": self.nats.connected(),
                "server": self.nats.server(),
                "reconnects": self.nats.reconnects(),
            },
            "queue_depth": self.queue_depth(),
            "publish_latency_s": latency_quantiles(self.metrics),
            "streams": self.streams(),
            "venues": self.venues(),
        }
