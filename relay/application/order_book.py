"""An L2 order book kept by the relay, so that what it publishes can be checked."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from decimal import Decimal

from relay.domain.model import PriceLevel

_ZERO = Decimal(0)


class OrderBook:
    """Price levels of one instrument: price -> quantity on each side, and the best of each.

    Quantities are replaced, not added; a quantity of zero removes the level,
    as in every venue's delta format the relay speaks.

    Attributes:
        bids, asks: price -> quantity; changed only by :meth:`reset` and :meth:`apply`,
            which keep each side's prices in ascending order beside it.
        best_bid, best_ask: the highest bid and lowest ask, None for an empty side;
            kept up to date by :meth:`reset` and :meth:`apply`.
    """

    __slots__ = ("_ask_prices", "_bid_prices", "asks", "best_ask", "best_bid", "bids")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self._bid_prices: list[Decimal] = []
        self._ask_prices: list[Decimal] = []
        self.best_bid: Decimal | None = None
        self.best_ask: Decimal | None = None

    def reset(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Replace the whole book (a snapshot); zero-quantity levels are left out."""
        self.bids = {p: q for p, q in bids if q != _ZERO}
        self.asks = {p: q for p, q in asks if q != _ZERO}
        self._bid_prices = sorted(self.bids)
        self._ask_prices = sorted(self.asks)
        self.best_bid = self._bid_prices[-1] if self._bid_prices else None
        self.best_ask = self._ask_prices[0] if self._ask_prices else None

    def apply(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Apply a delta and move the best bid and ask past it.

        Costs O(log(levels in the book)) comparisons per level of the delta
        that adds or removes a price (a list insert or delete moves pointers),
        a dict update for one that changes a quantity.
        """
        prices = self._bid_prices
        _apply_side(self.bids, prices, bids)
        self.best_bid = prices[-1] if prices else None
        prices = self._ask_prices
        _apply_side(self.asks, prices, asks)
        self.best_ask = prices[0] if prices else None

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
        bids = self.bids
        asks = self.asks
        return (
            tuple((price, bids[price]) for price in reversed(self._bid_prices)),
            tuple((price, asks[price]) for price in self._ask_prices),
        )

    def top(self, depth: int) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        """The best ``depth`` levels of each side as price -> quantity (bids, asks)."""
        bids = self.bids
        asks = self.asks
        bid_prices = self._bid_prices
        return (
            {price: bids[price] for price in bid_prices[: -depth - 1 : -1]},
            {price: asks[price] for price in self._ask_prices[:depth]},
        )


def _apply_side(
    side: dict[Decimal, Decimal], prices: list[Decimal], levels: Iterable[PriceLevel]
) -> None:
    """Apply ``levels`` to ``side`` and keep ``prices`` (its keys, ascending) in step."""
    for price, quantity in levels:
        if quantity:
            if price not in side:
                insort(prices, price)
            side[price] = quantity
        elif side.pop(price, None) is not None:
            del prices[bisect_left(prices, price)]
