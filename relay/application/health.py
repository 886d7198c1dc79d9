"""What ``/health`` reports: NATS state, each venue connection, last message age."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from relay.application.circuit_breaker import BreakerState
from relay.application.consumer_state import ConsumerState


class HealthStatus(enum.Enum):
    """Overall state. ``unhealthy`` answers 503 on ``/health``."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class ConnectionState(enum.Enum):
    """A venue connection's state."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    POLLING = "polling"
    """No WebSocket needed: every data type of the connection is polled over REST."""


UP_STATES = frozenset({ConnectionState.CONNECTED, ConnectionState.POLLING})
"""States of a connection that delivers (the others count as down)."""


@dataclass(slots=True)
class VenueHealth:
    """One venue's connection state, last message time (epoch ms), reconnects, breaker state."""

    state: ConnectionState = ConnectionState.CONNECTING
    last_message_ms: int | None = None
    reconnects: int = 0
    circuit: BreakerState = BreakerState.CLOSED


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class HealthMonitor:
    """Collects the states ``/health`` reports.

    Rules: NATS down, or JetStream not storing (an outage: a lost stream being
    re-created, no responders, an overdue ack, a stream problem) -> unhealthy;
    every venue down -> unhealthy; some venue
    down, or silent for longer than ``stale_after_s`` -> degraded; else healthy.

    The ``streams`` section (with ``streams`` given) reports each (venue,
    instrument, data type)'s state from the same records the ``relay-status``
    bucket is written from (:meth:`ConsumerState.health`); it does not change
    ``status``.

    Args:
        venues: the enabled venue ids.
        stale_after_s: message age after which a connected venue counts as stale.
        streams: the stream states; None leaves the ``streams`` section out
            (``[consumer_state] enabled = false``).
    """

    def __init__(
        self, venues: list[str], stale_after_s: float = 60.0, streams: ConsumerState | None = None
    ) -> None:
        self.streams = streams
        self.nats_connected = False
        self.jetstream_ready = True
        """False while the publisher reports an outage; ``jetstream_problem`` says why."""
        self.jetstream_problem = ""
        self.nats_reason = ""
        """Why NATS is not connected when the server refused the relay (one line, no
        secrets: ``nats: authorization violation for user "relay"``); "" otherwise."""
        self.venues = {venue: VenueHealth() for venue in venues}
        self.stale_after_ms = int(stale_after_s * 1000)
        self.started_at_ms = _now_ms()
        self.cluster: dict[str, object] = {}
        """The ``cluster`` section (group, shard, shards, role, subscriptions); empty: left out."""

    def add_connection(self, name: str) -> None:
        """A venue connection opened at runtime is reported from now on."""
        self.venues.setdefault(name, VenueHealth())

    def remove_connection(self, name: str) -> None:
        """A venue connection closed at runtime is no longer reported."""
        self.venues.pop(name, None)

    def venue_state(self, venue: str, state: ConnectionState) -> None:
        """Record a connection state change."""
        health = self.venues.get(venue)
        if health is None:  # a connection removed at runtime, closing
            return
        if state is ConnectionState.CONNECTING and health.state is not ConnectionState.CONNECTING:
            health.reconnects += 1
        health.state = state

    def venue_circuit(self, venue: str, state: BreakerState) -> None:
        """Record the venue's circuit breaker state."""
        health = self.venues.get(venue)
        if health is not None:
            health.circuit = state

    def venue_message(self, venue: str, received_at_ms: int) -> None:
        """Record that a frame arrived."""
        health = self.venues.get(venue)
        if health is not None:
            health.last_message_ms = received_at_ms

    def status(self, now_ms: int | None = None) -> HealthStatus:
        """The overall status now."""
        return self._evaluate(now_ms if now_ms is not None else _now_ms())[0]

    def report(self, now_ms: int | None = None) -> dict[str, object]:
        """The ``/health`` JSON document.

        Shape::

            {"status": "healthy",
             "nats": {"connected": true, "jetstream_ready": true, "problem": "",
                      "reason": ""},
             "uptime_s": 12.3,
             "venues": {"binance-usdm": {"state": "connected", "last_message_age_s": 0.2,
                                         "stale": false, "reconnects": 0,
                                         "circuit": "closed"}},
             "streams": {"binance-usdm": {"SUSHIUSDT": {"l2_orderbook": {
                 "state": "streaming", "last_event_age_s": 0.1, "resyncs": 1,
                 "last_reason": "gap"}}}}}

        ``streams``: only with a :class:`ConsumerState`; states ``streaming``,
        ``resyncing``, ``stale`` or ``disconnected``. ``cluster``: the shard and
        replica role, ``{"group": "relay", "shard": 0, "shards": 2, "role":
        "leader", "subscriptions": ["binance-usdm:SUSHIUSDT", ...]}`` (role
        ``single``, ``leader``, ``standby``, or ``suspended``: a leader that could not renew
        its lease in time, publishing nothing until it does).
        """
        now = now_ms if now_ms is not None else _now_ms()
        status, venues = self._evaluate(now)
        report: dict[str, object] = {
            "status": status.value,
            "nats": {
                "connected": self.nats_connected,
                "jetstream_ready": self.jetstream_ready,
                "problem": self.jetstream_problem,
                "reason": self.nats_reason,
            },
            "uptime_s": round((now - self.started_at_ms) / 1000, 3),
            "venues": venues,
        }
        if self.streams is not None:
            report["streams"] = self.streams.health(now_ms=now)
        if self.cluster:
            report["cluster"] = dict(self.cluster)
        return report

    def readiness(self) -> list[str]:
        """Why the relay cannot take traffic now (``/readyz``); empty when it is ready.

        Ready: NATS connected, JetStream storing, and at least one venue
        connection delivering (``connected``, or ``polling``: REST only). Each
        missing condition gives one short reason, e.g.
        ``["nats: not connected", "venues: none connected"]``.
        """
        reasons: list[str] = []
        if not self.nats_connected:
            reasons.append("nats: not connected")
        if not self.jetstream_ready:
            reasons.append(f"jetstream: {self.jetstream_problem or 'not ready'}")
        if not any(h.state in UP_STATES for h in self.venues.values()):
            reasons.append("venues: none connected")
        return reasons

    def _evaluate(self, now_ms: int) -> tuple[HealthStatus, dict[str, dict[str, object]]]:
        venues: dict[str, dict[str, object]] = {}
        down = 0
        stale_any = False
        for venue, health in self.venues.items():
            age_ms = None if health.last_message_ms is None else now_ms - health.last_message_ms
            stale = health.state is ConnectionState.CONNECTED and (
                (age_ms if age_ms is not None else now_ms - self.started_at_ms)
                > self.stale_after_ms
            )
            if health.state not in UP_STATES:
                down += 1
            stale_any = stale_any or stale
            venues[venue] = {
                "state": health.state.value,
                "last_message_age_s": None if age_ms is None else round(age_ms / 1000, 3),
                "stale": stale,
                "reconnects": health.reconnects,
                "circuit": health.circuit.value,
            }
        if (
            not self.nats_connected
            or not self.jetstream_ready
            or (self.venues and down == len(self.venues))
        ):
            status = HealthStatus.UNHEALTHY
        elif down or stale_any:
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.HEALTHY
        return status, venues
