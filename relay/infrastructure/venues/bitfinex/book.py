"""Bitfinex book rules: a P0 book per symbol, verified by the venue's CRC32 checksum.

Sources: https://docs.bitfinex.com/docs/ws-websocket-checksum (``conf`` flag
131072; ``[CHAN_ID, "cs", CHECKSUM]``; the 25 best bids and 25 best asks
interleaved ``bid price, bid amount, ask price, ask amount, ...``, joined by
``:``, CRC32 as a signed 32-bit integer; ask amounts negative, as sent), the
blog post it links (http://blog.bitfinex.com/api/bitfinex-api-order-books-checksums/)
and the venue's own library tests (bitfinexcom/bitfinex-api-py,
``bfxapi/tests/test_ws_orderbook.py``: two books with their expected checksums,
one with prices such as ``7e-7``, written as JavaScript writes numbers).

Book rules (one :class:`BitfinexBook` per symbol): the snapshot sent on
subscribing replaces the book and syncs it; each update sets (``COUNT`` > 0) or
deletes (``COUNT`` 0) one level; every ``cs`` message is checked against the
book's checksum, and a mismatch resyncs that one book (unsubscribe + subscribe of
its channel, a fresh snapshot). Updates reaching a book that is not synced are
dropped silently.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterable
from decimal import Decimal

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import Instrument, PriceLevel
from relay.infrastructure.venues.bitfinex.parse import BookLevel

CHECKSUM_LEVELS = 25
"""Levels per side the checksum covers."""

_ZERO = Decimal(0)


def js_number(value: Decimal | int) -> str:
    """A number as JavaScript's ``String(n)`` writes it, for a value read from the venue's
    JSON (whose text is already JavaScript's shortest form): ``Decimal("7E-7")`` ->
    ``"7e-7"``, ``Decimal("0.00000121")`` -> ``"0.00000121"``, ``60400`` -> ``"60400"``.

    Python's Decimal and JavaScript switch to the exponent form at the same place
    below 1 (an exponent under -6); only the ``E`` differs.
    """
    return str(value).replace("E", "e")


def checksum_text(
    bids: Iterable[tuple[Decimal | int, Decimal | int]],
    asks: Iterable[tuple[Decimal | int, Decimal | int]],
) -> str:
    """``"bid1 price:bid1 amount:ask1 price:ask1 amount:..."`` over the first 25 of each side.

    Args:
        bids: best (highest) first, ``(price, amount > 0)``; asks: best (lowest)
            first, ``(price, amount < 0)``: the signed amounts as sent.

    Returns:
        The checksum's input; a side with fewer than 25 levels just stops.
    """
    top_bids = list(bids)[:CHECKSUM_LEVELS]
    top_asks = list(asks)[:CHECKSUM_LEVELS]
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(top_bids):
            parts += (js_number(top_bids[i][0]), js_number(top_bids[i][1]))
        if i < len(top_asks):
            parts += (js_number(top_asks[i][0]), js_number(top_asks[i][1]))
    return ":".join(parts)


def checksum(
    bids: Iterable[tuple[Decimal | int, Decimal | int]],
    asks: Iterable[tuple[Decimal | int, Decimal | int]],
) -> int:
    """CRC32 of :func:`checksum_text` as a signed 32-bit int (-2**31..2**31-1), as the
    venue sends it in a ``cs`` message."""
    value = zlib.crc32(checksum_text(bids, asks).encode())
    return value - 2**32 if value >= 2**31 else value


def split_levels(levels: Iterable[BookLevel]) -> tuple[list[PriceLevel], list[PriceLevel]]:
    """P0 levels -> (bid levels, ask levels) as ``(price, quantity)``; quantity 0 for a
    deleted level (``COUNT`` 0), else the amount without its sign."""
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    for price, count, amount in levels:
        side = bids if amount > _ZERO else asks
        side.append((price, _ZERO if count == 0 else abs(amount)))
    return bids, asks


class BitfinexBook:
    """One symbol's P0 book as the relay holds it.

    Attributes:
        instrument: whose book.
        gate: the sync gate: awaiting a snapshot, synced, or resyncing.
        book: the levels, quantities without sign.
        chan_id: the venue's channel id of the book's current subscription; None
            while a subscribe is under way.
        snapshots: snapshots applied so far on this connection (part of message ids).
        updates: updates applied since the last snapshot (part of message ids).
    """

    __slots__ = ("book", "chan_id", "gate", "instrument", "snapshots", "updates")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.gate = BookGate()
        self.book = OrderBook()
        self.chan_id: int | None = None
        self.snapshots = 0
        self.updates = 0

    def snapshot(self, levels: Iterable[BookLevel]) -> None:
        """Replace the book with a snapshot's levels; synced."""
        bids, asks = split_levels(levels)
        self.book.reset(bids, asks)
        self.gate.snapshot_applied()
        self.snapshots += 1
        self.updates = 0

    def apply(self, level: BookLevel) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """Apply one update; returns it as (bids, asks) deltas (quantity 0: removed)."""
        bids, asks = split_levels((level,))
        self.book.apply(bids, asks)
        self.updates += 1
        return tuple(bids), tuple(asks)

    def checksum(self) -> int:
        """:func:`checksum` of the book's 25 best levels a side (ask amounts negative)."""
        bids, asks = self.book.bids, self.book.asks
        top_bids = [(p, bids[p]) for p in heapq.nlargest(CHECKSUM_LEVELS, bids)]
        top_asks = [(p, asks[p].copy_negate()) for p in heapq.nsmallest(CHECKSUM_LEVELS, asks)]
        return checksum(top_bids, top_asks)

    def reset(self, reason: str) -> None:
        """Throw the book away (``reason``: why) until the next snapshot."""
        self.gate.resync(reason)
        self.book = OrderBook()
