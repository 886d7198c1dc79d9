"""An L2 order book kept by the relay, so that what it publishes can be checked."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from relay.domain.model import PriceLevel

_ZERO = Decimal(0)


class OrderBook:
    """Price levels of one instrument: price -> quantity on each side.

    Quantities are replaced, not added; a quantity of zero removes the level,
    as in every venue's delta format the relay speaks.
    """

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def reset(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Replace the whole book (a snapshot); zero-quantity levels are left out."""
        self.bids = {p: q for p, q in bids if q != _ZERO}
        self.asks = {p: q for p, q in asks if q != _ZERO}

    def apply(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Apply a delta."""
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, quantity in levels:
                if quantity == _ZERO:
                    side.pop(price, None)
                else:
                    side[price] = quantity

    def levels(self) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """(bids best first, asks best first)."""
        bids = tuple(sorted(self.bids.items(), key=lambda level: level[0], reverse=True))
        asks = tuple(sorted(self.asks.items(), key=lambda level: level[0]))
        return bids, asks
