"""Update-id chaining of depth diffs (``U``..``u``) on a REST snapshot: Binance's procedure.

Shared by the venues that document the same procedure (Binance, Gate.io v4).
Follows "How to manage a local order book correctly"
(https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly
and the spot page https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams),
checked against the recorded ``binance-usdm.jsonl`` and ``binance-spot.jsonl``:
buffer diffs, fetch the REST snapshot, drop diffs older than ``lastUpdateId``,
require the first kept diff to straddle it, then require continuity
(``U == previous u + 1`` on spot, ``pu == previous u`` on futures).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from relay.application.book_state import BookGate
from relay.application.errors import FrameError
from relay.application.order_book import OrderBook
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, PriceLevel


@dataclass(slots=True)
class DepthDiff:
    """One ``depthUpdate``: update ids ``U``..``u`` (and ``pu`` on futures), levels, times.

    Not frozen (a record the venue packages make and never change): a frozen
    dataclass's ``__init__`` costs about four times as much, once per diff.
    """

    first_update_id: int
    last_update_id: int
    previous_update_id: int | None
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    event_time_ms: int | None
    received_at_ms: int


MAX_BUFFERED_DIFFS = 2_000
"""Diffs kept per book while its snapshot is awaited; older ones are dropped first."""

BUFFER_MARGIN_S = 5.0
"""Diffs older than the snapshot request's time limit plus this margin are not kept.

A snapshot answered within ``snapshot_timeout_s`` of being sent contains every
diff received before it was sent (its ``lastUpdateId`` is at or past their
``u``), so only the diffs of the last ``snapshot_timeout_s`` + this margin (for
a REST answer served slightly behind the stream) can be needed. Without this
window, books whose snapshots wait for the REST weight budget (200 USD-M books
at weight 20 take 100 s of a 2,400/min budget) held up to
:data:`MAX_BUFFERED_DIFFS` parsed diffs each.
"""


class Continuity(enum.Enum):
    """How consecutive depth diffs chain."""

    SPOT = "spot"
    """``U == previous u + 1``; the first diff kept has ``U <= lastUpdateId + 1 <= u``."""
    FUTURES = "futures"
    """``pu == previous u``; the first diff kept has ``U <= lastUpdateId <= u``.

    A first diff with ``pu == lastUpdateId`` also continues the snapshot exactly.
    """


_PendingSnapshot = tuple[int, tuple[PriceLevel, ...], tuple[PriceLevel, ...], int | None, int]
"""(lastUpdateId, bids, asks, event time ms, received at ms) of a snapshot not yet aligned."""


STALE_WINDOW_UPDATES = 1_000_000
"""A diff ``u`` at most this far behind the synced book's is stale (skipped); further
behind, a gap (resync): the book's own ``u`` is then the one not to trust."""


class BookSync:
    """Binance's local order book procedure for one instrument (sans-IO).

    Feed it diffs with :meth:`on_diff` and the REST snapshot with
    :meth:`on_snapshot`; both return the ``l2_orderbook`` events to publish
    (one snapshot event, then deltas) and say when a new snapshot is needed.
    """

    def __init__(self, instrument: Instrument, continuity: Continuity, window_ms: int) -> None:
        """``window_ms``: diffs received this long before the newest are not kept
        while the snapshot is awaited (see :data:`BUFFER_MARGIN_S`)."""
        self.instrument = instrument
        self.continuity = continuity
        self.window_ms = window_ms
        self.gate = BookGate()
        self.book = OrderBook()
        self.last_update_id = 0
        self.snapshot_id = 0
        self._buffer: deque[DepthDiff] = deque(maxlen=MAX_BUFFERED_DIFFS)
        self._snapshot: _PendingSnapshot | None = None

    def on_diff(self, diff: DepthDiff, events: list[MarketEvent]) -> str | None:
        """Take one diff; append what it publishes to ``events``.

        Returns:
            None, or the reason a new snapshot is needed: ``"gap"`` (continuity
            broken) or ``"crossed_book"`` (the diff left the book crossed).

        Raises:
            FrameError: ``stale_update`` when the book is synced and the diff's
                ``u`` is not newer than the book's but at most
                :data:`STALE_WINDOW_UPDATES` behind it (a duplicate or out-of-order
                update); the book is left untouched and no resync is asked for.
                Further behind is a ``"gap"``: the book's ``u`` came from a frame
                that cannot be trusted (2**63-1 in a corrupted diff would otherwise
                make every later diff stale).
        """
        if self.gate.synced:
            last = self.last_update_id
            if last - STALE_WINDOW_UPDATES <= diff.last_update_id <= last:
                raise FrameError(
                    "stale_update",
                    f"{self.instrument.instrument}: u={diff.last_update_id} "
                    f"<= book's {self.last_update_id}",
                )
            if not self._continues(diff):
                self.resync("gap", diff)
                return "gap"
            return self._publish_delta(diff, events)
        buffer = self._buffer
        buffer.append(diff)
        if self._snapshot is not None:
            return self._align(events)
        horizon = diff.received_at_ms - self.window_ms
        while buffer[0].received_at_ms < horizon:
            buffer.popleft()
        return None

    def on_snapshot(
        self,
        last_update_id: int,
        bids: tuple[PriceLevel, ...],
        asks: tuple[PriceLevel, ...],
        event_time_ms: int | None,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> str | None:
        """Take the REST snapshot; append the snapshot event and buffered deltas to ``events``.

        Returns:
            None, or ``"stale_snapshot"`` when the snapshot is older than every
            buffered diff and a newer one must be fetched.
        """
        if self.gate.synced:
            return None
        self._snapshot = (last_update_id, bids, asks, event_time_ms, received_at_ms)
        return self._align(events)

    def _align(self, events: list[MarketEvent]) -> str | None:
        assert self._snapshot is not None
        snapshot_id = self._snapshot[0]
        spot = self.continuity is Continuity.SPOT
        buffer = self._buffer
        while buffer and (
            buffer[0].last_update_id <= snapshot_id
            if spot
            else buffer[0].last_update_id < snapshot_id
        ):
            buffer.popleft()
        if not buffer:
            return None
        first = buffer[0]
        if spot:
            continues = first.first_update_id <= snapshot_id + 1
        else:
            # U <= lastUpdateId <= u, or the diff chains straight on (pu == lastUpdateId).
            continues = (
                first.first_update_id <= snapshot_id or first.previous_update_id == snapshot_id
            )
        if not continues:
            self._snapshot = None
            return "stale_snapshot"
        _, bids, asks, event_time_ms, received_at_ms = self._snapshot
        self._snapshot = None
        self.book.reset(bids, asks)
        book_bids, book_asks = self.book.levels()
        events.append(
            MarketEvent(
                instrument=self.instrument,
                data_type=DataType.L2_ORDERBOOK,
                received_at_ms=received_at_ms,
                exchange_timestamp_ms=event_time_ms,
                payload=L2Update(book_bids, book_asks, True, snapshot_id, snapshot_id),
                dedup_key=f"snapshot:{snapshot_id}",
            )
        )
        self.gate.snapshot_applied()
        self.snapshot_id = snapshot_id
        self.last_update_id = snapshot_id
        reason = self._publish_delta(buffer.popleft(), events)
        while buffer and reason is None:
            diff = buffer.popleft()
            if diff.last_update_id <= self.last_update_id:
                continue  # a duplicate or out-of-order diff buffered while unsynced
            if not self._continues(diff):
                self.resync("gap", diff)
                return "gap"
            reason = self._publish_delta(diff, events)
        return reason

    def _continues(self, diff: DepthDiff) -> bool:
        if self.continuity is Continuity.SPOT:
            return diff.first_update_id == self.last_update_id + 1
        return diff.previous_update_id == self.last_update_id

    def _publish_delta(self, diff: DepthDiff, events: list[MarketEvent]) -> str | None:
        """Apply and publish ``diff``; ``"crossed_book"`` (and a resync) if it crosses the book."""
        self.book.apply(diff.bids, diff.asks)
        if self.book.crossed:
            self.resync("crossed_book", diff)
            return "crossed_book"
        self.last_update_id = diff.last_update_id
        events.append(
            MarketEvent(
                instrument=self.instrument,
                data_type=DataType.L2_ORDERBOOK,
                received_at_ms=diff.received_at_ms,
                exchange_timestamp_ms=diff.event_time_ms,
                payload=L2Update(
                    diff.bids, diff.asks, False, diff.first_update_id, diff.last_update_id
                ),
                dedup_key=f"{self.snapshot_id}:{diff.last_update_id}",
            )
        )
        return None

    def resync(self, reason: str, diff: DepthDiff | None = None) -> None:
        """Throw the book away; it waits for a new snapshot, ``diff`` (if any) buffered.

        ``reason`` (``"gap"``, ``"crossed_book"``, or the reason a resync was
        asked for) goes to the book's :class:`~relay.application.book_state.BookGate`.
        """
        self.gate.resync(reason)
        self.book = OrderBook()
        self._snapshot = None
        self._buffer.clear()
        if diff is not None:
            self._buffer.append(diff)
