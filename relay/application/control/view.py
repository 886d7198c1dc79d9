"""What the control API shows of each stream: state, rate, counts, top of book.

Pure: records and book images in, JSON-ready dicts out (Decimals as strings,
times in seconds). The shape is the ``Stream`` object of docs/control.md.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal

from relay.application.consumer_state import BookImage, StatusRecord, StreamState
from relay.application.control.desired import StreamKey, StreamSpec
from relay.domain.model import PriceLevel

RATE_WINDOW_S = 60.0
"""``events_per_s`` is measured over this many seconds (less just after start)."""


class EventRates:
    """Events per second of each stream over the last :data:`RATE_WINDOW_S`.

    Fed by :meth:`sample` (about once a second) with each stream's running
    total; bounded: samples older than the window are dropped, so at most
    ``window / sampling interval`` samples are kept.
    """

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, dict[StreamKey, int]]] = deque()

    def sample(self, now_s: float, totals: Mapping[StreamKey, int]) -> None:
        """Record each stream's total at monotonic time ``now_s``."""
        self._samples.append((now_s, dict(totals)))
        while len(self._samples) > 2 and now_s - self._samples[1][0] >= self.window_s:
            self._samples.popleft()

    def rate(self, key: StreamKey) -> float:
        """Events per second between the oldest and newest sample (0.0 before two samples)."""
        if len(self._samples) < 2:
            return 0.0
        (t0, first), (t1, last) = self._samples[0], self._samples[-1]
        if t1 <= t0:
            return 0.0
        return round(max(0, last.get(key, 0) - first.get(key, 0)) / (t1 - t0), 3)


def _level(levels: Mapping[Decimal, PriceLevel], best: str) -> list[str] | None:
    if not levels:
        return None
    price, quantity = (max if best == "max" else min)(levels.values())
    return [str(price), str(quantity)]


def book_view(image: BookImage | None) -> dict[str, object] | None:
    """``{"depth": [bids, asks], "best_bid": ["price", "qty"] | None, "best_ask": ...}``
    of the book as published (None before its first snapshot)."""
    if image is None or not image.sequence:
        return None
    return {
        "depth": [len(image.bids), len(image.asks)],
        "best_bid": _level(image.bids, "max"),
        "best_ask": _level(image.asks, "min"),
    }


def stream_view(
    spec: StreamSpec,
    record: StatusRecord | None,
    image: BookImage | None,
    events_per_s: float,
    now_s: float,
    now_ms: int,
) -> dict[str, object]:
    """One stream as ``GET /api/v1/streams`` shows it (docs/control.md, ``Stream``).

    Args:
        spec: the desired stream.
        record: its status record (None: the relay keeps none, ``[consumer_state]``
            disabled, or not yet).
        image: its book image (books only).
        events_per_s: from :class:`EventRates`.
        now_s, now_ms: monotonic seconds and epoch milliseconds now.
    """
    last = record.last_event_ms if record is not None else None
    if spec.paused:
        state = "paused"
    elif record is None:
        state = StreamState.DISCONNECTED.value
    else:
        state = record.shown(now_s).value
    return {
        "venue": spec.venue,
        "instrument": spec.instrument,
        "canonical_symbol": spec.canonical_symbol,
        "data_type": spec.data_type.value,
        "state": state,
        "paused": spec.paused,
        "depth": spec.depth if spec.data_type.value == "l2_orderbook" else None,
        "stale_after_s": spec.stale_after_s or None,
        "events_per_s": events_per_s,
        "events_total": record.events if record is not None else 0,
        "last_event_age_s": None if last is None else round(max(0, now_ms - last) / 1000, 3),
        "resyncs": record.resyncs if record is not None else 0,
        "book": book_view(image) if spec.data_type.value == "l2_orderbook" else None,
        "origin": spec.origin,
    }
