"""Kraken Futures book rules: one book per product, chained by ``seq``, resynced on a gap.

Source: https://docs.kraken.com/exchange/api-reference/futures-websocket/book
(a ``book_snapshot`` with its ``seq``, then one ``book`` message per changed
level, each ``seq`` one more than the previous message of that product), and the
``book_snapshot`` / ``book`` frames of ``kraken-futures.jsonl`` (10 products, 7,024
book messages, every product's ``seq`` contiguous).

Book rules (one :class:`FuturesBook` per product): a snapshot replaces the book
and is published as a snapshot event; a delta whose ``seq`` is the book's + 1 is
applied; one whose ``seq`` is not newer than the book's (and at most
:data:`STALE_WINDOW` behind it) is a ``stale_update`` (a duplicate), skipped
without resync; any other ``seq`` is a ``gap`` (also one further behind: the
book's ``seq`` then came from a corrupted frame and would make every later
message stale): the book is
thrown away, a ``BookResync`` is reported and ``unsubscribe`` + ``subscribe`` of the
``book`` feed for that one product are sent back (the venue answers a subscribe
with a fresh ``book_snapshot``); deltas arriving before it are dropped silently.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import Instrument, PriceLevel

STALE_WINDOW = 10_000
"""A ``book`` message at most this many ``seq`` behind the book's is a repeat (stale);
further behind, a gap. (``seq`` advances by one per message of a product.)"""


class Delta(enum.Enum):
    """How a ``book`` message stands to a synced book (see :meth:`FuturesBook.check`)."""

    FOLLOWS = "follows"
    STALE = "stale"
    GAP = "gap"


class FuturesBook:
    """One product's book as the relay holds it.

    Attributes:
        instrument: whose book.
        gate: the sync gate: awaiting a snapshot (at start), synced, or resyncing.
        book: the levels.
        seq: the ``seq`` of the last message applied (0 before a snapshot).
        snapshot_seq: the ``seq`` of the snapshot the book started from.
    """

    __slots__ = ("book", "gate", "instrument", "seq", "snapshot_seq")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.gate = BookGate()
        self.book = OrderBook()
        self.seq = 0
        self.snapshot_seq = 0

    def snapshot(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel], seq: int) -> None:
        """Replace the book with a ``book_snapshot`` whose ``seq`` is given; synced."""
        self.book.reset(bids, asks)
        self.gate.snapshot_applied()
        self.seq = self.snapshot_seq = seq

    def check(self, seq: int) -> Delta:
        """Where a delta's ``seq`` stands: FOLLOWS (the book's + 1), STALE (not newer,
        within :data:`STALE_WINDOW`) or GAP (any other)."""
        if seq == self.seq + 1:
            return Delta.FOLLOWS
        if self.seq - STALE_WINDOW <= seq <= self.seq:
            return Delta.STALE
        return Delta.GAP

    def apply(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel], seq: int) -> None:
        """Apply a delta that follows the book (see :meth:`check`)."""
        self.book.apply(bids, asks)
        self.seq = seq

    def reset(self, reason: str) -> None:
        """Throw the book away (``reason``: why) until the next snapshot."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self.seq = 0
        self.snapshot_seq = 0
