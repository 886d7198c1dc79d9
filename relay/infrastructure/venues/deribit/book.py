"""Deribit's book rules: books chained by ``change_id``, resynced on a gap.

Source: https://docs.deribit.com/subscriptions/orderbook/bookinstrument_nameinterval
(first notification a full snapshot, then changes; every change carries
``prev_change_id``, equal to the previous notification's ``change_id`` when
nothing was missed), and the snapshot and change frames of ``deribit.jsonl``.

Book rules (one :class:`DeribitBook` per instrument): a snapshot replaces the book
and is published as a snapshot event; a change whose ``prev_change_id`` is not the
book's ``change_id`` is a ``gap``: the book is thrown away, a ``BookResync``
is reported, and ``public/unsubscribe`` + ``public/subscribe`` of that one book
channel are sent back; changes arriving before the fresh snapshot are dropped
silently. A change whose ``change_id`` is not newer than the book's (and at most
:data:`STALE_WINDOW_CHANGES` behind it) is a ``stale_update`` (a duplicate),
skipped without resync; one further behind is a ``gap`` (the book's
``change_id`` came from a corrupted frame, and would make every later change stale).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import Instrument, PriceLevel

STALE_WINDOW_CHANGES = 1_000_000_000
"""A book change whose ``change_id`` is at most this far behind the book's is stale
(a duplicate); further behind, a gap. (``change_id`` is venue-wide and advances by
hundreds between two changes of one book, hence the wide window.)"""


class Change(enum.Enum):
    """How a change notification stands to a synced book (see :meth:`DeribitBook.check`)."""

    FOLLOWS = "follows"
    STALE = "stale"
    GAP = "gap"


class DeribitBook:
    """One instrument's book as the relay holds it, and the channel that feeds it.

    Attributes:
        instrument: whose book.
        channel: the book channel this connection subscribes (``book.BTC-PERPETUAL.100ms``).
        gate: the sync gate: awaiting a snapshot (at start), synced, or resyncing.
        change_id: the ``change_id`` of the last notification applied.
        snapshot_id: the ``change_id`` of the snapshot the book started from.
    """

    __slots__ = ("book", "change_id", "channel", "gate", "instrument", "snapshot_id")

    def __init__(self, instrument: Instrument, channel: str) -> None:
        self.instrument = instrument
        self.channel = channel
        self.gate = BookGate()
        self.book = OrderBook()
        self.change_id = 0
        self.snapshot_id = 0

    def snapshot(
        self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel], change_id: int
    ) -> None:
        """Replace the book with a snapshot whose ``change_id`` is given; synced."""
        self.book.reset(bids, asks)
        self.gate.snapshot_applied()
        self.change_id = self.snapshot_id = change_id

    def check(self, change_id: int, previous: int) -> Change:
        """Where a change (``change_id``, ``prev_change_id``) stands: STALE (not newer
        than the book's, within :data:`STALE_WINDOW_CHANGES`), GAP (``previous`` is
        not the book's ``change_id``) or FOLLOWS."""
        if self.change_id - STALE_WINDOW_CHANGES <= change_id <= self.change_id:
            return Change.STALE
        if previous != self.change_id:
            return Change.GAP
        return Change.FOLLOWS

    def apply(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel], change_id: int) -> None:
        """Apply a change that follows the book (see :meth:`check`)."""
        self.book.apply(bids, asks)
        self.change_id = change_id

    def reset(self, reason: str) -> None:
        """Throw the book away (``reason``: why) until the next snapshot."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self.change_id = 0
        self.snapshot_id = 0
