"""An L2 order book kept by the relay, so that what it publishes can be checked."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from relay.domain.model import PriceLevel

_ZERO = Decimal(0)


class OrderBook:
    """Price levels of one instrument: price -> quantity on each side, and the best of each.

    Quantities are replaced, not added; a quantity of zero removes the level,
    as in every venue's delta format the relay speaks.

    Attributes:
        bids, asks: price -> quantity.
        best_bid, best_ask: the highest bid and lowest ask, None for an empty side;
            kept up to date by :meth:`reset` and :meth:`apply`.
    """

    __slots__ = ("asks", "best_ask", "best_bid", "bids")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.best_bid: Decimal | None = None
        self.best_ask: Decimal | None = None

    def reset(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Replace the whole book (a snapshot); zero-quantity levels are left out."""
        self.bids = {p: q for p, q in bids if q != _ZERO}
        self.asks = {p: q for p, q in asks if q != _ZERO}
        self.best_bid = max(self.bids, default=None)
        self.best_ask = min(self.asks, default=None)

    def apply(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Apply a delta and move the best bid and ask past it.

        Costs O(levels in the delta): a side is rescanned (O(levels in the
        book)) only when the delta removed its best level.
        """
        bids = tuple(bids)
        asks = tuple(asks)
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, quantity in levels:
                if quantity == _ZERO:
                    side.pop(price, None)
                else:
                    side[price] = quantity
        self.best_bid = _best_after(self.bids, self.best_bid, bids, highest=True)
        self.best_ask = _best_after(self.asks, self.best_ask, asks, highest=False)

    @property
    def crossed(self) -> bool:
        """True when both sides are set and the best bid >= the best ask."""
        return (
            self.best_bid is not None
            and self.best_ask is not None
            and self.best_bid >= self.best_ask
        )

    def levels(self) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """(bids best first, asks best first)."""
        bids = tuple(sorted(self.bids.items(), key=lambda level: level[0], reverse=True))
        asks = tuple(sorted(self.asks.items(), key=lambda level: level[0]))
        return bids, asks


def _best_after(
    side: dict[Decimal, Decimal],
    best: Decimal | None,
    levels: tuple[PriceLevel, ...],
    highest: bool,
) -> Decimal | None:
    """The best price of ``side`` after ``levels`` were applied to it, given the best before."""
    if best is not None and best not in side:
        if not side:
            return None
        return max(side) if highest else min(side)
    for price, quantity in levels:
        if quantity != _ZERO and (best is None or (price > best if highest else price < best)):
            best = price
    return best
