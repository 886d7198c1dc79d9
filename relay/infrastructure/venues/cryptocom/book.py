"""Crypto.com Exchange book rules: one book per instrument, chained by ``u`` / ``pu``.

Source: https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html#book-instrument_name-depth
(delta subscription, ``book_subscription_type`` ``SNAPSHOT_AND_UPDATE``): "Each full
snapshot/delta update has an (increasing) ``u`` field that is unique per instrument.
An update should only be processed if the ``pu`` field corresponds to the ``u`` of the
last received update. If there is mismatch, the update should not be applied.
Instead, re-subscribe to acquire a new full snapshot. [...] there is no need to issue
an ``unsubscribe`` request before this." Empty deltas (no levels) come after 5 s
without change and for "update sequence housekeeping"; their ``u`` / ``pu`` chain
like any other.

Book rules (one :class:`CryptocomBook` per instrument): a ``book`` snapshot replaces
the book and is published as a snapshot event; a ``book.update`` whose ``pu`` is the
book's ``u`` is applied; one whose ``u`` is not newer than the book's (and at most
:data:`STALE_WINDOW` behind it) is a ``stale_update`` (a repeat), skipped without
resync; any other is a ``gap``: the book is thrown away, a ``BookResync`` is reported
and a ``subscribe`` of that one book channel is sent back (the venue answers it with
a fresh ``book`` snapshot); deltas arriving before it are dropped silently.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import Instrument, PriceLevel

STALE_WINDOW = 1_000_000_000
"""A delta whose ``u`` is at most this far behind the book's is a repeat (stale); further
behind, a gap (the book's ``u`` then came from a corrupted frame and would make every
later delta stale). ``u`` only increases, by a step the venue does not document."""


class Delta(enum.Enum):
    """How a ``book.update`` stands to a synced book (see :meth:`CryptocomBook.check`)."""

    FOLLOWS = "follows"
    STALE = "stale"
    GAP = "gap"


class CryptocomBook:
    """One instrument's book as the relay holds it, and the channel that feeds it.

    Attributes:
        instrument: whose book.
        channel: the book channel this connection subscribes (``book.BTCUSD-PERP.50``).
        gate: the sync gate: awaiting a snapshot (at start), synced, or resyncing.
        book: the levels.
        update_id: the ``u`` of the last snapshot or delta applied (0 before a snapshot).
        snapshot_id: the ``u`` of the snapshot the book started from.
    """

    __slots__ = ("book", "channel", "gate", "instrument", "snapshot_id", "update_id")

    def __init__(self, instrument: Instrument, channel: str) -> None:
        self.instrument = instrument
        self.channel = channel
        self.gate = BookGate()
        self.book = OrderBook()
        self.update_id = 0
        self.snapshot_id = 0

    def snapshot(
        self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel], update_id: int
    ) -> None:
        """Replace the book with a ``book`` snapshot whose ``u`` is given; synced."""
        self.book.reset(bids, asks)
        self.gate.snapshot_applied()
        self.update_id = self.snapshot_id = update_id

    def check(self, update_id: int, previous: int) -> Delta:
        """Where a delta (``u``, ``pu``) stands: FOLLOWS (``pu`` is the book's ``u``),
        STALE (``u`` not newer than the book's, within :data:`STALE_WINDOW`) or GAP."""
        if previous == self.update_id and update_id > previous:
            return Delta.FOLLOWS
        if self.update_id - STALE_WINDOW <= update_id <= self.update_id:
            return Delta.STALE
        return Delta.GAP

    def apply(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel], update_id: int) -> None:
        """Apply a delta that follows the book (see :meth:`check`); size 0 removes a level."""
        self.book.apply(bids, asks)
        self.update_id = update_id

    def reset(self, reason: str) -> None:
        """Throw the book away (``reason``: why) until the next snapshot."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self.update_id = 0
        self.snapshot_id = 0
