"""Bitstamp's local order book: REST snapshot and ``diff_order_book`` diffs spliced by
``microtimestamp`` (sans-IO).

Bitstamp's diffs carry no update id, only ``microtimestamp`` (µs), and so does the REST
order book (https://www.bitstamp.net/websocket/v2/, "Live full order book";
https://www.bitstamp.net/api/, "Order book"). The procedure (the one cryptofeed's
adapter follows, cryptofeed/exchanges/bitstamp.py, checked against the recorded
``bitstamp.jsonl``: 9 books, 717 diffs, every book's diffs strictly later than the one
before): subscribe to the diff channel and buffer its diffs, fetch the REST book, drop
the buffered diffs at or before the snapshot's ``microtimestamp``, apply the later ones
in order.

Integrity, as far as a time stamp can vouch for it:

- **Going backwards.** A diff whose ``microtimestamp`` is not after the book's (earlier,
  or the same again) breaks the chain: the book is resynced (``gap``) from a new REST
  snapshot.
- **A chain that does not reach the snapshot** (``stale_snapshot``, a new snapshot is
  fetched): a snapshot is only spliced once a diff at or before its ``microtimestamp``
  was received since the book was (re)started, still buffered or arriving while the
  snapshot waits: from that diff on the stream is complete. A snapshot that first
  meets a later diff is older than the stream (or than the diffs thrown away from a
  full buffer): the diffs between them may be missing. Diffs received before a
  resync never count (not even the one that broke the chain), so a snapshot older
  than the book that was thrown away is fetched again.
- **Crossed.** A diff that leaves the book crossed (best bid >= best ask) means the
  book is wrong: ``crossed_book`` resync.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, PriceLevel
from relay.infrastructure.venues.bitstamp.parse import BookDiff

MAX_BUFFERED_DIFFS = 2_000
"""Diffs kept per book while its snapshot is awaited; the oldest is thrown away first."""

BUFFER_MARGIN_S = 5.0
"""Diffs received longer than the snapshot time limit plus this margin before the newest
are thrown away while no snapshot is waiting (as for Binance's
:data:`~relay.infrastructure.venues.common.update_id_book.BUFFER_MARGIN_S`): a snapshot
fetched in time is later than all of them."""


@dataclass(slots=True)
class _Pending:
    """A REST snapshot waiting for a diff after it; ``covered``: a diff at or before it
    was received, so the stream holds every diff after it."""

    microtimestamp: int
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    received_at_ms: int
    covered: bool


class BookSync:
    """The splice of one Bitstamp book (see the module docstring).

    Feed it diffs with :meth:`on_diff` and REST snapshots with :meth:`on_snapshot`;
    both append the ``l2_orderbook`` events to publish (one snapshot, then deltas) and
    return why a new snapshot is needed, if one is. Message id keys:
    ``snapshot:<microtimestamp>`` and ``<snapshot microtimestamp>:<diff microtimestamp>``;
    ``first_update_id`` = ``last_update_id`` = the ``microtimestamp``.

    Args:
        instrument: whose book.
        window_ms: diffs received this long before the newest are thrown away while
            no snapshot waits (see :data:`BUFFER_MARGIN_S`).

    Attributes:
        gate: the book's :class:`~relay.application.book_state.BookGate`.
        book: the levels, valid while ``gate.synced``.
        last_microtimestamp: of the snapshot or diff applied last (µs).
        snapshot_microtimestamp: of the snapshot the book was built from (µs).
    """

    def __init__(self, instrument: Instrument, window_ms: int) -> None:
        self.instrument = instrument
        self.window_ms = window_ms
        self.gate = BookGate()
        self.book = OrderBook()
        self.last_microtimestamp = 0
        self.snapshot_microtimestamp = 0
        self._buffer: deque[BookDiff] = deque()
        self._snapshot: _Pending | None = None

    def on_diff(self, diff: BookDiff, events: list[MarketEvent]) -> str | None:
        """Take one diff; append what it publishes to ``events``.

        Returns:
            None, or why a new snapshot is needed: ``"gap"`` (the diff is not after the
            book), ``"crossed_book"``, or ``"stale_snapshot"`` (the waiting snapshot is
            older than the diff stream).
        """
        if self.gate.synced:
            if diff.microtimestamp <= self.last_microtimestamp:
                self.resync("gap")
                return "gap"
            return self._publish_delta(diff, events)
        buffer = self._buffer
        if len(buffer) >= MAX_BUFFERED_DIFFS:
            buffer.popleft()
        buffer.append(diff)
        if self._snapshot is not None:
            return self._align(events)
        horizon = diff.received_at_ms - self.window_ms
        while buffer[0].received_at_ms < horizon:
            buffer.popleft()
        return None

    def on_snapshot(
        self,
        microtimestamp: int,
        bids: tuple[PriceLevel, ...],
        asks: tuple[PriceLevel, ...],
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> str | None:
        """Take a REST snapshot; append the snapshot event and the buffered deltas after it.

        A synced book ignores it. Returns None or, as :meth:`on_diff`, the reason a new
        snapshot is needed.
        """
        if self.gate.synced:
            return None
        self._snapshot = _Pending(microtimestamp, bids, asks, received_at_ms, False)
        return self._align(events)

    def _align(self, events: list[MarketEvent]) -> str | None:
        pending = self._snapshot
        assert pending is not None
        buffer = self._buffer
        while buffer and buffer[0].microtimestamp <= pending.microtimestamp:
            buffer.popleft()
            pending.covered = True
        if not buffer:
            return None
        self._snapshot = None
        if not pending.covered:
            return "stale_snapshot"
        self.book.reset(pending.bids, pending.asks)
        book_bids, book_asks = self.book.levels()
        stamp = pending.microtimestamp
        events.append(
            MarketEvent(
                instrument=self.instrument,
                data_type=DataType.L2_ORDERBOOK,
                received_at_ms=pending.received_at_ms,
                exchange_timestamp_ms=stamp // 1000,
                payload=L2Update(book_bids, book_asks, True, stamp, stamp),
                dedup_key=f"snapshot:{stamp}",
            )
        )
        self.gate.snapshot_applied()
        self.snapshot_microtimestamp = self.last_microtimestamp = stamp
        reason: str | None = None
        while buffer and reason is None:
            diff = buffer.popleft()
            if diff.microtimestamp <= self.last_microtimestamp:
                self.resync("gap")
                return "gap"
            reason = self._publish_delta(diff, events)
        return reason

    def _publish_delta(self, diff: BookDiff, events: list[MarketEvent]) -> str | None:
        """Apply and publish ``diff``; ``"crossed_book"`` (and a resync) if it crosses."""
        self.book.apply(diff.bids, diff.asks)
        if self.book.crossed:
            self.resync("crossed_book")
            return "crossed_book"
        stamp = diff.microtimestamp
        self.last_microtimestamp = stamp
        events.append(
            MarketEvent(
                instrument=self.instrument,
                data_type=DataType.L2_ORDERBOOK,
                received_at_ms=diff.received_at_ms,
                exchange_timestamp_ms=stamp // 1000,
                payload=L2Update(diff.bids, diff.asks, False, stamp, stamp),
                dedup_key=f"{self.snapshot_microtimestamp}:{stamp}",
            )
        )
        return None

    def resync(self, reason: str) -> None:
        """Throw the book and its buffered diffs away; it waits for a new snapshot, which
        a diff received from now on must reach. ``reason`` goes to the book's gate
        (counted once per loss)."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self._snapshot = None
        self._buffer.clear()
