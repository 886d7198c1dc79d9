"""Coinbase Advanced Trade's book rules: one ``level2`` book per product and its sync gate.

Source: the ``level2`` section of the channels page
(https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels):
the channel sends a ``snapshot`` event (the whole book), then ``update`` events
whose ``new_quantity`` replaces a level (0 removes it).

The messages carry no per-book sequence: a book's integrity is kept by the
connection's ``sequence_num`` (see :mod:`.protocol`) and by the book itself: an
update that crosses a book that was not crossed before it (best bid >= best ask)
throws that book away (reason ``crossed_book``). A book already crossed in its
snapshot, as in an auction, is left alone. A book thrown away publishes nothing
until the snapshot of its resubscription.
"""

from __future__ import annotations

from collections.abc import Sequence

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import Instrument, PriceLevel


class CoinbaseBook:
    """The relay's copy of one ``level2`` book and whether it may be published.

    Attributes:
        instrument: whose book.
        book: the levels.
        gate: the sync gate; updates are applied and published only when it is synced.
    """

    __slots__ = ("book", "gate", "instrument")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.book = OrderBook()
        self.gate = BookGate()

    def reset(self, bids: Sequence[PriceLevel], asks: Sequence[PriceLevel]) -> None:
        """Replace the book with a snapshot; it may be published from now on."""
        self.book.reset(bids, asks)
        self.gate.snapshot_applied()

    def drop(self, reason: str) -> None:
        """Throw the book away (``reason``: why); nothing is published for it until the
        next snapshot."""
        self.book = OrderBook()
        self.gate.resync(reason)

    def apply(self, bids: Sequence[PriceLevel], asks: Sequence[PriceLevel]) -> bool:
        """Apply an update; True when it crossed a book that was not crossed before it."""
        was_crossed = self.book.crossed
        self.book.apply(bids, asks)
        return not was_crossed and self.book.crossed
