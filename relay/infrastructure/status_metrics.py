"""Prometheus metrics that also tell the stream states of :class:`ConsumerState`.

Book resyncs, closed venue connections and the stale watchdog are reported to
the metrics by the venue connections; this subclass passes the same calls on
to :class:`~relay.application.consumer_state.ConsumerState`, so ``/metrics``
and the ``relay-status`` bucket read the same transitions.
"""

from __future__ import annotations

from relay.application.consumer_state import ConsumerState
from relay.infrastructure.metrics import PrometheusMetrics


class StatusMetrics(PrometheusMetrics):
    """:class:`PrometheusMetrics` feeding stream states.

    Args:
        state: the consumer state whose status records change.
    """

    def __init__(self, state: ConsumerState) -> None:
        super().__init__()
        self._state = state

    def book_resync(self, venue: str, instrument: str, reason: str) -> None:
        """Counted; the book's status becomes ``resyncing``."""
        super().book_resync(venue, instrument, reason)
        self._state.resync(venue, instrument, reason)

    def venue_connected(self, venue: str, connected: bool) -> None:
        """Gauged; a closed connection's streams become ``disconnected``."""
        super().venue_connected(venue, connected)
        if not connected:
            self._state.connection_closed(venue)

    def stale_reconnect(self, venue: str, data_type: str) -> None:
        """Counted; the connection's streams of ``data_type`` become ``stale``."""
        super().stale_reconnect(venue, data_type)
        self._state.stale(venue, data_type)
