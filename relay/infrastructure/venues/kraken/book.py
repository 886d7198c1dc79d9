"""Kraken's book integrity rules: a book truncated to its depth and checked by CRC32 checksum.

Source: the book checksum guide, with its worked example
(https://docs.kraken.com/api/docs/guides/spot-ws-book-v2, also
https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2), and the
book channel page (https://docs.kraken.com/api/docs/websocket-v2/book).

Book procedure (one :class:`KrakenBook` per symbol): the ``book`` channel sends
a snapshot, then updates; every message carries ``checksum``, a CRC32 of the top
10 levels of each side. A snapshot replaces the book; an update's levels are
applied in order (qty 0 removes the level), then the book is truncated to the
subscribed depth (Kraken sends no qty 0 for levels that fall out of scope; the
published delta lists each level dropped this way with quantity 0, so a
consumer's book stays equal to the relay's). Then the checksum is computed as
the guide says: for the 10 best asks (low to high) then the 10 best bids (high
to low), each price and qty written with its decimal point removed and leading
zeros stripped, concatenated, CRC32. Kraken writes each number with the pair's
full precision (the guide); the digits used are each number formatted with the
largest count of decimals seen for that field in that book, which is those
digits exactly when the wire carries full precision, and restores the trailing
zeros that the book page's own examples drop (``0.566`` for ``0.5660``: their
checksums 2439117997 and 2114181697 hold only with the pair's precision).

A checksum mismatch throws that one book away (its :class:`BookGate` resyncs
with reason ``checksum``); updates are ignored until the fresh snapshot arrives.

Depth mapping (``depth`` of a subscription -> ``book`` channel ``depth``): 0 ->
10 (Kraken's default); otherwise the smallest offered depth (10, 25, 100, 500,
1000) that is >= N, and 1000 for N > 1000.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal

from relay.application.book_state import BookGate
from relay.application.order_book import apply_levels
from relay.domain.model import Instrument, PriceLevel

BOOK_DEPTHS = (10, 25, 100, 500, 1000)
"""Depths the ``book`` channel offers; 10 is its default."""

CHECKSUM_LEVELS = 10
"""Levels per side covered by the book checksum, whatever the subscribed depth."""

_ZERO = Decimal(0)


def book_depth(depth: int) -> int:
    """The ``book`` channel depth for a configured depth (0 = Kraken's default, 10).

    >>> [book_depth(n) for n in (0, 5, 10, 11, 400, 5000)]
    [10, 10, 10, 25, 500, 1000]
    """
    if depth <= 0:
        return BOOK_DEPTHS[0]
    for offered in BOOK_DEPTHS:
        if offered >= depth:
            return offered
    return BOOK_DEPTHS[-1]


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def checksum_digits(value: Decimal, decimals: int) -> str:
    """One number as the checksum writes it: ``decimals`` places, no point, no leading zeros.

    >>> checksum_digits(Decimal("0.00100000"), 8), checksum_digits(Decimal("0.566"), 4)
    ('100000', '5660')
    """
    return f"{value:.{decimals}f}".replace(".", "").lstrip("0")


def book_checksum(
    asks: Sequence[PriceLevel], bids: Sequence[PriceLevel], price_decimals: int, qty_decimals: int
) -> int:
    """Kraken's v2 book checksum (CRC32, unsigned) of the best levels given.

    Args:
        asks: best first (lowest price first); only the first 10 are used.
        bids: best first (highest price first); only the first 10 are used.
        price_decimals, qty_decimals: the pair's precision (places after the point).
    """
    parts: list[str] = []
    for side in (asks[:CHECKSUM_LEVELS], bids[:CHECKSUM_LEVELS]):
        for price, qty in side:
            parts.append(checksum_digits(price, price_decimals))
            parts.append(checksum_digits(qty, qty_decimals))
    return zlib.crc32("".join(parts).encode("ascii"))


class KrakenBook:
    """One symbol's book kept to Kraken's rules: truncated to depth, checked by checksum.

    Args:
        instrument: whose book.
        depth: the subscribed ``book`` channel depth (10, 25, 100, 500, 1000).

    Attributes:
        gate: the book's sync gate; the book may be published only when it is synced.
        bids, asks: price -> (price, qty), in no order.
        price_decimals, qty_decimals: the most decimals seen for each field (the
            pair's precision, as the checksum writes the numbers).
        snapshots: snapshots of this symbol published on this connection so far.
    """

    def __init__(self, instrument: Instrument, depth: int) -> None:
        self.instrument = instrument
        self.depth = depth
        self.gate = BookGate()
        self.bids: dict[Decimal, PriceLevel] = {}
        self.asks: dict[Decimal, PriceLevel] = {}
        self.price_decimals = 0
        self.qty_decimals = 0
        self.snapshots = 0

    def reset(self, reason: str) -> None:
        """Throw the book away (``reason``: why); updates are ignored until the next snapshot."""
        self.gate.resync(reason)
        self.bids = {}
        self.asks = {}

    def _learn(self, levels: Iterable[PriceLevel]) -> None:
        for price, qty in levels:
            places = _decimals(price)
            if places > self.price_decimals:
                self.price_decimals = places
            if qty:
                places = _decimals(qty)
                if places > self.qty_decimals:
                    self.qty_decimals = places

    def apply(
        self, bids: list[PriceLevel], asks: list[PriceLevel]
    ) -> tuple[list[PriceLevel], list[PriceLevel]]:
        """Apply levels in order, then truncate to depth.

        Returns:
            the levels dropped by the truncation, as (price, 0), bids then asks.
        """
        self._learn(bids)
        self._learn(asks)
        apply_levels(self.bids, bids)
        apply_levels(self.asks, asks)
        dropped_bids: list[PriceLevel] = []
        while len(self.bids) > self.depth:
            worst = min(self.bids)
            del self.bids[worst]
            dropped_bids.append((worst, _ZERO))
        dropped_asks: list[PriceLevel] = []
        while len(self.asks) > self.depth:
            worst = max(self.asks)
            del self.asks[worst]
            dropped_asks.append((worst, _ZERO))
        return dropped_bids, dropped_asks

    def levels(self) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """(bids best first, asks best first)."""
        bids = tuple((p, self.bids[p][1]) for p in sorted(self.bids, reverse=True))
        asks = tuple((p, self.asks[p][1]) for p in sorted(self.asks))
        return bids, asks

    def checksum(self) -> int:
        """The checksum of the book held now (see :func:`book_checksum`)."""
        bids = [(p, self.bids[p][1]) for p in sorted(self.bids, reverse=True)]
        asks = [(p, self.asks[p][1]) for p in sorted(self.asks)]
        return book_checksum(asks, bids, self.price_decimals, self.qty_decimals)
