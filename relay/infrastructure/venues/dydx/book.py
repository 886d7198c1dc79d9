"""dYdX book rules: one ``v4_orderbook`` book per market, levels stamped with message ids,
crossed levels removed as the indexer's uncrossing guide describes.

Sources: the indexer WebSocket page (Orderbooks: a ``subscribed`` message with
the whole book, then ``channel_data`` messages whose ``[price, size]`` levels
replace a level, size ``"0"`` removing it)
https://docs.dydx.exchange/api_integration-indexer/indexer_websocket, and
"How to uncross the orderbook"
https://docs.dydx.exchange/api_integration-guides/how_to_uncross_orderbook:
v4 has no central book, so the indexer's book may cross for a while; "use the
order of messages as a logical timestamp": each level keeps the ``message_id``
of the message that set it (its offset), and while the best bid >= the best
ask, the side whose best level has the lower offset loses that level; at equal
offsets the smaller size is taken from the larger and the smaller level (both
when equal) removed. cryptofeed's ``dydx.py`` keeps the same per-price offsets
and skips an update older than a level's offset.

Book rules (one :class:`DydxBook` per market): a ``subscribed`` snapshot
replaces the book (its levels take the snapshot's message id, and it is
uncrossed the same way); an update's levels apply unless the level was set by a
newer message; the changes uncrossing makes are published with the update that
caused them, so a consumer applying the deltas holds the relay's book. The
book's integrity on the wire (message-id gaps) is checked per connection
(:mod:`.continuity`); a break throws the book away until the snapshot of its
resubscription.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import PriceLevel

_ZERO = Decimal(0)


class DydxBook:
    """One market's book as the relay holds it.

    Attributes:
        gate: the sync gate: awaiting a snapshot, synced, or resyncing.
        book: the levels.
        bid_offsets, ask_offsets: price -> message id of the message that set the
            level (levels in the book only, so bounded by its size).
        snapshot_key: the digest of the snapshot the book started from ("" before one).
        deltas: updates published since that snapshot.
    """

    __slots__ = ("ask_offsets", "bid_offsets", "book", "deltas", "gate", "snapshot_key")

    def __init__(self) -> None:
        self.gate = BookGate()
        self.book = OrderBook()
        self.bid_offsets: dict[Decimal, int] = {}
        self.ask_offsets: dict[Decimal, int] = {}
        self.snapshot_key = ""
        self.deltas = 0

    def snapshot(
        self,
        bids: Iterable[PriceLevel],
        asks: Iterable[PriceLevel],
        message_id: int,
        key: str,
    ) -> None:
        """Replace the book with a ``subscribed`` snapshot (message id ``message_id``,
        digest ``key``), uncrossed; synced."""
        self.book.reset(bids, asks)
        self.bid_offsets = dict.fromkeys(self.book.bids, message_id)
        self.ask_offsets = dict.fromkeys(self.book.asks, message_id)
        self.uncross()
        self.gate.snapshot_applied()
        self.snapshot_key = key
        self.deltas = 0

    def apply(
        self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel], message_id: int
    ) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """Apply an update from message ``message_id``; the changes it made (bids, asks).

        A level whose price was set by a newer message is skipped. The changes
        are the levels applied and, after them, what uncrossing changed (the
        last change of a price wins), each side in the order first changed.
        """
        bid_changes = self._side(self.book.bids, self.bid_offsets, bids, message_id, True)
        ask_changes = self._side(self.book.asks, self.ask_offsets, asks, message_id, False)
        more_bids, more_asks = self.uncross()
        bid_changes.update(more_bids)
        ask_changes.update(more_asks)
        return tuple(bid_changes.items()), tuple(ask_changes.items())

    def _side(
        self,
        side: dict[Decimal, Decimal],
        offsets: dict[Decimal, int],
        levels: Iterable[PriceLevel],
        message_id: int,
        bids: bool,
    ) -> dict[Decimal, Decimal]:
        changes: dict[Decimal, Decimal] = {}
        for price, size in levels:
            if offsets.get(price, -1) > message_id:
                continue
            if size == _ZERO:
                offsets.pop(price, None)
            else:
                offsets[price] = message_id
            changes[price] = size
        if changes:
            applied = tuple(changes.items())
            if bids:
                self.book.apply(applied, ())
            else:
                self.book.apply((), applied)
        return changes

    def uncross(self) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        """Remove crossed levels (see the module docstring); the changes (bids, asks)."""
        book = self.book
        bid_changes: dict[Decimal, Decimal] = {}
        ask_changes: dict[Decimal, Decimal] = {}
        while book.best_bid is not None and book.best_ask is not None:
            bid, ask = book.best_bid, book.best_ask
            if bid < ask:
                break
            bid_offset, ask_offset = self.bid_offsets[bid], self.ask_offsets[ask]
            bid_size, ask_size = book.bids[bid], book.asks[ask]
            if bid_offset != ask_offset:
                older_bid = bid_offset < ask_offset
                new_bid, new_ask = (_ZERO, ask_size) if older_bid else (bid_size, _ZERO)
            else:
                left = min(bid_size, ask_size)
                new_bid, new_ask = bid_size - left, ask_size - left
            if new_bid != bid_size:
                bid_changes[bid] = new_bid
                book.apply(((bid, new_bid),), ())
                if not new_bid:
                    del self.bid_offsets[bid]
            if new_ask != ask_size:
                ask_changes[ask] = new_ask
                book.apply((), ((ask, new_ask),))
                if not new_ask:
                    del self.ask_offsets[ask]
        return bid_changes, ask_changes

    def drop(self, reason: str) -> None:
        """Throw the book away (``reason``: why) until the next snapshot."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self.bid_offsets = {}
        self.ask_offsets = {}
