"""Coinbase Exchange's book rules: a full ``level2_batch`` book per product, checked for crossing.

Source: the recorded session ``coinbase-exchange.jsonl`` and the channels page
(https://docs.cdp.coinbase.com/exchange/websocket-feed/channels).

Book procedure (one :class:`ExchangeBook` per product): the ``snapshot`` message
replaces the book and is published as a snapshot event; each ``l2update``
(``changes`` ``[side, price, size]``, size 0 removes the level) is applied and
published as a delta. An ``l2update`` for a product whose snapshot has not
arrived (before the first one, or after a resync) is skipped (``unsynced``).
The level2 messages carry no sequence numbers, so the only check the relay can
make is the book itself: an update that leaves the book crossed (best bid >=
best ask) throws that book away and resyncs it (a ``crossed_book``
:class:`~relay.application.ports.BookResync`); nothing is published for it
until the new snapshot arrives.

Dedup part of a book's events (``b``): ``h``, the first 16 hex digits of the
BLAKE2b hash of the snapshot frame (the message has no time and no id), for the
first snapshot of a product on a connection, and ``h:<n>`` for its ``n``-th
later one (``n`` = 1, 2, ...: a resync's): a resync snapshot equal byte for byte
to an earlier one is still published, while the same frame re-sent on a new
connection (a replay) still maps to the same key.
"""

from __future__ import annotations

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import Instrument, PriceLevel


class ExchangeBook:
    """One product's book and the dedup part (``b``) of the snapshot it was built from.

    Attributes:
        instrument: whose book.
        gate: the sync gate; deltas are applied and published only when it is synced.
        book: the levels.
        snapshot_hash: ``b`` of the snapshot the book was built from ("" without one).
        snapshots: snapshots of this product taken on this connection so far.
    """

    __slots__ = ("book", "gate", "instrument", "snapshot_hash", "snapshots")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.gate = BookGate()
        self.book = OrderBook()
        self.snapshot_hash = ""
        self.snapshots = 0

    def reset(
        self, bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...], frame_hash: str
    ) -> None:
        """Replace the book with a snapshot (``frame_hash``: its frame's digest); synced."""
        self.book.reset(bids, asks)
        self.snapshot_hash = f"{frame_hash}:{self.snapshots}" if self.snapshots else frame_hash
        self.snapshots += 1
        self.gate.snapshot_applied()

    def apply(self, bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...]) -> bool:
        """Apply a delta; True when it leaves the book crossed (best bid >= best ask)."""
        self.book.apply(bids, asks)
        return self.book.crossed

    def discard(self, reason: str) -> None:
        """Throw the book away (``reason``: why) until the next snapshot."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self.snapshot_hash = ""
