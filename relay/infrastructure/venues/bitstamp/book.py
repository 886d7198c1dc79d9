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
  snapshot; the diff is kept in the new buffer.
- **A chain that does not reach the snapshot** (``stale_snapshot``, a new snapshot is
  fetched): the snapshot is only spliced when the diff stream is known to cover
  everything after it, i.e. a diff at or before its ``microtimestamp`` was received
  (buffered, or arriving while it waits), or the snapshot was requested after the
  diff channel's subscription was acknowledged (``bts:subscription_succeeded``)
  and no buffered diff has been thrown away since the book was restarted or
  resynced. A snapshot that meets a later diff without either is older than the
  stream: the diffs between them are missing.
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
fetched in time is later than all of them. A thrown-away diff makes the next snapshot
prove its coverage by a buffered diff (see the module docstring)."""


@dataclass(slots=True)
class _Pending:
    """A REST snapshot waiting for a diff after it; ``covered``: the stream is known to
    hold every diff after it."""

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
        acknowledged: the diff channel's subscription was acknowledged.
    """

    def __init__(self, instrument: Instrument, window_ms: int) -> None:
        self.instrument = instrument
        self.window_ms = window_ms
        self.gate = BookGate()
        self.book = OrderBook()
        self.last_microtimestamp = 0
        self.snapshot_microtimestamp = 0
        self.acknowledged = False
        self._requested_after_ack = False
        self._discarded = False
        self._buffer: deque[BookDiff] = deque()
        self._snapshot: _Pending | None = None

    def subscription_acknowledged(self) -> None:
        """``bts:subscription_succeeded`` for the book's diff channel was received."""
        self.acknowledged = True

    def snapshot_requested(self) -> None:
        """A REST snapshot is being asked for now (after the acknowledgement or not)."""
        self._requested_after_ack = self.acknowledged

    def on_diff(self, diff: BookDiff, events: list[MarketEvent]) -> str | None:
        """Take one diff; append what it publishes to ``events``.

        Returns:
            None, or why a new snapshot is needed: ``"gap"`` (the diff is not after the
            book), ``"crossed_book"``, or ``"stale_snapshot"`` (the waiting snapshot is
            older than the diff stream).
        """
        if self.gate.synced:
            if diff.microtimestamp <= self.last_microtimestamp:
                self.resync("gap", diff)
                return "gap"
            return self._publish_delta(diff, events)
        buffer = self._buffer
        if len(buffer) >= MAX_BUFFERED_DIFFS:
            buffer.popleft()
            self._discarded = True
        buffer.append(diff)
        if self._snapshot is not None:
            return self._align(events)
        horizon = diff.received_at_ms - self.window_ms
        while buffer[0].received_at_ms < horizon:
            buffer.popleft()
            self._discarded = True
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
        covered = self._requested_after_ack and not self._discarded
        self._snapshot = _Pending(microtimestamp, bids, asks, received_at_ms, covered)
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
        self._discarded = False
        reason: str | None = None
        while buffer and reason is None:
            diff = buffer.popleft()
            if diff.microtimestamp <= self.last_microtimestamp:
                self.resync("gap", diff)
                return "gap"
            reason = self._publish_delta(diff, events)
        return reason

    def _publish_delta(self, diff: BookDiff, events: list[MarketEvent]) -> str | None:
        """Apply and publish ``diff``; ``"crossed_book"`` (and a resync) if it crosses."""
        self.book.apply(diff.bids, diff.asks)
        if self.book.crossed:
            self.resync("crossed_book", diff)
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

    def resync(self, reason: str, diff: BookDiff | None = None) -> None:
        """Throw the book away; it waits for a new snapshot with only ``diff`` (if any)
        buffered. ``reason`` goes to the book's gate (counted once per loss)."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self._snapshot = None
        self._buffer.clear()
        self._discarded = False
        if diff is not None:
            self._buffer.append(diff)
