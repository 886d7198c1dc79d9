"""What the pipeline keeps per stream and per venue: message ids seen, the stream's shared parts."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from relay.application.book_publication import DepthView
from relay.application.consumer_state import (
    LATEST_TYPES,
    BookImage,
    ConsumerState,
    StatusRecord,
    state_key,
)
from relay.application.standby import CatchUp, StandbyRing
from relay.domain.model import DataType, MarketEvent

RECENT_IDS_PER_VENUE = 100_000
"""How many message ids per venue the pipeline remembers to suppress re-published events."""


class RecentIds:
    """The last ``capacity`` message ids seen, for one venue (a bounded set, oldest forgotten)."""

    __slots__ = ("_capacity", "_ids", "_order")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: set[str] = set()
        self._order: deque[str] = deque()

    def add(self, msg_id: str) -> bool:
        """Remember ``msg_id``; False if it was already remembered."""
        if msg_id in self._ids:
            return False
        self._ids.add(msg_id)
        self._order.append(msg_id)
        if len(self._order) > self._capacity:
            self._ids.discard(self._order.popleft())
        return True


class Stream:
    """What every event of one (venue, instrument, data type) shares, worked out once."""

    __slots__ = (
        "book",
        "book_complete",
        "catch_up",
        "data_type",
        "depth_view",
        "held",
        "image",
        "key",
        "latest",
        "latest_key",
        "msg_id_prefix",
        "numbers",
        "paused",
        "recent",
        "ring",
        "status",
        "subject",
        "venue",
    )

    def __init__(
        self,
        event: MarketEvent,
        subject_prefix: str,
        numbers: Iterator[int],
        recent: RecentIds,
        depth: int,
        state: ConsumerState | None,
    ) -> None:
        instrument = event.instrument
        self.key = (instrument, event.data_type)
        self.subject = instrument.subject(event.data_type, subject_prefix)
        self.msg_id_prefix = event.msg_id.removesuffix(event.dedup_key)
        """Every message id of the stream is this + the event's ``dedup_key``."""
        self.venue = instrument.venue
        self.data_type = event.data_type.value
        self.numbers = numbers
        self.recent = recent
        self.paused = False
        """Read but not published (a runtime knob): counted as dropped, ``reason="paused"``.
        Set through :meth:`set_paused`."""
        self.ring: StandbyRing | None = None
        """A standby's held-back events; None once publishing. Set through :meth:`set_ring`."""
        self.held = False
        """``paused`` or a ``ring``: the one check the pipeline makes per event before
        taking its common way."""
        self.catch_up: CatchUp | None = None
        """Set while a new leader holds the stream until its ring reaches the anchor."""
        is_book = event.data_type is DataType.L2_ORDERBOOK
        self.book = instrument if is_book else None
        """The instrument of a book stream (carried by its messages), None for other types."""
        self.book_complete = False
        """A book stream: its last snapshot went out whole, so deltas may follow."""
        self.depth_view = DepthView(depth) if is_book and depth > 0 else None
        self.status: StatusRecord | None = None
        self.latest_key: str | None = None
        """The latest-value key of a ticker, funding rate, open interest or candle stream."""
        self.image: BookImage | None = None
        self.latest: dict[str, bytes] = {}
        """Where a latest value goes: the consumer state's pending values."""
        if state is not None:
            self.latest = state.pending_latest
            self.status = state.record(instrument, event.data_type)
            if event.data_type in LATEST_TYPES:
                self.latest_key = state_key(instrument, event.data_type)
            if is_book:
                self.image = state.book(instrument)

    def set_paused(self, paused: bool) -> None:
        """Pause (True) or resume publishing the stream's events."""
        self.paused = paused
        self.held = paused or self.ring is not None

    def set_ring(self, ring: StandbyRing | None) -> None:
        """Hold the stream's events in ``ring`` (a standby), or publish them (None)."""
        self.ring = ring
        self.held = self.paused or ring is not None
